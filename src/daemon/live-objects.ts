// The daemon's view of the cluster: the managed RestoreSessions and every Repository, and what
// Task restores are checked against (Stash's Tasks and Functions, the AppBindings), kept by watches
// so a cycle that changes nothing costs no request. `generation` moves on every event, so a cycle
// can tell that nothing it plans from has changed. While a watch is failing (or before start)
// `read()` lists instead: a plan is never made from a cache known to be stale. A cluster that does
// not serve Tasks, Functions or AppBindings (their CRDs not installed) has none of them; one whose
// answer cannot be read (a 403) leaves that kind out of `completeKinds`, so the checks do not take
// a missing one for absent. In the daemon the session and Repository caches are the controller's
// own (SharedInformers): each session is kept once.
import * as k8s from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { KubeObject } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import { APP_BINDING_KIND } from '../api/appbinding.ts';
import { FUNCTION_KIND, TASK_KIND } from '../api/task.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import type { Logger } from '../common/log.ts';
import { ResilientInformer, listPaged, withoutManagedFields } from '../kube/informer.ts';
import type { ListPage } from '../kube/informer.ts';
import { isNotFound } from '../kube/api-error.ts';
import { APP_BINDINGS, FUNCTIONS, REPOSITORIES, RESTORE_SESSIONS, TASKS, collectionPath } from '../kube/resources.ts';

export interface LiveSnapshot {
  sessions: RestoreSession[];
  repositories: Repository[];
  /** Tasks, Functions and AppBindings (task restores' checks). */
  catalog: KubeObject[];
  /** The kinds listed in full (ClusterState completeKinds): the sessions', Repository, and each catalog kind that could be read. */
  completeKinds: string[];
  /** Same value, same contents; undefined when read by a LIST (no claim of sameness). */
  generation: number | undefined;
}

const MANAGED = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

type List = KubernetesListObject<KubernetesObject>;

/** Watch caches another part of the process already keeps (the controller's), to read instead of watching twice. */
export interface SharedInformers {
  sessions: ResilientInformer<KubernetesObject>;
  repositories: ResilientInformer<KubernetesObject>;
  /** The namespace they are confined to (undefined: the whole cluster). */
  namespace: string | undefined;
}

const managed = (o: KubernetesObject) => o.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE;

export class LiveObjects {
  private readonly custom: k8s.CustomObjectsApi;
  private readonly kc: k8s.KubeConfig;
  private readonly namespace: string | undefined;
  private readonly log: Logger | undefined;
  private catalog: { kind: string; informer: ResilientInformer<KubernetesObject>; list: (page: ListPage) => Promise<List>; notServed?: boolean }[] = [];
  private sessions: ResilientInformer<KubernetesObject> | undefined;
  private repositories: ResilientInformer<KubernetesObject> | undefined;
  /** Whether the informers are ours to start and stop (not shared). */
  private own = false;
  private gen = 0;
  private started = false;

