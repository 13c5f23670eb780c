// The daemon's view of the cluster: the managed RestoreSessions and every Repository, and what
// Task restores are checked against (Stash's Tasks and Functions, the AppBindings), kept by watches
// so a cycle that changes nothing costs no request. `generation` moves on every event, so a cycle
// can tell that nothing it plans from has changed. While a watch is failing (or before start)
// `read()` lists instead: a plan is never made from a cache known to be stale. A cluster that does
// not serve Tasks, Functions or AppBindings (their CRDs not installed) has none of them; one whose
// answer cannot be read (a 403) leaves that kind out of `completeKinds`, so the checks do not take
// a missing one for absent.
import * as k8s from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { KubeObject } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import { APP_BINDING_KIND } from '../api/appbinding.ts';
import { FUNCTION_KIND, TASK_KIND } from '../api/task.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import type { Logger } from '../common/log.ts';
import { ResilientInformer } from '../kube/informer.ts';
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

export class LiveObjects {
  private readonly custom: k8s.CustomObjectsApi;
  private readonly namespace: string | undefined;
  private readonly sessions: ResilientInformer<KubernetesObject>;
  private readonly repositories: ResilientInformer<KubernetesObject>;
  private readonly catalog: { kind: string; informer: ResilientInformer<KubernetesObject>; list: () => Promise<List>; notServed?: boolean }[];
  private readonly log: Logger | undefined;
  private gen = 0;
  private started = false;

  constructor(kc: k8s.KubeConfig, opts: { namespace?: string; log?: Logger } = {}) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.namespace = opts.namespace;
    this.log = opts.log;
    const informer = (r: { group: string; version: string; plural: string }, list: () => Promise<List>, labelSelector?: string, clusterScoped = false) => {
      const bump = () => void this.gen++;
      return new ResilientInformer<KubernetesObject>({
        kc,
        path: collectionPath(`${r.group}/${r.version}`, r.plural, clusterScoped ? undefined : opts.namespace),
        ...(labelSelector ? { labelSelector } : {}),
        list,
        ...(opts.log ? { log: opts.log } : {}),
      })
        .on('add', bump)
        .on('update', bump)
        .on('delete', bump);
    };
    this.sessions = informer(RESTORE_SESSIONS, () => this.listSessions(), MANAGED);
    this.repositories = informer(REPOSITORIES, () => this.listRepositories());
    const catalog = (kind: string, r: { group: string; version: string; plural: string }, list: () => Promise<List>, clusterScoped: boolean) => ({
      kind,
      informer: informer(r, list, undefined, clusterScoped),
      list,
    });
    const ns = opts.namespace;
    this.catalog = [
      catalog(TASK_KIND, TASKS, () => this.custom.listClusterCustomObject({ ...TASKS }) as Promise<List>, true),
      catalog(FUNCTION_KIND, FUNCTIONS, () => this.custom.listClusterCustomObject({ ...FUNCTIONS }) as Promise<List>, true),
      catalog(
        APP_BINDING_KIND,
        APP_BINDINGS,
        () =>
          (ns
            ? this.custom.listNamespacedCustomObject({ ...APP_BINDINGS, namespace: ns })
            : this.custom.listClusterCustomObject({ ...APP_BINDINGS })) as Promise<List>,
        false,
      ),
    ];
  }

  async start(): Promise<void> {
    this.started = true;
    // The catalog's watches may fail for good (no CRD, no grant): the daemon starts without them.
    for (const c of this.catalog) void c.informer.start().catch(() => undefined);
    await Promise.all([this.sessions.start(), this.repositories.start()]);
    await Promise.all([this.sessions.ready, this.repositories.ready]);
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([this.sessions.stop(), this.repositories.stop(), ...this.catalog.map((c) => c.informer.stop())]);
  }

  /** From the watches when they are in sync; else by LIST. */
  async read(): Promise<LiveSnapshot> {
    const catalog = await this.readCatalog();
    if (this.started && this.sessions.synced && this.repositories.synced) {
      return {
        sessions: [...this.sessions.list()] as RestoreSession[],
        repositories: [...this.repositories.list()] as Repository[],
        catalog: catalog.catalog,
        completeKinds: catalog.completeKinds,
        generation: catalog.cached ? this.gen : undefined,
      };
    }
    const [s, r] = await Promise.all([this.listSessions(), this.listRepositories()]);
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
        out.catalog.push(...((await c.list()).items as KubeObject[]));
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

  private listSessions(): Promise<List> {
    const namespace = this.namespace;
    return (
      namespace
        ? this.custom.listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace, labelSelector: MANAGED })
        : this.custom.listClusterCustomObject({ ...RESTORE_SESSIONS, labelSelector: MANAGED })
    ) as Promise<List>;
  }

  private listRepositories(): Promise<List> {
    const namespace = this.namespace;
    return (
      namespace ? this.custom.listNamespacedCustomObject({ ...REPOSITORIES, namespace }) : this.custom.listClusterCustomObject({ ...REPOSITORIES })
    ) as Promise<List>;
  }
}
