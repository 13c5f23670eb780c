// The daemon's view of the cluster: the managed RestoreSessions and every Repository, kept by
// watches so a cycle that changes nothing costs no request. `generation` moves on every event, so
// a cycle can tell that nothing it plans from has changed. While a watch is failing (or before
// start) `read()` lists instead: a plan is never made from a cache known to be stale.
import * as k8s from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import type { Logger } from '../common/log.ts';
import { ResilientInformer } from '../kube/informer.ts';
import { REPOSITORIES, RESTORE_SESSIONS, collectionPath } from '../kube/resources.ts';

export interface LiveSnapshot {
  sessions: RestoreSession[];
  repositories: Repository[];
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
  private gen = 0;
  private started = false;

  constructor(kc: k8s.KubeConfig, opts: { namespace?: string; log?: Logger } = {}) {
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    this.namespace = opts.namespace;
    const informer = (r: { group: string; version: string; plural: string }, list: () => Promise<List>, labelSelector?: string) => {
      const bump = () => void this.gen++;
      return new ResilientInformer<KubernetesObject>({
        kc,
        path: collectionPath(`${r.group}/${r.version}`, r.plural, opts.namespace),
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
  }

  async start(): Promise<void> {
    this.started = true;
    await Promise.all([this.sessions.start(), this.repositories.start()]);
    await Promise.all([this.sessions.ready, this.repositories.ready]);
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([this.sessions.stop(), this.repositories.stop()]);
  }

  /** From the watches when they are in sync; else by LIST. */
  async read(): Promise<LiveSnapshot> {
    if (this.started && this.sessions.synced && this.repositories.synced) {
      return { sessions: [...this.sessions.list()] as RestoreSession[], repositories: [...this.repositories.list()] as Repository[], generation: this.gen };
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
