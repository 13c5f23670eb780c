// An agent that cannot start writes no host stat, so its session would sit in Running with
// nothing said: a Secret key missing from runtimeSettings env, an image that cannot be pulled, an
// agent that crashes before it reaches the API, a pod no node takes. The controller sees it on the
// pod (the pods of a restore carry the session label) and says so in a Warning event on the
// session; stuck for longer than its patience, the session fails with it. Pure.
import { INIT_CONTAINER_NAME, JOB_CONTAINER_NAME } from './agent-container.ts';

export interface AgentTrouble {
  pod: string;
  container: string;
  /** The kubelet's reason, e.g. CreateContainerConfigError, ImagePullBackOff, CrashLoopBackOff. */
  reason: string;
  /** What a person reads: which pod, which container, what the kubelet says, what to check. */
  message: string;
  /** Identifies this occurrence, so it is reported once (a new restart is a new occurrence). */
  occurrence: string;
  /** Identifies the trouble across restarts (a crash loop is one), so how long it lasts can be told. */
  since: string;
}

/** Waiting reasons that mean the agent is not going to run as things stand. */
const STUCK: Record<string, string> = {
  CreateContainerConfigError: 'check the Secrets and ConfigMaps named in runtimeSettings.container env/envFrom',
  CreateContainerError: 'check runtimeSettings.container and the volumes it mounts',
  ErrImagePull: 'check the agent image name and its imagePullSecrets',
  ImagePullBackOff: 'check the agent image name and its imagePullSecrets',
  InvalidImageName: 'check the agent image name',
  CrashLoopBackOff: 'see its log: kubectl logs',
};

interface ContainerStatusLike {
  name: string;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string }; running?: unknown; terminated?: unknown };
  lastState?: { terminated?: { exitCode?: number; reason?: string } };
}

interface PodLike {
  metadata?: { name?: string; namespace?: string; uid?: string; deletionTimestamp?: unknown };
  status?: {
    phase?: string;
    initContainerStatuses?: ContainerStatusLike[];
    containerStatuses?: ContainerStatusLike[];
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

/** The agent container's trouble in this pod, if it is stuck. */
export function agentTrouble(pod: PodLike): AgentTrouble | undefined {
  if (pod.metadata?.deletionTimestamp) return undefined;
  const podName = pod.metadata?.name ?? '';
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    const key = `${pod.metadata?.uid ?? podName}/Unschedulable`;
    return {
      pod: podName,
      container: '',
      reason: 'Unschedulable',
      message: `pod ${podName}: the restore agent cannot be scheduled: ${scheduled.message ?? 'Unschedulable'}; check runtimeSettings.pod (nodeSelector, affinity, tolerations), the nodes, and the PVCs the pod mounts`,
      occurrence: key,
      since: key,
    };
  }
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const agent = statuses.find((c) => c.name === INIT_CONTAINER_NAME || c.name === JOB_CONTAINER_NAME);
  const waiting = agent?.state?.waiting;
  if (!agent || !waiting?.reason || !(waiting.reason in STUCK)) return undefined;
  const last = agent.lastState?.terminated;
  const said = [waiting.message, last?.exitCode !== undefined ? `last exit code ${last.exitCode}` : undefined].filter(Boolean).join('; ');
  const hint =
    waiting.reason === 'CrashLoopBackOff' ? `see its log: kubectl logs -n ${pod.metadata?.namespace} ${podName} -c ${agent.name}` : STUCK[waiting.reason]!;
  return {
    pod: podName,
    container: agent.name,
    reason: waiting.reason,
    message: `pod ${podName}: the restore agent (${agent.name}) cannot run: ${waiting.reason}${said ? ` (${said})` : ''}; ${hint}`,
    occurrence: `${pod.metadata?.uid ?? podName}/${agent.name}/${agent.restartCount ?? 0}/${waiting.reason}`,
    since: `${pod.metadata?.uid ?? podName}/${agent.name}/${waiting.reason === 'ImagePullBackOff' ? 'ErrImagePull' : waiting.reason}`,
  };
}

/**
 * Whether the pod's restore agent may still do something: the pod is not going or done, and its
 * agent container has not ended (an agent that ended runs no hook: only a new pod would).
 */
export function agentMayRun(pod: PodLike): boolean {
  if (pod.metadata?.deletionTimestamp || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return false;
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const agent = statuses.find((c) => c.name === INIT_CONTAINER_NAME || c.name === JOB_CONTAINER_NAME);
  return !agent?.state?.terminated;
}

interface WorkloadLike {
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string; lastUpdateTime?: unknown; lastTransitionTime?: unknown }[] };
}

interface EventLike {
  type?: string;
  reason?: string;
  message?: string;
  lastTimestamp?: unknown;
  eventTime?: unknown;
  firstTimestamp?: unknown;
}

const time = (...values: unknown[]): number => {
  for (const v of values) if (v) return new Date(v as string | Date).getTime();
  return Number.NaN;
};

/**
 * A workload whose controller cannot create the restore's pods (FailedCreate: admission such as
 * Pod Security refusing the local backend's hostPath, a quota, a missing ServiceAccount) has no
 * pod to look at: a Deployment says so in its ReplicaFailure condition, a StatefulSet or DaemonSet
 * in Warning events on itself. Only what happened since `since` (the session's creation) counts.
 */
export function workloadRefusal(workload: WorkloadLike, events: EventLike[], since: Date): AgentTrouble | undefined {
  const kind = workload.kind ?? 'workload';
  const name = workload.metadata?.name ?? '';
  const recent = (t: number) => !(t < since.getTime());
  const failure = workload.status?.conditions?.find(
    (c) => c.type === 'ReplicaFailure' && c.status === 'True' && recent(time(c.lastUpdateTime, c.lastTransitionTime)),
  );
  const event = events
    .filter((e) => e.type === 'Warning' && e.reason === 'FailedCreate' && recent(time(e.lastTimestamp, e.eventTime, e.firstTimestamp)))
    .at(-1);
  const said = failure ? `${failure.reason ?? 'FailedCreate'} (${failure.message ?? ''})` : event ? `FailedCreate (${event.message ?? ''})` : undefined;
  if (!said) return undefined;
  const key = `${workload.metadata?.uid ?? name}/FailedCreate`;
  return {
    pod: '',
    container: INIT_CONTAINER_NAME,
    reason: 'FailedCreate',
    message: `${kind} ${workload.metadata?.namespace ?? ''}/${name} cannot create its pods: ${said}; check the namespace's Pod Security level (pod-security.kubernetes.io/enforce), quotas and policies, and runtimeSettings`,
    occurrence: key,
    since: key,
  };
}
