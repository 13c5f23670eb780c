// The daemon's view of the cluster: the managed RestoreSessions and every Repository, kept by
// watches so a cycle that changes nothing costs no request. `generation` moves on every event, so
// a cycle can tell that nothing it plans from has changed. While a watch is failing (or before
// start) `read()` lists instead: a plan is never made from a cache known to be stale. In the
// daemon the caches are the controller's own (SharedInformers): each session is kept once.
import * as k8s from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import type { Logger } from '../common/log.ts';
import { ResilientInformer, withoutManagedFields } from '../kube/informer.ts';
import { REPOSITORIES, RESTORE_SESSIONS, collectionPath } from '../kube/resources.ts';

export interface LiveSnapshot {
  sessions: RestoreSession[];
  repositories: Repository[];
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
    if (shared && shared.namespace === this.namespace) {
      this.own = false;
      // Every session event counts (a session that loses the managed label leaves the set).
      this.sessions = shared.sessions.on('add', bump).on('update', bump).on('delete', bump);
      this.repositories = shared.repositories.on('add', bump).on('update', bump).on('delete', bump);
      await Promise.all([this.sessions.ready, this.repositories.ready]);
      return;
    }
    const informer = (r: { group: string; version: string; plural: string }, list: () => Promise<List>, labelSelector?: string) =>
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
    this.sessions = informer(RESTORE_SESSIONS, () => this.listSessions(), MANAGED);
    this.repositories = informer(REPOSITORIES, () => this.listRepositories());
    await Promise.all([this.sessions.start(), this.repositories.start()]);
    await Promise.all([this.sessions.ready, this.repositories.ready]);
  }

  async stop(): Promise<void> {
    this.started = false;
    if (this.own) await Promise.all([this.sessions?.stop(), this.repositories?.stop()]);
  }

  /** From the watches when they are in sync; else by LIST. */
  async read(): Promise<LiveSnapshot> {
    const { sessions, repositories } = this;
    if (this.started && sessions?.synced && repositories?.synced) {
      return {
        sessions: sessions.list().filter(managed) as RestoreSession[],
        repositories: [...repositories.list()] as Repository[],
        generation: this.gen,
      };
    }
    const [s, r] = await Promise.all([this.listSessions(), this.listRepositories()]);
    return { sessions: s.items as RestoreSession[], repositories: r.items as Repository[], generation: undefined };
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