  constructor(kc: k8s.KubeConfig, opts: { namespace?: string; log?: Logger } = {}) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.kc = kc;
    this.namespace = opts.namespace;
    this.log = opts.log;
  }

  /**
   * Starts watching; with `shared` (the controller's caches of the same scope), reads those
   * instead: every session is then cached once in the process, not twice.
   */
  async start(shared?: SharedInformers): Promise<void> {
    this.started = true;
    const bump = () => void this.gen++;
    this.startCatalog(bump);
    if (shared && shared.namespace === this.namespace) {
      this.own = false;
      // Every session event counts (a session that loses the managed label leaves the set).
      this.sessions = shared.sessions.on('add', bump).on('update', bump).on('delete', bump);
      this.repositories = shared.repositories.on('add', bump).on('update', bump).on('delete', bump);
      await Promise.all([this.sessions.ready, this.repositories.ready]);
      return;
    }
    const informer = (r: { group: string; version: string; plural: string }, list: (page: ListPage) => Promise<List>, labelSelector?: string) =>
      new ResilientInformer<KubernetesObject>({
        kc: this.kc,
        path: collectionPath(`${r.group}/${r.version}`, r.plural, this.namespace),
        ...(labelSelector ? { labelSelector } : {}),
        list,
        keep: withoutManagedFields,
        ...(this.log ? { log: this.log } : {}),
      })
        .on('add', bump)
        .on('update', bump)
        .on('delete', bump);
    this.own = true;
    this.sessions = informer(RESTORE_SESSIONS, (page) => this.listSessions(page), MANAGED);
    this.repositories = informer(REPOSITORIES, (page) => this.listRepositories(page));
    await Promise.all([this.sessions.start(), this.repositories.start()]);
    await Promise.all([this.sessions.ready, this.repositories.ready]);
  }

  /** Watches of Stash's Tasks and Functions and the AppBindings; they may fail for good (no CRD, no grant): the daemon runs without them. */
  private startCatalog(bump: () => void): void {
    const informer = (r: { group: string; version: string; plural: string }, list: (page: ListPage) => Promise<List>, clusterScoped: boolean) =>
      new ResilientInformer<KubernetesObject>({
        kc: this.kc,
        path: collectionPath(`${r.group}/${r.version}`, r.plural, clusterScoped ? undefined : this.namespace),
        list,
        keep: withoutManagedFields,
        ...(this.log ? { log: this.log } : {}),
      })
        .on('add', bump)
        .on('update', bump)
        .on('delete', bump);
    const ns = this.namespace;
    const listTasks = (page: ListPage) => this.custom.listClusterCustomObject({ ...TASKS, ...page }) as Promise<List>;
    const listFunctions = (page: ListPage) => this.custom.listClusterCustomObject({ ...FUNCTIONS, ...page }) as Promise<List>;
    const listAppBindings = (page: ListPage) =>
      (ns
        ? this.custom.listNamespacedCustomObject({ ...APP_BINDINGS, namespace: ns, ...page })
        : this.custom.listClusterCustomObject({ ...APP_BINDINGS, ...page })) as Promise<List>;
    this.catalog = [
      { kind: TASK_KIND, informer: informer(TASKS, listTasks, true), list: listTasks },
      { kind: FUNCTION_KIND, informer: informer(FUNCTIONS, listFunctions, true), list: listFunctions },
      { kind: APP_BINDING_KIND, informer: informer(APP_BINDINGS, listAppBindings, false), list: listAppBindings },
    ];
    for (const c of this.catalog) void c.informer.start().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([...(this.own ? [this.sessions?.stop(), this.repositories?.stop()] : []), ...this.catalog.map((c) => c.informer.stop())]);
  }

  /** From the watches when they are in sync; else by LIST. */
  async read(): Promise<LiveSnapshot> {
    const catalog = await this.readCatalog();
    const { sessions, repositories } = this;
    if (this.started && sessions?.synced && repositories?.synced) {
      return {
        sessions: sessions.list().filter(managed) as RestoreSession[],
        repositories: [...repositories.list()] as Repository[],
        catalog: catalog.catalog,
        completeKinds: catalog.completeKinds,
        generation: catalog.cached ? this.gen : undefined,
      };
    }
    const [s, r] = await Promise.all([
      listPaged((page) => this.listSessions(page), { keep: withoutManagedFields }),
      listPaged((page) => this.listRepositories(page), { keep: withoutManagedFields }),
    ]);
    return {
      sessions: s.items as RestoreSession[],
      repositories: r.items as Repository[],
      catalog: catalog.catalog,
      completeKinds: catalog.completeKinds,
      generation: undefined,
    };
  }

  /**
   * The catalog kinds: from the watches in sync, else by LIST. Not served (404) is none, until the
   * CRD comes and its watch syncs (which moves the generation); unreadable is left out of completeKinds.
   */
  private async readCatalog(): Promise<{ catalog: KubeObject[]; completeKinds: string[]; cached: boolean }> {
    const out = { catalog: [] as KubeObject[], completeKinds: ['RestoreSession', 'Repository'], cached: true };
    for (const c of this.catalog) {
      if (this.started && c.informer.synced) {
        out.catalog.push(...(c.informer.list() as KubeObject[]));
        out.completeKinds.push(c.kind);
        continue;
      }
      if (c.notServed) {
        out.completeKinds.push(c.kind);
        continue;
      }
      try {
        out.catalog.push(...((await listPaged(c.list, { keep: withoutManagedFields })).items as KubeObject[]));
        out.completeKinds.push(c.kind);
        out.cached = false;
      } catch (e) {
        if (isNotFound(e)) {
          c.notServed = true;
          out.completeKinds.push(c.kind);
        } else {
          out.cached = false;
          this.log?.warn(`cannot list ${c.kind}s: task restores are checked without them`, { kind: c.kind, error: (e as Error).message });
        }
      }
    }
    return out;
  }

  private listSessions(page: ListPage): Promise<List> {
    const namespace = this.namespace;
    return (
      namespace
        ? this.custom.listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace, labelSelector: MANAGED, ...page })
        : this.custom.listClusterCustomObject({ ...RESTORE_SESSIONS, labelSelector: MANAGED, ...page })
    ) as Promise<List>;
  }

  private listRepositories(page: ListPage): Promise<List> {
    const namespace = this.namespace;
    return (
      namespace
        ? this.custom.listNamespacedCustomObject({ ...REPOSITORIES, namespace, ...page })
        : this.custom.listClusterCustomObject({ ...REPOSITORIES, ...page })
    ) as Promise<List>;
  }
}
