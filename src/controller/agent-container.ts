// The agent container (`stash-init` in a workload, the container of a restore Job): what runs
// `restorectl agent restore` next to the data (SPEC Executor choice).
import type { Container, ContainerEnvVar, ContainerVolumeMount, Volume } from '../api/core.ts';
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
      ...(input.env ?? []),
      ...((rt.env ?? []) as ContainerEnvVar[]),
    ],
    volumeMounts: mounts,
  };
  if (rt.envFrom?.length) c.envFrom = rt.envFrom;
  if (rt.resources) c.resources = rt.resources;
  if (rt.securityContext) c.securityContext = rt.securityContext;
  if (input.name !== INIT_CONTAINER_NAME) {
    for (const k of INIT_CONTAINER_FORBIDDEN) if (rt[k as keyof typeof rt]) c[k] = rt[k as keyof typeof rt];
  }
  return c;
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

/** stash-init's own ServiceAccount token when the pods have none (executors/api-access.ts). */
export const API_ACCESS_VOLUME = 'stash-api-access';

export const AGENT_VOLUME_NAMES = [SCRATCH_VOLUME, PODINFO_VOLUME, LOCAL_BACKEND_VOLUME, API_ACCESS_VOLUME];
