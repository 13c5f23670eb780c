// PVCs the controller creates: from volumeClaimTemplates (per ordinal), from VolumeSnapshots, and
// the interim volume. Restored data outlives the session, so only the interim PVC is owned by it.
import type { KubeObject, OwnerReference } from '../api/meta.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import type { PvcTemplate, RestoreSession } from '../api/restoresession.ts';
import { withOrdinal } from '../hosts/resolve.ts';
import { interimClaimName } from '../session/names.ts';

export const SESSION_LABEL = 'restore.gitops/session';

export function sessionOwner(session: RestoreSession): OwnerReference {
  return {
    apiVersion: session.apiVersion,
    kind: session.kind,
    name: session.metadata.name,
    uid: session.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function claimFromTemplate(session: RestoreSession, template: PvcTemplate, ordinal: number, owned = false): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: withOrdinal(template.metadata.name, ordinal),
      namespace: session.metadata.namespace,
      labels: { ...template.metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [SESSION_LABEL]: session.metadata.name },
      ...(template.metadata.annotations ? { annotations: template.metadata.annotations } : {}),
      ...(owned ? { ownerReferences: [sessionOwner(session)] } : {}),
    },
    spec: JSON.parse(withOrdinal(JSON.stringify(template.spec ?? {}), ordinal)),
  };
}

/** The PVCs of ordinal `i` from `target.volumeClaimTemplates` (Restic Jobs and VolumeSnapshotter alike). */
export function claimsForOrdinal(session: RestoreSession, ordinal: number): KubeObject[] {
  return (session.spec.target?.volumeClaimTemplates ?? []).map((t) => claimFromTemplate(session, t, ordinal));
}

export function interimClaim(session: RestoreSession): KubeObject | undefined {
  const t = session.spec.interimVolumeTemplate;
  if (!t) return undefined;
  return claimFromTemplate(session, { ...t, metadata: { ...t.metadata, name: interimClaimName(session.metadata.name) } }, 0, true);
}
