// The agent container (`stash-init` in a workload, the container of a restore Job): what runs
// `restorectl agent restore` next to the data (SPEC Executor choice).
import type { Container, ContainerEnvVar, ContainerVolumeMount, PodSpec, Volume } from '../api/core.ts';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';

/** The image that runs `restorectl`; the sandbox runs containers of this image as real agent processes. */
export const DEFAULT_AGENT_IMAGE = 'ghcr.io/restore-controller/restorectl:0.1.0';
export const INIT_CONTAINER_NAME = 'stash-init';
export const JOB_CONTAINER_NAME = 'stash-restore';
export const SCRATCH_VOLUME = 'stash-scratchdir';
export const SCRATCH_MOUNT_PATH = '/tmp';
export const PODINFO_VOLUME = 'stash-podinfo';
export const PODINFO_MOUNT_PATH = '/etc/stash/podinfo';
export const LOCAL_BACKEND_VOLUME = 'stash-local-backend';
/** The agent's own ServiceAccount token, when the pod does not mount one (automountServiceAccountToken: false). */
export const TOKEN_VOLUME = 'stash-serviceaccount-token';
export const TOKEN_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/** How the agent names its host (SPEC host table), passed as `--host-from`. */
export type HostFrom = 'pod' | 'alias' | 'pvc-ordinal';

export interface AgentImage {
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
}

export interface AgentContainerInput {
  session: RestoreSession;
  repository: Repository | undefined;
  agent: AgentImage;
  name: string;
  hostFrom: HostFrom;
  /** Volume mounts of the data being restored (target.volumeMounts, ordinals resolved). */
  dataMounts: ContainerVolumeMount[];
  /** Extra environment (e.g. POD_ORDINAL for a Job). */
  env?: ContainerEnvVar[];
  /** The pod's securityContext (a Job's runtimeSettings.pod): the user and group it sets are not overridden. */
  podSecurityContext?: Record<string, unknown>;
}

const fieldEnv = (name: string, fieldPath: string): ContainerEnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });

/** Init containers may not have probes or lifecycle hooks; Jobs' containers may. */
const INIT_CONTAINER_FORBIDDEN = ['livenessProbe', 'readinessProbe', 'startupProbe', 'lifecycle'] as const;

export function agentContainer(input: AgentContainerInput): Container {
  const { session, agent } = input;
  const rt = session.spec.runtimeSettings?.container ?? {};
  const ns = session.metadata.namespace ?? 'default';
  const mounts: ContainerVolumeMount[] = [
    ...input.dataMounts,
    { name: SCRATCH_VOLUME, mountPath: SCRATCH_MOUNT_PATH },
    { name: PODINFO_VOLUME, mountPath: PODINFO_MOUNT_PATH },
  ];
  const local = input.repository?.spec.backend.local;
  if (local) mounts.push({ name: LOCAL_BACKEND_VOLUME, mountPath: local.mountPath, ...(local.subPath ? { subPath: local.subPath } : {}) });

  const c: Container = {
    name: input.name,
    image: agent.image,
    ...(agent.imagePullPolicy ? { imagePullPolicy: agent.imagePullPolicy } : {}),
    args: ['agent', 'restore', '--session', `${ns}/${session.metadata.name}`, '--host-from', input.hostFrom],
    env: [
      fieldEnv('POD_NAME', 'metadata.name'),
      fieldEnv('POD_NAMESPACE', 'metadata.namespace'),
      fieldEnv('NODE_NAME', 'spec.nodeName'),
      fieldEnv('POD_IP', 'status.podIP'),
      // Where exec hooks run (a hook's containerName naming another container is refused).
      { name: 'RESTORE_CONTAINER_NAME', value: input.name },
      ...(input.env ?? []),
      ...((rt.env ?? []) as ContainerEnvVar[]),
    ],
    volumeMounts: mounts,
  };
  if (rt.envFrom?.length) c.envFrom = rt.envFrom;
  if (rt.resources) c.resources = rt.resources;
  c.securityContext = agentSecurityContext(rt.securityContext, input.podSecurityContext);
  if (input.name !== INIT_CONTAINER_NAME) {
    for (const k of INIT_CONTAINER_FORBIDDEN) if (rt[k as keyof typeof rt]) c[k] = rt[k as keyof typeof rt];
  }
  return c;
}

