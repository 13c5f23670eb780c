// The restore Job of one host (SPEC Executor choice): backoffLimit 0, restartPolicy Never, owned
// by the session, pod runtimeSettings applied, imagePullSecrets merged. Two pods go in it: the
// agent's own (`restoreJob`: pvc-restore and volumeClaimTemplates without an installed Task), or
// the steps of an installed Task (`taskRestoreJob`), built as stashed/stash pkg/executor
// restore_job.go builds them, with the agent playing the final update-status step.
import type { Container, ContainerVolumeMount, PodSpec, Volume } from '../api/core.ts';
import type { KubeObject } from '../api/meta.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import type { StashFunction, Task } from '../api/task.ts';
import { withOrdinal } from '../hosts/resolve.ts';
import type { HostPlan } from '../hosts/types.ts';
import { TaskError, resolveTask, stashVariables } from '../tasks/index.ts';
import { UPDATE_STATUS_FUNCTION, updateStatusFunction } from '../tasks/update-status.ts';
import type { AgentImage, HostFrom, ServiceAccountTokenSetting } from './agent-container.ts';
import { JOB_CONTAINER_NAME, LOCAL_BACKEND_VOLUME, agentContainer, agentVolumes, withAgentToken } from './agent-container.ts';
import { SESSION_LABEL, interimClaimNameOf, sessionOwner } from './claims.ts';
import { restoreJobName, restoreServiceAccountName } from '../session/names.ts';

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
  /** The ServiceAccount the pod runs as, when it exists: its `automountServiceAccountToken: false` leaves the agent to mount a token of its own. */
  serviceAccount?: ServiceAccountTokenSetting;
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

/** The claims of ordinal `index` from volumeClaimTemplates, as volumes named for their claim. */
function ordinalClaimVolumes(session: RestoreSession, index: number): Volume[] {
  return (session.spec.target?.volumeClaimTemplates ?? []).map((t) => {
    const claim = withOrdinal(t.metadata.name, index);
    return { name: claim, persistentVolumeClaim: { claimName: claim } };
  });
}

const ordinalMounts = (session: RestoreSession, index: number): ContainerVolumeMount[] =>
  (session.spec.target?.volumeMounts ?? []).map((m) => ({ ...m, name: withOrdinal(m.name, index) }));

