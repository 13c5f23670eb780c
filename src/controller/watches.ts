// The controller's watches (issue 7 §1): RestoreSessions, Repositories, the target workloads,
// restore Jobs, the pods of restores and the claims the controller makes, each through a
// ResilientInformer (relist on 410, restart with backoff, watchdog), each event mapped to the
// sessions it concerns. Objects the controller labels (Jobs, claims, injected pods) are watched
// through a label selector; Repositories and workloads are the user's, so all of them in scope
// are watched (a Repository or workload appearing must wake the session that waits for it).
// With `namespace`, every list and watch stays in that namespace.
//
// The caches are also what the reconciles read (ControllerCache): a session, its Repository, its
// target workload and its pods cost no request. Secrets are watched as metadata only
// (PartialObjectMetadata): the controller learns that a Secret exists, never its data. Every
// object is cached without `metadata.managedFields`, which nothing here reads.
import * as k8s from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { KubeObject } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import type { WorkloadKind } from '../api/workloads.ts';
import type { Logger } from '../common/log.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import { ResilientInformer, withoutManagedFields } from '../kube/informer.ts';
import type { ListPage } from '../kube/informer.ts';
import { listMetadata, metadataWatch } from '../kube/metadata.ts';
import { REPOSITORIES, RESTORE_SESSIONS, collectionPath } from '../kube/resources.ts';
import { SESSION_LABEL } from './claims.ts';
import { countRequest } from './cluster.ts';
import type { ControllerCache, ControllerCluster } from './cluster.ts';
import { SessionIndex, sessionKey } from './session-index.ts';
import { ChangeFilter, SIGNATURES } from './watch-filter.ts';

export interface ControllerWatchesOptions {
  kc: k8s.KubeConfig;
  /** Watch this namespace only. */
  namespace?: string;
  /** Its request counter counts the informers' LISTs; its record of our own writes filters session events. */
  cluster: ControllerCluster;
  /** Queue a session for a reconcile. */
  enqueue: (namespace: string, name: string) => void;
  /** Whether a session still needs the controller (final sessions are left alone). */
  needsWork: (s: RestoreSession) => boolean;
  /** Each informer's lines carry `watch` (the resource watched). */
  log?: Logger;
  /** Passed to every informer (tests shorten it). */
  watchdogMs?: number;
}

type List = KubernetesListObject<KubernetesObject>;

const WORKLOAD_KINDS = ['StatefulSet', 'Deployment', 'DaemonSet'] as const;
type WatchedKind = (typeof WORKLOAD_KINDS)[number];

export class ControllerWatches implements ControllerCache {
  readonly sessions: ResilientInformer<KubernetesObject>;
  private readonly podInformer: ResilientInformer<KubernetesObject>;
  readonly repositories: ResilientInformer<KubernetesObject>;
  private readonly secrets: ResilientInformer<KubernetesObject>;
  private readonly workloads = new Map<WatchedKind, ResilientInformer<KubernetesObject>>();
  private readonly informers: ResilientInformer<KubernetesObject>[] = [];
  private readonly index = new SessionIndex();
  private readonly opts: ControllerWatchesOptions;

