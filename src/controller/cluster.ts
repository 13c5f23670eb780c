// The controller's edge to the Kubernetes API. Reads and writes only; the decisions are in
// reconcile.ts and the executors.
import * as k8s from '@kubernetes/client-node';
import type { AppBinding } from '../api/appbinding.ts';
import type { KubeObject } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { WORKLOAD_API_VERSIONS } from '../api/workloads.ts';
import type { WorkloadKind } from '../api/workloads.ts';
import { apiErrorInfo, isAlreadyExists, isConflict, isNotFound } from '../kube/api-error.ts';
import { withoutManagedFields } from '../kube/informer.ts';
import { getMetadata } from '../kube/metadata.ts';
import { APP_BINDINGS, FUNCTIONS, REPOSITORIES, RESTORE_SESSIONS, TASKS } from '../kube/resources.ts';
import type { StashFunction, Task } from '../api/task.ts';
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

/**
 * What the controller's watches hold (watches.ts), read instead of the API. Each answer is
 * undefined when the cache cannot say (not listed yet, failing, a kind or namespace it does not
 * watch): the API is asked then. `{ object: undefined }` is a cache that knows the object is not
 * there; the watch wakes the session when it appears.
 */
export interface ControllerCache {
  session(namespace: string, name: string): { object: RestoreSession | undefined } | undefined;
  /** The resourceVersion of the cached session (no copy made), or undefined when there is none or the cache cannot be trusted. */
  sessionVersion?(namespace: string, name: string): string | undefined;
  repository(namespace: string, name: string): { object: Repository | undefined } | undefined;
  secretExists(namespace: string, name: string): boolean | undefined;
  workload(kind: WorkloadKind, namespace: string, name: string): { object: KubeObject | undefined } | undefined;
  sessionPods(namespace: string, session: string): k8s.V1Pod[] | undefined;
}

