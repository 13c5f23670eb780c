// The restore Job of one host (SPEC Executor choice): backoffLimit 0, restartPolicy Never, owned
// by the session, pod runtimeSettings applied, imagePullSecrets merged.
import type { ContainerVolumeMount, PodSpec, Volume } from '../api/core.ts';
import type { KubeObject } from '../api/meta.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { withOrdinal } from '../hosts/resolve.ts';
import type { AgentImage, HostFrom } from './agent-container.ts';
import { JOB_CONTAINER_NAME, agentContainer, agentVolumes, withAgentToken } from './agent-container.ts';
import { SESSION_LABEL, sessionOwner } from './claims.ts';
import { interimClaimName, restoreJobName, restoreServiceAccountName } from '../session/names.ts';

export const INTERIM_VOLUME = 'stash-interim-volume';
export const PVC_DATA_VOLUME = 'stash-data';
export const PVC_DATA_MOUNT_PATH = '/stash-data';
export const INTERIM_MOUNT_PATH = '/stash-interim-volume';
export const HOST_INDEX_LABEL = 'restore.gitops/host-index';

export interface RestoreJobInput {
  session: RestoreSession;
  repository: Repository | undefined;
  agent: AgentImage & { imagePullSecrets?: { name: string }[] };
  /** Ordinal for volumeClaimTemplates; 0 for single-host Jobs. */
  index: number;
}

/**
 * The restore Job pod's labels and annotations: runtimeSettings.pod's podAnnotations (as Stash sets
 * them) and podLabels, under the controller's own labels, which select the pods and always win.
 */
export function jobPodMetadata(session: RestoreSession, own: Record<string, string>): { labels: Record<string, string>; annotations?: Record<string, string> } {
  const pod = session.spec.runtimeSettings?.pod;
  const annotations = pod?.podAnnotations && Object.keys(pod.podAnnotations).length ? { ...pod.podAnnotations } : undefined;
  return { labels: { ...pod?.podLabels, ...own }, ...(annotations ? { annotations } : {}) };
}

export function restoreJob({ session, repository, agent, index }: RestoreJobInput): KubeObject {
  const spec = session.spec;
  const target = spec.target;
  const templates = target?.volumeClaimTemplates ?? [];
  const byOrdinal = templates.length > 0;
  const mounts: ContainerVolumeMount[] = (target?.volumeMounts ?? []).map((m) => ({ ...m, name: withOrdinal(m.name, index) }));
  const volumes: Volume[] = [];

  if (byOrdinal) {
    for (const t of templates) {
      const claim = withOrdinal(t.metadata.name, index);
      volumes.push({ name: claim, persistentVolumeClaim: { claimName: claim } });
    }
  } else if (target?.ref?.kind === 'PersistentVolumeClaim') {
    // Stash's pvc-restore mounts the claim at /stash-data when the target names no volumeMounts:
    // its backups hold /stash-data/..., restored in place (else the files would land in the Job's own filesystem).
    if (!mounts.length) mounts.push({ name: PVC_DATA_VOLUME, mountPath: PVC_DATA_MOUNT_PATH });
    for (const name of new Set(mounts.map((m) => m.name))) volumes.push({ name, persistentVolumeClaim: { claimName: target.ref.name } });
  }
  if (spec.interimVolumeTemplate) {
    volumes.push({ name: INTERIM_VOLUME, persistentVolumeClaim: { claimName: interimClaimName(session.metadata.name) } });
    mounts.push({ name: INTERIM_VOLUME, mountPath: INTERIM_MOUNT_PATH });
  }

  // As Stash's GetHostName: the ordinal names the host only when replicas is set.
  const hostFrom: HostFrom = byOrdinal && target?.replicas !== undefined ? 'pvc-ordinal' : 'alias';
  const container = agentContainer({
    session,
    repository,
    agent,
    name: JOB_CONTAINER_NAME,
    hostFrom,
    dataMounts: mounts,
    env: byOrdinal ? [{ name: 'POD_ORDINAL', value: String(index) }] : [],
    podSecurityContext: spec.runtimeSettings?.pod?.securityContext,
  });

  const { imagePullSecrets: podSecrets, podAnnotations, podLabels, serviceAccountAnnotations: _sa, ...podSettings } = spec.runtimeSettings?.pod ?? {};
  const pullSecrets = [...(podSecrets ?? [])];
  for (const s of agent.imagePullSecrets ?? []) if (!pullSecrets.some((p) => p.name === s.name)) pullSecrets.push(s);
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [SESSION_LABEL]: session.metadata.name, [HOST_INDEX_LABEL]: String(index) };

  const podSpec: PodSpec = withAgentToken(
    {
      ...podSettings,
      // A ServiceAccount of the session's own (as Stash), so the agent's grants (the backend Secret)
      // reach its pods only, not every pod running as the namespace's default.
      serviceAccountName: podSettings.serviceAccountName || restoreServiceAccountName(session.metadata.name),
      restartPolicy: 'Never',
      containers: [container],
      volumes: [...volumes, ...agentVolumes(session, repository)],
      ...(pullSecrets.length ? { imagePullSecrets: pullSecrets } : {}),
    },
    JOB_CONTAINER_NAME,
  );
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: restoreJobName(session.metadata.name, index),
      namespace: session.metadata.namespace,
      labels,
      ownerReferences: [sessionOwner(session)],
    },
    spec: { backoffLimit: 0, template: { metadata: jobPodMetadata(session, labels), spec: podSpec } },
  };
}