  constructor(opts: ControllerWatchesOptions) {
    this.opts = opts;
    const ns = opts.namespace;
    const custom = opts.kc.makeApiClient(k8s.CustomObjectsApi);
    const batch = opts.kc.makeApiClient(k8s.BatchV1Api);
    const core = opts.kc.makeApiClient(k8s.CoreV1Api);
    const managed = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
    const ofSession = SESSION_LABEL; // exists: restore Job pods and pods of injected templates

    this.sessions = this.informer(`${RESTORE_SESSIONS.group}/${RESTORE_SESSIONS.version}`, RESTORE_SESSIONS.plural, undefined, (page) =>
      ns
        ? custom.listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: ns, ...page })
        : custom.listClusterCustomObject({ ...RESTORE_SESSIONS, ...page }),
    );
    const onSession = (o: KubernetesObject) => {
      const s = o as RestoreSession;
      this.index.upsert(s);
      // The event of our own last write brings nothing the reconcile that wrote it did not know
      // (whether it comes before or after the write's response).
      const wake = () => opts.enqueue(s.metadata.namespace!, s.metadata.name);
      if (opts.needsWork(s) && !opts.cluster.ownEvent(s, wake)) wake();
    };
    this.sessions
      .on('add', onSession)
      .on('update', onSession)
      .on('delete', (o) => {
        this.index.remove(sessionKey(o as RestoreSession));
        opts.cluster.forgetSession(o.metadata!.namespace!, o.metadata!.name!);
      });

    const repositories = this.informer(`${REPOSITORIES.group}/${REPOSITORIES.version}`, REPOSITORIES.plural, undefined, (page) =>
      ns ? custom.listNamespacedCustomObject({ ...REPOSITORIES, namespace: ns, ...page }) : custom.listClusterCustomObject({ ...REPOSITORIES, ...page }),
    );
    this.wakeDependents(repositories, 'Repository', new ChangeFilter(SIGNATURES.repository));
    this.repositories = repositories;

    // A Secret appearing or going wakes the sessions of the Repositories that name it; metadata only.
    const secretsPath = collectionPath('v1', 'secrets', ns);
    this.secrets = this.informer('v1', 'secrets', undefined, (page) => listMetadata(opts.kc, secretsPath, page), metadataWatch(opts.kc));
    const wakeForSecret = (o: KubernetesObject) => {
      const namespace = o.metadata!.namespace ?? '';
      for (const r of this.repositories.list(namespace) as Repository[])
        if (r.spec?.backend?.storageSecretName === o.metadata!.name) this.wake('Repository', namespace, r.metadata.name);
    };
    this.secrets.on('add', wakeForSecret).on('delete', wakeForSecret);

    // Listed as plain JSON (CustomObjectsApi), as the watch delivers them: the typed clients drop
    // fields their models do not know, and the init-container executor writes the cached object back.
    const workloadLists: Record<(typeof WORKLOAD_KINDS)[number], (page: ListPage) => Promise<unknown>> = {
      StatefulSet: (page) =>
        ns
          ? custom.listNamespacedCustomObject({ group: 'apps', version: 'v1', plural: 'statefulsets', namespace: ns, ...page })
          : custom.listClusterCustomObject({ group: 'apps', version: 'v1', plural: 'statefulsets', ...page }),
      Deployment: (page) =>
        ns
          ? custom.listNamespacedCustomObject({ group: 'apps', version: 'v1', plural: 'deployments', namespace: ns, ...page })
          : custom.listClusterCustomObject({ group: 'apps', version: 'v1', plural: 'deployments', ...page }),
      DaemonSet: (page) =>
        ns
          ? custom.listNamespacedCustomObject({ group: 'apps', version: 'v1', plural: 'daemonsets', namespace: ns, ...page })
          : custom.listClusterCustomObject({ group: 'apps', version: 'v1', plural: 'daemonsets', ...page }),
    };
    for (const kind of WORKLOAD_KINDS) {
      const informer = this.informer('apps/v1', `${kind.toLowerCase()}s`, undefined, workloadLists[kind]);
      this.wakeDependents(informer, kind, new ChangeFilter(SIGNATURES.workload));
      this.workloads.set(kind, informer);
    }

    const jobs = this.informer('batch/v1', 'jobs', managed, (page) =>
      ns ? batch.listNamespacedJob({ namespace: ns, labelSelector: managed, ...page }) : batch.listJobForAllNamespaces({ labelSelector: managed, ...page }),
    );
    this.wakeLabelled(jobs, new ChangeFilter(SIGNATURES.job));
    const pods = this.informer('v1', 'pods', ofSession, (page) =>
      ns ? core.listNamespacedPod({ namespace: ns, labelSelector: ofSession, ...page }) : core.listPodForAllNamespaces({ labelSelector: ofSession, ...page }),
    );
    this.wakeLabelled(pods, new ChangeFilter(SIGNATURES.pod));
    this.podInformer = pods;
    const claims = this.informer('v1', 'persistentvolumeclaims', managed, (page) =>
      ns
        ? core.listNamespacedPersistentVolumeClaim({ namespace: ns, labelSelector: managed, ...page })
        : core.listPersistentVolumeClaimForAllNamespaces({ labelSelector: managed, ...page }),
    );
    this.wakeLabelled(claims, new ChangeFilter(SIGNATURES.claim));
  }

  /**
   * Starts every watch; resolves once the sessions have been listed. The other watches fill in
   * the background: one that cannot list (a missing permission) retries with backoff and logs
   * why, while the resync keeps every session moving.
   */
  async start(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.start()));
    await this.sessions.ready;
  }

  async stop(): Promise<void> {
    await Promise.all(this.informers.map((i) => i.stop()));
  }

  /** Sessions as last seen by the watch (no API request), or undefined while that cache cannot be trusted (failing since). */
  cachedSessions(): RestoreSession[] | undefined {
    return this.sessions.synced ? (this.sessions.list() as RestoreSession[]) : undefined;
  }

  // ControllerCache: each answer is undefined when the watch cannot be trusted now (not listed
  // yet, failing since) or the object is outside what it watches; the caller then asks the API.

  session(namespace: string, name: string): { object: RestoreSession | undefined } | undefined {
    return this.read(this.sessions, namespace, name) as { object: RestoreSession | undefined } | undefined;
  }

  sessionVersion(namespace: string, name: string): string | undefined {
    if (!this.inScope(namespace) || !this.sessions.synced) return undefined;
    return this.sessions.get(name, namespace)?.metadata?.resourceVersion;
  }

  repository(namespace: string, name: string): { object: Repository | undefined } | undefined {
    return this.read(this.repositories, namespace, name) as { object: Repository | undefined } | undefined;
  }

  secretExists(namespace: string, name: string): boolean | undefined {
    if (!this.inScope(namespace) || !this.secrets.synced) return undefined;
    return this.secrets.get(name, namespace) !== undefined;
  }

  workload(kind: WorkloadKind, namespace: string, name: string): { object: KubeObject | undefined } | undefined {
    const informer = this.workloads.get(kind as WatchedKind);
    return informer ? (this.read(informer, namespace, name) as { object: KubeObject | undefined } | undefined) : undefined;
  }

  /** The pods of a session's restore as last seen by the watch (no API request). */
  sessionPods(namespace: string, session: string): k8s.V1Pod[] | undefined {
    if (!this.inScope(namespace)) return undefined;
    if (!this.podInformer.synced) return undefined;
    return this.podInformer.list(namespace).filter((p) => p.metadata?.labels?.[SESSION_LABEL] === session) as k8s.V1Pod[];
  }

  private inScope(namespace: string): boolean {
    return !this.opts.namespace || namespace === this.opts.namespace;
  }

  /** A copy of the cached object (the reconcile may change what it reads), or the word that it is not there. */
  private read(informer: ResilientInformer<KubernetesObject>, namespace: string, name: string): { object: KubernetesObject | undefined } | undefined {
    if (!this.inScope(namespace) || !informer.synced) return undefined;
    const o = informer.get(name, namespace);
    return { object: o ? structuredClone(o) : undefined };
  }

  /** How many watches there are, and how often they were restarted after a failure or silence. */
  get stats(): { informers: number; restarts: number; lists: number } {
    return {
      informers: this.informers.length,
      restarts: this.informers.reduce((n, i) => n + i.stats.restarts, 0),
      lists: this.informers.reduce((n, i) => n + i.stats.lists, 0),
    };
  }

  private informer(
    apiVersion: string,
    plural: string,
    labelSelector: string | undefined,
    list: (page: ListPage) => Promise<unknown>,
    watch?: k8s.Watch,
  ): ResilientInformer<KubernetesObject> {
    const informer = new ResilientInformer<KubernetesObject>({
      keep: withoutManagedFields,
      ...(watch ? { watch } : {}),
      kc: this.opts.kc,
      path: collectionPath(apiVersion, plural, this.opts.namespace),
      ...(labelSelector ? { labelSelector } : {}),
      list: async (page) => {
        countRequest(this.opts.cluster.counter, `LIST ${plural} (watch)`);
        return (await list(page)) as List;
      },
      ...(this.opts.log ? { log: this.opts.log.child({ watch: plural }) } : {}),
      ...(this.opts.watchdogMs ? { watchdogMs: this.opts.watchdogMs } : {}),
    });
    this.informers.push(informer);
    return informer;
  }

  /** Repository or workload events wake the sessions that reference the object. */
  private wakeDependents(informer: ResilientInformer<KubernetesObject>, kind: string, filter: ChangeFilter): void {
    const wake = (o: KubernetesObject) => this.wake(kind, o.metadata!.namespace ?? '', o.metadata!.name!);
    informer.on('add', (o) => filter.changed(o) && wake(o));
    informer.on('update', (o) => filter.changed(o) && wake(o));
    informer.on('delete', (o) => {
      filter.forget(o);
      wake(o);
    });
  }

  /** Queues the sessions that reference `kind namespace/name` and still need work. */
  private wake(kind: string, namespace: string, name: string): void {
    for (const key of this.index.sessionsFor(kind, namespace, name)) {
      const [ns, n] = key.split('/') as [string, string];
      const s = this.sessions.get(n, ns) as RestoreSession | undefined;
      if (s && this.opts.needsWork(s)) this.opts.enqueue(ns, n);
    }
  }

  /** Objects carrying the session label (Jobs, claims, pods) wake that session. */
  private wakeLabelled(informer: ResilientInformer<KubernetesObject>, filter: ChangeFilter): void {
    const wake = (o: KubernetesObject) => {
      const name = o.metadata?.labels?.[SESSION_LABEL];
      const namespace = o.metadata?.namespace ?? '';
      const s = name ? (this.sessions.get(name, namespace) as RestoreSession | undefined) : undefined;
      if (s && this.opts.needsWork(s)) this.opts.enqueue(namespace, name!);
    };
    informer.on('add', (o) => filter.changed(o) && wake(o));
    informer.on('update', (o) => filter.changed(o) && wake(o));
    informer.on('delete', (o) => {
      filter.forget(o);
      wake(o);
    });
  }
}
