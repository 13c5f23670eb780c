// PVCs the controller creates: from volumeClaimTemplates (per ordinal), from VolumeSnapshots, and
// the interim volume. Restored data outlives the session, so only the interim PVC is owned by it.
import type { KubeObject, OwnerReference } from '../api/meta.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import type { PvcTemplate, RestoreSession } from '../api/restoresession.ts';
import { withOrdinal } from '../hosts/resolve.ts';
import { DNS_LABEL_MAX, dnsLabel } from '../session/names.ts';
import { ControllerError } from './errors.ts';

export const SESSION_LABEL = 'restore.gitops/session';

/**
 * The ownerReference to the session on what the controller creates for it. Only a session read
 * from the API has a uid; an owner without one would be refused (422) by the API server, or, where
 * it is not checked, owned by nothing, so a session without one is a bug, said so here.
 */
export function sessionOwner(session: RestoreSession): OwnerReference {
  const uid = session.metadata.uid;
  if (!uid) {
    const key = `${session.metadata.namespace}/${session.metadata.name}`;
    throw new ControllerError(
      'SessionWithoutUid',
      `RestoreSession ${key} has no metadata.uid, so nothing can be owned by it: the controller was handed a session that was not read from the API (a controller bug: please report it)`,
      { session: key },
    );
  }
  return {
    apiVersion: session.apiVersion,
    kind: session.kind,
    name: session.metadata.name,
    uid,
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

/**
 * The interim PVC's name, as Stash names it (pkg/util UpsertInterimVolume: kmodules
 * ValidNameWithPrefix(session, template name), `<session>-<template>`), or undefined without an
 * interimVolumeTemplate. Past 63 characters Stash cuts the name short, so two long sessions could
 * share a claim: here it keeps a hash of the whole name instead (session/names.ts dnsLabel).
 */
export function interimClaimNameOf(session: RestoreSession): string | undefined {
  const t = session.spec.interimVolumeTemplate;
  if (!t) return undefined;
  const name = `${session.metadata.name}-${t.metadata?.name ?? ''}`.replace(/^-+|-+$/g, '');
  return name.length <= DNS_LABEL_MAX ? name : dnsLabel(name);
}

export function interimClaim(session: RestoreSession): KubeObject | undefined {
  const t = session.spec.interimVolumeTemplate;
  const name = interimClaimNameOf(session);
  if (!t || !name) return undefined;
  return claimFromTemplate(session, { ...t, metadata: { ...t.metadata, name } }, 0, true);
}
