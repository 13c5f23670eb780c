// The controller's edge to the Kubernetes API. Reads and writes only; the decisions are in
// reconcile.ts and the executors.
import * as k8s from '@kubernetes/client-node';
import type { KubeObject } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { WORKLOAD_API_VERSIONS } from '../api/workloads.ts';
import type { WorkloadKind } from '../api/workloads.ts';
import { apiErrorInfo, isAlreadyExists, isConflict, isNotFound } from '../kube/api-error.ts';
import { REPOSITORIES, RESTORE_SESSIONS } from '../kube/resources.ts';
import { SESSION_LABEL } from './claims.ts';
import { updateSessionStatus } from '../kube/status-update.ts';
import { recordEvent } from '../kube/events.ts';

const PLURALS: Record<WorkloadKind, string> = {
  Deployment: 'deployments',
  StatefulSet: 'statefulsets',
  DaemonSet: 'daemonsets',
  DeploymentConfig: 'deploymentconfigs',
};

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Whether a 404 is about the object itself (its Status names it), not a resource the server does not serve. */
function namesObject(e: unknown, name: string): boolean {
  const body = (e as { body?: unknown }).body;
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { details?: { name?: string } } | undefined;
    return status?.details?.name === name;
  } catch {
    return false;
  }
}

/** Counts API requests, for the benchmark's requests-per-session figure, in all and per kind of call. */
export interface RequestCounter {
  requests: number;
  /** e.g. `GET restoresession` → 1200. */
  byCall: Record<string, number>;
  /** Wall time of the requests timed (those the reconciles wait for), summed, and how many. */
  waitedMs: number;
  timed: number;
}

export function countRequest(counter: RequestCounter, call: string, n = 1): void {
  counter.requests += n;
  counter.byCall[call] = (counter.byCall[call] ?? 0) + n;
}

export interface ControllerClusterOptions {
  /** List sessions in this namespace only (the controller's `namespace` option). */
  namespace?: string;
}

export class ControllerCluster {
  readonly custom: k8s.CustomObjectsApi;
  readonly namespace: string | undefined;
  private readonly core: k8s.CoreV1Api;
  private readonly batch: k8s.BatchV1Api;
  private readonly rbac: k8s.RbacAuthorizationV1Api;
  private readonly storage: k8s.StorageV1Api;
  readonly counter: RequestCounter = { requests: 0, byCall: {}, waitedMs: 0, timed: 0 };
  /**
   * The resourceVersion of each session as this controller last wrote it (`namespace/name` →
   * rv), so the watch event our own write causes does not queue a reconcile that has nothing to do.
   */
  readonly ownWrites = new Map<string, string>();

  constructor(kc: k8s.KubeConfig, opts: ControllerClusterOptions = {}) {
    this.namespace = opts.namespace;
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.batch = kc.makeApiClient(k8s.BatchV1Api);
    this.rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    this.storage = kc.makeApiClient(k8s.StorageV1Api);
  }

  private count<T>(call: string, p: Promise<T>): Promise<T> {
    countRequest(this.counter, call);
    const started = performance.now();
    const timed = () => {
      this.counter.waitedMs += performance.now() - started;
      this.counter.timed++;
    };
    p.then(timed, timed);
    return p;
  }

