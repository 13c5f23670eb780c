// The daemon's view of the cluster: the managed RestoreSessions and every Repository, kept by
// watches so a cycle that changes nothing costs no request. `generation` moves on every event, so
// a cycle can tell that nothing it plans from has changed. While a watch is failing (or before
// start) `read()` lists instead: a plan is never made from a cache known to be stale.
import * as k8s from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import { ResilientInformer } from '../kube/informer.ts';
import { REPOSITORIES, RESTORE_SESSIONS } from '../kube/resources.ts';

export interface LiveSnapshot {
  sessions: RestoreSession[];
  repositories: Repository[];
  /** Same value, same contents; undefined when read by a LIST (no claim of sameness). */
  generation: number | undefined;
}

type CustomResource = { group: string; version: string; plural: string };

const MANAGED = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;

export class LiveObjects {
  private readonly custom: k8s.CustomObjectsApi;
  private readonly informers: { sessions: ResilientInformer<KubernetesObject>; repositories: ResilientInformer<KubernetesObject> };
  private gen = 0;
  private started = false;

  private readonly kc: k8s.KubeConfig;
  private readonly opts: { namespace?: string; log?: (message: string) => void };

  constructor(kc: k8s.KubeConfig, opts: { namespace?: string; log?: (message: string) => void } = {}) {
    this.kc = kc;
    this.opts = opts;
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const informer = (r: CustomResource, labelSelector?: string) => {
      const ns = this.opts.namespace;
      const inf = new ResilientInformer<KubernetesObject>({
        kc: this.kc,
        path: `/apis/${r.group}/${r.version}${ns ? `/namespaces/${ns}` : ''}/${r.plural}`,
        ...(labelSelector ? { labelSelector } : {}),
        list: () => this.listRaw(r, labelSelector) as Promise<KubernetesListObject<KubernetesObject>>,
        ...(this.opts.log ? { log: this.opts.log } : {}),
      });
      const bump = () => void this.gen++;
      return inf.on('add', bump).on('update', bump).on('delete', bump);
    };
    this.informers = { sessions: informer(RESTORE_SESSIONS, MANAGED), repositories: informer(REPOSITORIES) };
  }

  async start(): Promise<void> {
    this.started = true;
    await Promise.all([this.informers.sessions.start(), this.informers.repositories.start()]);
    await Promise.all([this.informers.sessions.ready, this.informers.repositories.ready]);
  }

  async stop(): Promise<void> {
    this.started = false;
    await Promise.all([this.informers.sessions.stop(), this.informers.repositories.stop()]);
  }

  /** From the watches when they are in sync; else by LIST. */
  async read(): Promise<LiveSnapshot> {
    const i = this.informers;
    if (this.started && i.sessions.synced && i.repositories.synced) {
      return { sessions: [...i.sessions.list()] as RestoreSession[], repositories: [...i.repositories.list()] as Repository[], generation: this.gen };
    }
    const [s, r] = await Promise.all([this.listRaw(RESTORE_SESSIONS, MANAGED), this.listRaw(REPOSITORIES)]);
    return { sessions: s.items as RestoreSession[], repositories: r.items as Repository[], generation: undefined };
  }

  private listRaw(r: CustomResource, labelSelector?: string): Promise<{ items: unknown[] }> {
    return (r === RESTORE_SESSIONS ? this.listSessions(labelSelector) : this.listRepositories()) as Promise<{ items: unknown[] }>;
  }

  private listSessions(labelSelector?: string): Promise<object> {
    const namespace = this.opts.namespace;
    return namespace
      ? this.custom.listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace, ...(labelSelector ? { labelSelector } : {}) })
      : this.custom.listClusterCustomObject({ ...RESTORE_SESSIONS, ...(labelSelector ? { labelSelector } : {}) });
  }

  private listRepositories(): Promise<object> {
    const namespace = this.opts.namespace;
    return namespace ? this.custom.listNamespacedCustomObject({ ...REPOSITORIES, namespace }) : this.custom.listClusterCustomObject({ ...REPOSITORIES });
  }
}