export function restoreJob(input: RestoreJobInput): KubeObject {
  const { session, repository, agent, index } = input;
  const spec = session.spec;
  const target = spec.target;
  const byOrdinal = (target?.volumeClaimTemplates ?? []).length > 0;
  const mounts = ordinalMounts(session, index);
  const volumes: Volume[] = [];

  if (byOrdinal) volumes.push(...ordinalClaimVolumes(session, index));
  else if (target?.ref?.kind === 'PersistentVolumeClaim') {
    // Stash's pvc-restore mounts the claim at /stash-data when the target names no volumeMounts:
    // its backups hold /stash-data/..., restored in place (else the files would land in the Job's own filesystem).
    if (!mounts.length) mounts.push({ name: PVC_DATA_VOLUME, mountPath: PVC_DATA_MOUNT_PATH });
    for (const name of new Set(mounts.map((m) => m.name))) volumes.push({ name, persistentVolumeClaim: { claimName: target.ref.name } });
  }
  const interim = interimClaimNameOf(session);
  if (interim) {
    volumes.push({ name: INTERIM_VOLUME, persistentVolumeClaim: { claimName: interim } });
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
  return jobAround(input, { containers: [container], volumes: [...volumes, ...agentVolumes(session, repository)] }, [JOB_CONTAINER_NAME]);
}

export interface TaskJobInput extends RestoreJobInput {
  repository: Repository;
  /** The installed Task the session names, and how to find its steps' Functions (undefined: not installed). */
  task: Task;
  functionOf: (name: string) => StashFunction | undefined;
  /** The host this Job restores (src/hosts). */
  host: HostPlan;
  /** The restore task's params of a KubeDB AppBinding (the session's own win). */
  addonParams?: readonly { name: string; value: string }[];
}

/** registry/image:tag of an image reference, as Stash passes its own image to Tasks (STASH_DOCKER_*). */
export function imageParts(ref: string): { registry: string; image: string; tag: string } {
  const at = ref.indexOf('@');
  const noDigest = at < 0 ? ref : ref.slice(0, at);
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const hasTag = colon > slash;
  const repo = hasTag ? noDigest.slice(0, colon) : noDigest;
  return {
    registry: slash < 0 ? '' : repo.slice(0, slash),
    image: repo.slice(slash + 1),
    tag: hasTag ? noDigest.slice(colon + 1) : 'latest',
  };
}

const imageRepo = (ref: string) => {
  const p = imageParts(ref);
  return p.registry ? `${p.registry}/${p.image}` : p.image;
};

const upsertByName = <T extends { name: string }>(list: readonly T[], add: readonly T[]): T[] => {
  const out = [...list];
  for (const a of add) {
    const i = out.findIndex((x) => x.name === a.name);
    if (i < 0) out.push(a);
    else out[i] = a;
  }
  return out;
};

/**
 * The restore Job of an installed Task (SPEC "Task restores"): its steps resolved with Stash's
 * variables (src/tasks resolveTask: images, commands, args, env, volume mounts, runtimeSettings,
 * tempDir, interim volume), the steps but the last as init-containers, the step `update-status`
 * played by the agent. Then, as Stash's restore Job adds them: the ordinal's claims mounted at
 * `target.volumeMounts` and POD_ORDINAL in every container (volumeClaimTemplates). One addition of
 * this project: a local backend's volume is mounted in every step at its mountPath, as the agent's
 * own Job mounts it, or no step could read a local Repository. Throws a TaskError (a missing
 * Function, a variable nothing sets, hooks it would not run). Pure.
 */
export function taskRestoreJob(input: TaskJobInput): KubeObject {
  const { session, repository, agent, index, task, host } = input;
  // Stash runs a Task's hooks in hook-executor containers of its own image (run-hook); nothing here
  // would run them, and a restore must not end Succeeded having skipped a hook.
  const hooks = (['preRestore', 'postRestore'] as const).filter((h) => session.spec.hooks?.[h]);
  if (hooks.length)
    throw new TaskError(
      'TaskHooksNotRun',
      `the session's ${hooks.join(' and ')} hook${hooks.length > 1 ? 's' : ''} would not run: restore-controller does not run hooks in the Job of an installed Task (${task.metadata.name}) yet; drop spec.hooks and run them yourself, or restore without the Task`,
      { task: task.metadata.name },
    );
  const variables = stashVariables({
    session,
    repository,
    host,
    image: imageParts(agent.image),
    ...(input.addonParams ? { addonParams: input.addonParams } : {}),
  });
  const functionOf = (name: string) => (name === UPDATE_STATUS_FUNCTION ? updateStatusFunction(agent.image) : input.functionOf(name));
  const interim = interimClaimNameOf(session);
  const { podSpec } = resolveTask(session, task, functionOf, variables, interim ? { interimClaimName: interim } : {});

  const byOrdinal = (session.spec.target?.volumeClaimTemplates ?? []).length > 0;
  const extraVolumes: Volume[] = byOrdinal ? ordinalClaimVolumes(session, index) : [];
  const extraMounts: ContainerVolumeMount[] = byOrdinal ? ordinalMounts(session, index) : [];
  const local = repository.spec.backend.local;
  if (local) {
    extraVolumes.push(...agentVolumes(session, repository).filter((v) => v.name === LOCAL_BACKEND_VOLUME));
    extraMounts.push({ name: LOCAL_BACKEND_VOLUME, mountPath: local.mountPath, ...(local.subPath ? { subPath: local.subPath } : {}) });
  }
  const agentRepo = imageRepo(agent.image);
  const finish = (c: Container): Container => {
    const out: Container = { ...c };
    if (extraMounts.length) out.volumeMounts = upsertByName(c.volumeMounts ?? [], extraMounts);
    if (byOrdinal) out.env = upsertByName(c.env ?? [], [{ name: 'POD_ORDINAL', value: String(index) }]);
    // The agent's own containers (update-status, a step of the agent's image) pull as the agent does.
    if (agent.imagePullPolicy && c.image && imageRepo(c.image) === agentRepo) out['imagePullPolicy'] = agent.imagePullPolicy;
    return out;
  };
  const pod: PodSpec = {
    ...podSpec,
    ...(podSpec.initContainers ? { initContainers: podSpec.initContainers.map(finish) } : {}),
    containers: podSpec.containers.map(finish),
    volumes: upsertByName(podSpec.volumes ?? [], extraVolumes),
  };
  // Every step of a Task talks to the API as Stash's tooling does, the update-status one as the agent.
  return jobAround(
    input,
    pod,
    [...(pod.initContainers ?? []), ...pod.containers].map((c) => c.name),
  );
}

/** The Job around a pod: labels, owner, the session's ServiceAccount, pod runtimeSettings, merged imagePullSecrets. */
function jobAround(input: RestoreJobInput, pod: PodSpec, agentContainers: readonly string[]): KubeObject {
  const { session, agent, index } = input;
  // podAnnotations and podLabels go on the pod's metadata (jobPodMetadata), serviceAccountAnnotations on its ServiceAccount.
  const {
    imagePullSecrets: podSecrets,
    podAnnotations: _a,
    podLabels: _l,
    serviceAccountAnnotations: _sa,
    ...podSettings
  } = session.spec.runtimeSettings?.pod ?? {};
  const pullSecrets = [...(podSecrets ?? [])];
  for (const s of agent.imagePullSecrets ?? []) if (!pullSecrets.some((p) => p.name === s.name)) pullSecrets.push(s);
  const labels = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [SESSION_LABEL]: session.metadata.name, [HOST_INDEX_LABEL]: String(index) };
  let podSpec: PodSpec = {
    ...podSettings,
    ...pod,
    // A ServiceAccount of the session's own (as Stash), so the agent's grants (the backend Secret)
    // reach its pods only, not every pod running as the namespace's default.
    serviceAccountName: podSettings.serviceAccountName || restoreServiceAccountName(session.metadata.name),
    restartPolicy: 'Never',
    ...(pullSecrets.length ? { imagePullSecrets: pullSecrets } : {}),
  };
  // No token (automountServiceAccountToken: false on the pod or its ServiceAccount) still leaves the containers that talk to the API a token of their own.
  for (const name of agentContainers) podSpec = withAgentToken(podSpec, name, input.serviceAccount);
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