  /** Every session, or those of the namespace this controller is confined to. */
  listSessions(): Promise<RestoreSession[]> {
    const list = this.namespace
      ? this.custom.listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: this.namespace })
      : this.custom.listClusterCustomObject({ ...RESTORE_SESSIONS });
    return this.count('LIST restoresessions', list).then((l) => (l as { items: RestoreSession[] }).items);
  }

  session(namespace: string, name: string): Promise<RestoreSession | undefined> {
    return orUndefined(
      this.count('GET restoresession', this.custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace, name }) as Promise<RestoreSession>),
    );
  }

  async replaceSession(s: RestoreSession): Promise<RestoreSession> {
    const written = await this.count(
      'PUT restoresession',
      this.custom.replaceNamespacedCustomObject({
        ...RESTORE_SESSIONS,
        namespace: s.metadata.namespace!,
        name: s.metadata.name,
        body: s,
      }) as Promise<RestoreSession>,
    );
    this.wrote(written);
    return written;
  }

  /**
   * Writes the status `mutate` makes of the session (or nothing, when it returns undefined). The
   * first try starts from `current`, the session this reconcile read moments ago, which saves a
   * GET; a conflict (an agent wrote a stat meanwhile) falls back to read-modify-write from the latest.
   */
  async updateStatus(current: RestoreSession, mutate: (s: RestoreSession) => RestoreSessionStatus | undefined): Promise<RestoreSession> {
    const { namespace, name } = current.metadata as { namespace: string; name: string };
    const first = mutate(current);
    if (first === undefined) return current;
    try {
      const written = (await this.count(
        'PUT restoresession/status',
        this.custom.replaceNamespacedCustomObjectStatus({ ...RESTORE_SESSIONS, namespace, name, body: { ...current, status: first } }),
      )) as RestoreSession;
      this.wrote(written);
      return written;
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
    let wrote = false;
    const result = await updateSessionStatus(this.custom, namespace, name, (s) => {
      const next = mutate(s);
      countRequest(this.counter, 'GET restoresession');
      if (next !== undefined) countRequest(this.counter, 'PUT restoresession/status');
      wrote = next !== undefined;
      return next;
    });
    if (wrote) this.wrote(result);
    return result;
  }

  /** Things already told in an event that would otherwise be told on every reconcile (agent trouble). */
  readonly reported = new Set<string>();
  /** When this controller first saw each agent trouble (AgentTrouble.since → epoch ms). */
  readonly troubleSince = new Map<string, number>();
  private podCache: ((namespace: string, session: string) => k8s.V1Pod[]) | undefined;

  /** Pods read from the controller's pod watch instead of the API (set while watching). */
  usePodCache(read: ((namespace: string, session: string) => k8s.V1Pod[]) | undefined): void {
    this.podCache = read;
  }

  /** The pods of a session's restore: its Job pods and the pods of the workload it injected into. */
  async sessionPods(namespace: string, session: string): Promise<k8s.V1Pod[]> {
    if (this.podCache) return this.podCache(namespace, session);
    const list = await this.count('LIST pods', this.core.listNamespacedPod({ namespace, labelSelector: `${SESSION_LABEL}=${session}` }));
    return list.items;
  }

  /** Whether this is the session exactly as this controller last wrote it. */
  isOwnWrite(s: RestoreSession): boolean {
    return s.metadata.resourceVersion !== undefined && this.ownWrites.get(`${s.metadata.namespace}/${s.metadata.name}`) === s.metadata.resourceVersion;
  }

  forgetSession(namespace: string, name: string): void {
    this.ownWrites.delete(`${namespace}/${name}`);
  }

  private wrote(s: RestoreSession): void {
    if (s.metadata.resourceVersion) this.ownWrites.set(`${s.metadata.namespace}/${s.metadata.name}`, s.metadata.resourceVersion);
  }

  repository(namespace: string, name: string): Promise<Repository | undefined> {
    return orUndefined(this.count('GET repository', this.custom.getNamespacedCustomObject({ ...REPOSITORIES, namespace, name }) as Promise<Repository>));
  }

  /** A namespace's labels, or undefined when it does not exist (a Repository's usagePolicy selector). */
  async namespaceLabels(name: string): Promise<Record<string, string> | undefined> {
    const ns = await orUndefined(this.count('GET namespace', this.core.readNamespace({ name })));
    return ns ? (ns.metadata?.labels ?? {}) : undefined;
  }

  async secretExists(namespace: string, name: string): Promise<boolean> {
    return (await orUndefined(this.count('GET secret', this.core.readNamespacedSecret({ namespace, name })))) !== undefined;
  }

  /**
   * The workload, or undefined when it does not exist. A kind the cluster does not serve (a
   * DeploymentConfig without OpenShift) is an error, not a missing object: the API server's 404
   * then names no object.
   */
  async workload(kind: WorkloadKind, namespace: string, name: string): Promise<KubeObject | undefined> {
    const [group, version] = WORKLOAD_API_VERSIONS[kind].split('/') as [string, string];
    try {
      return (await this.count(`GET ${kind}`, this.custom.getNamespacedCustomObject({ group, version, namespace, plural: PLURALS[kind], name }))) as KubeObject;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      if (namesObject(e, name)) return undefined;
      throw new Error(`${WORKLOAD_API_VERSIONS[kind]} ${PLURALS[kind]} is not served by this cluster (${apiErrorInfo(e).message})`, { cause: e });
    }
  }

  replaceWorkload(o: KubeObject): Promise<KubeObject> {
    const kind = o.kind as WorkloadKind;
    const [group, version] = WORKLOAD_API_VERSIONS[kind].split('/') as [string, string];
    return this.count(
      `PUT ${kind}`,
      this.custom.replaceNamespacedCustomObject({
        group,
        version,
        namespace: o.metadata.namespace!,
        plural: PLURALS[kind],
        name: o.metadata.name,
        body: o,
      }) as Promise<KubeObject>,
    );
  }

  async nodes(): Promise<{ name: string; labels: Record<string, string> }[]> {
    const list = await this.count('LIST nodes', this.core.listNode());
    return list.items.map((n) => ({ name: n.metadata?.name ?? '', labels: n.metadata?.labels ?? {} }));
  }

  claim(namespace: string, name: string): Promise<k8s.V1PersistentVolumeClaim | undefined> {
    return orUndefined(this.count('GET persistentvolumeclaim', this.core.readNamespacedPersistentVolumeClaim({ namespace, name })));
  }

  /** Creates the object unless it exists; returns whether it was created here. */
  async createClaim(o: KubeObject): Promise<boolean> {
    return this.created(
      'POST persistentvolumeclaim',
      this.core.createNamespacedPersistentVolumeClaim({ namespace: o.metadata.namespace!, body: o as k8s.V1PersistentVolumeClaim }),
    );
  }

  deleteClaim(namespace: string, name: string): Promise<unknown> {
    return orUndefined(this.count('DELETE persistentvolumeclaim', this.core.deleteNamespacedPersistentVolumeClaim({ namespace, name })));
  }

  /** A StorageClass's volumeBindingMode (`Immediate` when unset), or undefined when it does not exist. */
  async storageClassBinding(name: string): Promise<string | undefined> {
    const sc = await orUndefined(this.count('GET storageclass', this.storage.readStorageClass({ name })));
    return sc ? (sc.volumeBindingMode ?? 'Immediate') : undefined;
  }

  async volumeSnapshotExists(namespace: string, name: string): Promise<boolean> {
    const snap = await orUndefined(
      this.count(
        'GET volumesnapshot',
        this.custom.getNamespacedCustomObject({ group: 'snapshot.storage.k8s.io', version: 'v1', namespace, plural: 'volumesnapshots', name }),
      ),
    );
    return snap !== undefined;
  }

  job(namespace: string, name: string): Promise<k8s.V1Job | undefined> {
    return orUndefined(this.count('GET job', this.batch.readNamespacedJob({ namespace, name })));
  }

  createJob(o: KubeObject): Promise<boolean> {
    return this.created('POST job', this.batch.createNamespacedJob({ namespace: o.metadata.namespace!, body: o as k8s.V1Job }));
  }

  deleteJob(namespace: string, name: string): Promise<unknown> {
    return orUndefined(this.count('DELETE job', this.batch.deleteNamespacedJob({ namespace, name, propagationPolicy: 'Background' })));
  }

  createServiceAccount(o: KubeObject): Promise<boolean> {
    return this.created('POST serviceaccount', this.core.createNamespacedServiceAccount({ namespace: o.metadata.namespace!, body: o as k8s.V1ServiceAccount }));
  }

  createRole(o: KubeObject): Promise<boolean> {
    return this.created('POST role', this.rbac.createNamespacedRole({ namespace: o.metadata.namespace!, body: o as k8s.V1Role }));
  }

  createRoleBinding(o: KubeObject): Promise<boolean> {
    return this.created(
      'POST rolebinding',
      this.rbac.createNamespacedRoleBinding({ namespace: o.metadata.namespace!, body: o as unknown as k8s.V1RoleBinding }),
    );
  }

  deleteRole(namespace: string, name: string): Promise<unknown> {
    return orUndefined(this.count('DELETE role', this.rbac.deleteNamespacedRole({ namespace, name })));
  }

  deleteRoleBinding(namespace: string, name: string): Promise<unknown> {
    return orUndefined(this.count('DELETE rolebinding', this.rbac.deleteNamespacedRoleBinding({ namespace, name })));
  }

  private async created(call: string, p: Promise<unknown>): Promise<boolean> {
    try {
      await this.count(call, p);
      return true;
    } catch (e) {
      if (isAlreadyExists(e)) return false;
      throw e;
    }
  }

  /** The events about one object (oldest first), e.g. a Job's FailedCreate warnings. */
  async eventsOn(namespace: string, kind: string, name: string): Promise<k8s.CoreV1Event[]> {
    const list = await this.count('LIST events', this.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` }));
    return list.items.filter((e) => e.involvedObject.kind === kind);
  }

  event(on: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    countRequest(this.counter, 'POST event');
    return recordEvent(this.core, on, type, reason, message, { component: 'restore-controller' });
  }

  describeError(e: unknown): string {
    return apiErrorInfo(e).message;
  }
}