/**
 * As Stash: the agent runs as uid and gid 0, so restic can write into volumes owned by any user and
 * restore the files' owners (Stash's image runs as 65535 otherwise). runtimeSettings.container's
 * securityContext is merged over that, field by field (Stash's UpsertSecurityContext), and a
 * runAsUser or runAsGroup of the pod's securityContext (a Job's runtimeSettings.pod) is kept.
 */
export function agentSecurityContext(container: Record<string, unknown> | undefined, pod: Record<string, unknown> | undefined): Record<string, unknown> {
  return {
    ...(pod?.['runAsUser'] === undefined ? { runAsUser: 0 } : {}),
    ...(pod?.['runAsGroup'] === undefined ? { runAsGroup: 0 } : {}),
    ...container,
  };
}

/** What of a ServiceAccount decides whether its pods get a token: its `automountServiceAccountToken`. */
export interface ServiceAccountTokenSetting {
  automountServiceAccountToken?: boolean;
}

/**
 * Whether Kubernetes mounts the ServiceAccount token into the pod's containers, as its
 * ServiceAccount admission decides: the pod's `automountServiceAccountToken` wins; when the pod
 * says nothing, its ServiceAccount's does; when neither does, the token is mounted.
 */
export function tokenAutomounted(spec: PodSpec, serviceAccount: ServiceAccountTokenSetting | undefined): boolean {
  return spec.automountServiceAccountToken ?? serviceAccount?.automountServiceAccountToken ?? true;
}

/**
 * A pod that gets no token (`automountServiceAccountToken: false` on the pod, or on its
 * ServiceAccount when the pod says nothing) leaves the agent without one, and the agent needs one
 * to read its session and write its host's stats. The agent container then mounts a projected
 * token of the pod's ServiceAccount (what the kubelet would have mounted: token, ca.crt,
 * namespace) of its own; the pod's other containers stay without one.
 */
export function withAgentToken(spec: PodSpec, agentName: string, serviceAccount?: ServiceAccountTokenSetting): PodSpec {
  if (tokenAutomounted(spec, serviceAccount)) return spec;
  const mount = (c: Container): Container =>
    c.name !== agentName || c.volumeMounts?.some((m) => m.mountPath === TOKEN_MOUNT_PATH)
      ? c
      : { ...c, volumeMounts: [...(c.volumeMounts ?? []), { name: TOKEN_VOLUME, mountPath: TOKEN_MOUNT_PATH, readOnly: true }] };
  const volumes = spec.volumes ?? [];
  return {
    ...spec,
    ...(spec.initContainers ? { initContainers: spec.initContainers.map(mount) } : {}),
    containers: spec.containers.map(mount),
    volumes: volumes.some((v) => v.name === TOKEN_VOLUME) ? volumes : [...volumes, tokenVolume()],
  };
}

function tokenVolume(): Volume {
  return {
    name: TOKEN_VOLUME,
    projected: {
      defaultMode: 0o644,
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
}

/** The volumes the agent needs beside the data: scratch space, pod info, a local backend. */
export function agentVolumes(session: RestoreSession, repository: Repository | undefined): Volume[] {
  const tmp = session.spec.tempDir;
  const volumes: Volume[] = [
    {
      name: SCRATCH_VOLUME,
      emptyDir: { ...(tmp?.medium ? { medium: tmp.medium } : {}), ...(tmp?.sizeLimit !== undefined ? { sizeLimit: tmp.sizeLimit } : {}) },
    },
    { name: PODINFO_VOLUME, downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
  ];
  const local = repository?.spec.backend.local;
  if (local) {
    const { mountPath: _m, subPath: _s, ...source } = local;
    volumes.push({ name: LOCAL_BACKEND_VOLUME, ...source });
  }
  return volumes;
}

export const AGENT_VOLUME_NAMES = [SCRATCH_VOLUME, PODINFO_VOLUME, LOCAL_BACKEND_VOLUME, TOKEN_VOLUME];