/** Whether resourceVersion `a` is older than `b`, when both are the numbers etcd makes them (opaque otherwise: not older). */
function olderVersion(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && /^\d+$/.test(a) && /^\d+$/.test(b) && Number(a) < Number(b);
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
  private readonly kc: k8s.KubeConfig;
  readonly counter: RequestCounter = { requests: 0, byCall: {}, waitedMs: 0, timed: 0 };
  /**
   * The resourceVersion of each session as this controller last wrote it (`namespace/name` →
   * rv), so the watch event our own write causes does not queue a reconcile that has nothing to do.
   */
  readonly ownWrites = new Map<string, string>();
  /**
   * Sessions with a write of ours under way (`namespace/name` → how many, and the versions the
   * watch delivered meanwhile): kube-apiserver often delivers a write's event before its response,
   * when the version it brings is not known yet. Those events are held until the response says
   * whether they were ours.
   */
  private readonly writing = new Map<string, { writes: number; mine: string[]; held: string[]; wake: (() => void) | undefined }>();
  /** The session as this controller last wrote it, until the watch has caught up with that write (a reconcile right after reads it). */
  private readonly written = new Map<string, RestoreSession>();
  private cache: ControllerCache | undefined;

  constructor(kc: k8s.KubeConfig, opts: ControllerClusterOptions = {}) {
    this.namespace = opts.namespace;
    this.kc = kc;
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

  /** Reads from the watches' caches while they can be trusted (set while watching). */
  useCache(cache: ControllerCache | undefined): void {
    this.cache = cache;
  }

  session(namespace: string, name: string): Promise<RestoreSession | undefined> {
    const cached = this.cache?.session(namespace, name);
    if (cached) {
      const key = `${namespace}/${name}`;
      const mine = this.written.get(key);
      if (!mine) return Promise.resolve(cached.object);
      // Our own write is newer than what the watch has delivered so far: read that.
      if (cached.object && olderVersion(cached.object.metadata.resourceVersion, mine.metadata.resourceVersion)) return Promise.resolve(structuredClone(mine));
      this.written.delete(key);
      return Promise.resolve(cached.object);
    }
    return orUndefined(
      this.count('GET restoresession', this.custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace, name }) as Promise<RestoreSession>),
    );
  }

  async replaceSession(s: RestoreSession): Promise<RestoreSession> {
    return this.writingSession(s.metadata.namespace!, s.metadata.name, async () => {
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
    });
  }

  /**
   * Runs a write of the session, holding the watch events that arrive meanwhile (ownEvent): once
   * it ends, any held version other than the one it wrote (someone else's, or any when it failed)
   * wakes the session.
   */
  private async writingSession<T>(namespace: string, name: string, write: () => Promise<T>): Promise<T> {
    const key = `${namespace}/${name}`;
    const w = this.writing.get(key) ?? { writes: 0, mine: [], held: [], wake: undefined };
    w.writes++;
    this.writing.set(key, w);
    try {
      return await write();
    } finally {
      if (--w.writes === 0) {
        this.writing.delete(key);
        if (w.held.some((rv) => !w.mine.includes(rv))) w.wake?.();
      }
    }
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
    return this.writingSession(namespace, name, () => this.writeStatus(current, first, mutate));
  }

  private async writeStatus(
    current: RestoreSession,
    first: RestoreSessionStatus,
    mutate: (s: RestoreSession) => RestoreSessionStatus | undefined,
  ): Promise<RestoreSession> {
    const { namespace, name } = current.metadata as { namespace: string; name: string };
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

  /** The pods of a session's restore: its Job pods and the pods of the workload it injected into. */
  async sessionPods(namespace: string, session: string): Promise<k8s.V1Pod[]> {
    const cached = this.cache?.sessionPods(namespace, session);
    if (cached) return cached;
    const list = await this.count('LIST pods', this.core.listNamespacedPod({ namespace, labelSelector: `${SESSION_LABEL}=${session}` }));
    return list.items;
  }

  /** Whether this is the session exactly as this controller last wrote it. */
  isOwnWrite(s: RestoreSession): boolean {
    const key = `${s.metadata.namespace}/${s.metadata.name}`;
    // The watch has caught up with our last write: the cache is as new as what we keep.
    const mine = this.written.get(key);
    if (mine && !olderVersion(s.metadata.resourceVersion, mine.metadata.resourceVersion)) this.written.delete(key);
    return s.metadata.resourceVersion !== undefined && this.ownWrites.get(key) === s.metadata.resourceVersion;
  }

  /**
   * Whether a watch event of the session needs no reconcile on its account: it is our own last
   * write, or it came while a write of ours is under way, before its response (then it is held,
   * and `wake` is called once the write ends if the event was not that write).
   */
  ownEvent(s: RestoreSession, wake: () => void): boolean {
    if (this.isOwnWrite(s)) return true;
    const w = this.writing.get(`${s.metadata.namespace}/${s.metadata.name}`);
    if (!w) return false;
    w.held.push(s.metadata.resourceVersion ?? '');
    w.wake = wake;
    return true;
  }

  forgetSession(namespace: string, name: string): void {
    this.ownWrites.delete(`${namespace}/${name}`);
    this.written.delete(`${namespace}/${name}`);
  }

  private wrote(s: RestoreSession): void {
    const rv = s.metadata.resourceVersion;
    if (!rv) return;
    const key = `${s.metadata.namespace}/${s.metadata.name}`;
    this.ownWrites.set(key, rv);
    this.writing.get(key)?.mine.push(rv);
    if (!this.cache) return;
    // The watch often delivers a write before its response arrives (kube-apiserver does): the
    // cache has it then, and a copy kept here would stay until the session's next event.
    const seen = this.cache.sessionVersion?.(s.metadata.namespace!, s.metadata.name);
    if (seen !== undefined && !olderVersion(seen, rv)) this.written.delete(key);
    else this.written.set(key, withoutManagedFields(s));
  }

  /** How many sessions are kept as this controller wrote them, waiting for the watch to catch up (for tests and benches). */
  get writesAhead(): number {
    return this.written.size;
  }

  repository(namespace: string, name: string): Promise<Repository | undefined> {
    const cached = this.cache?.repository(namespace, name);
    if (cached) return Promise.resolve(cached.object);
    return orUndefined(this.count('GET repository', this.custom.getNamespacedCustomObject({ ...REPOSITORIES, namespace, name }) as Promise<Repository>));
  }

  /**
   * An installed Stash Task (cluster-scoped), or undefined when the cluster has none of that name.
   * A cluster without the Task CRD has none either: its 404 names no object.
   */
  task(name: string): Promise<Task | undefined> {
    return orUndefined(this.count('GET task', this.custom.getClusterCustomObject({ ...TASKS, name }) as Promise<Task>));
  }

  /** An installed Stash Function (cluster-scoped), or undefined. */
  stashFunction(name: string): Promise<StashFunction | undefined> {
    return orUndefined(this.count('GET function', this.custom.getClusterCustomObject({ ...FUNCTIONS, name }) as Promise<StashFunction>));
  }

  /** The AppBinding a database session targets, or undefined (also when the cluster does not serve AppBindings). */
  appBinding(namespace: string, name: string): Promise<AppBinding | undefined> {
    return orUndefined(this.count('GET appbinding', this.custom.getNamespacedCustomObject({ ...APP_BINDINGS, namespace, name }) as Promise<AppBinding>));
  }

  /** A namespace's labels, or undefined when it does not exist (a Repository's usagePolicy selector). */
  async namespaceLabels(name: string): Promise<Record<string, string> | undefined> {
    const ns = await orUndefined(this.count('GET namespace', this.core.readNamespace({ name })));
    return ns ? (ns.metadata?.labels ?? {}) : undefined;
  }

  /** Whether the Secret exists; its data is never read (a metadata watch, else a metadata-only GET). */
  async secretExists(namespace: string, name: string): Promise<boolean> {
    const cached = this.cache?.secretExists(namespace, name);
    if (cached !== undefined) return cached;
    const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets/${encodeURIComponent(name)}`;
    return (await orUndefined(this.count('GET secret (metadata)', getMetadata(this.kc, path)))) !== undefined;
  }

  /**
   * The workload, or undefined when it does not exist. A kind the cluster does not serve (a
   * DeploymentConfig without OpenShift) is an error, not a missing object: the API server's 404
   * then names no object.
   */
  /** The workload, from the watch's cache when it can say (`fresh`: from the API, e.g. after a conflict). */
  async workload(kind: WorkloadKind, namespace: string, name: string, opts: { fresh?: boolean } = {}): Promise<KubeObject | undefined> {
    const cached = opts.fresh ? undefined : this.cache?.workload(kind, namespace, name);
    if (cached) return cached.object;
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

  serviceAccount(namespace: string, name: string): Promise<k8s.V1ServiceAccount | undefined> {
    return orUndefined(this.count('GET serviceaccount', this.core.readNamespacedServiceAccount({ namespace, name })));
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
