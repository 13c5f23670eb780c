// The Controller (DESIGN §1): every RestoreSession in the cluster driven to a final phase by a
// keyed work queue. Sessions are found by a periodic list (resync); watch events, when wired,
// only make it sooner. Final sessions cost nothing until they are deleted.
import * as k8s from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import { ResilientInformer } from '../kube/informer.ts';
import { RESTORE_SESSIONS } from '../kube/resources.ts';
import { SESSION_LABEL } from './claims.ts';
import { isFinalPhase } from '../api/restoresession.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { ControllerCluster } from './cluster.ts';
import { WorkQueue } from './queue.ts';
import { FINALIZER, reconcileSession } from './reconcile.ts';
import type { ReconcileConfig } from './reconcile.ts';

export interface ControllerOptions extends ReconcileConfig {
  /** How often every session is listed again (default 30 s). */
  resyncMs?: number;
  /** Watch sessions and restore Jobs, so changes are reconciled at once (default true). */
  watch?: boolean;
  /** Reconciles at once (default 4). */
  concurrency?: number;
  /** Only sessions of this namespace, and only lists and watches in it (default: the whole cluster). */
  namespace?: string;
}

export class Controller {
  readonly cluster: ControllerCluster;
  private readonly queue: WorkQueue;
  private readonly opts: ControllerOptions;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly informers: ResilientInformer<KubernetesObject>[] = [];
  private readonly kc: k8s.KubeConfig;

  constructor(kc: k8s.KubeConfig, opts: ControllerOptions) {
    this.opts = opts;
    this.kc = kc;
    this.cluster = new ControllerCluster(kc);
    this.queue = new WorkQueue(
      (key) => {
        const [namespace, name] = key.split('/') as [string, string];
        return reconcileSession(this.cluster, opts, namespace, name);
      },
      {
        concurrency: opts.concurrency ?? 4,
        onError: (key, e, attempt) => opts.log?.(`${key}: reconcile failed (attempt ${attempt}, retrying): ${(e as Error).message}`),
      },
    );
  }

  /** Lists sessions now and every resync interval; resolves after the first list. */
  async start(): Promise<void> {
    if (this.opts.watch ?? true) await this.startWatches();
    await this.resync();
    const loop = () => {
      this.timer = setTimeout(async () => {
        try {
          await this.resync();
        } catch (e) {
          this.opts.log?.(`resync failed (will retry): ${(e as Error).message}`);
        }
        if (!this.stopped) loop();
      }, this.opts.resyncMs ?? 30_000);
    };
    loop();
  }

  /** Queues a session now (a watch event, the daemon after creating it). */
  enqueue(namespace: string, name: string): void {
    this.queue.add(`${namespace}/${name}`);
  }

  async resync(): Promise<void> {
    for (const s of await this.cluster.listSessions()) if (needsWork(s)) this.enqueue(s.metadata.namespace!, s.metadata.name);
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.queue.stop();
    for (const i of this.informers.splice(0)) void i.stop();
  }

  /** Session changes (an agent's stat, a deletion) and restore Job changes queue the session at once. */
  private async startWatches(): Promise<void> {
    const custom = this.kc.makeApiClient(k8s.CustomObjectsApi);
    const batch = this.kc.makeApiClient(k8s.BatchV1Api);
    const log = (m: string) => this.opts.log?.(`watch: ${m}`);
    const sessions = new ResilientInformer<KubernetesObject>({
      kc: this.kc,
      path: `/apis/${RESTORE_SESSIONS.group}/${RESTORE_SESSIONS.version}/${RESTORE_SESSIONS.plural}`,
      list: async () => (await custom.listClusterCustomObject({ ...RESTORE_SESSIONS })) as KubernetesListObject<KubernetesObject>,
      log,
    });
    const onSession = (o: KubernetesObject) => {
      if (needsWork(o as RestoreSession)) this.enqueue(o.metadata!.namespace!, o.metadata!.name!);
    };
    sessions.on('add', onSession).on('update', onSession);
    const jobs = new ResilientInformer<KubernetesObject>({
      kc: this.kc,
      path: '/apis/batch/v1/jobs',
      labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
      list: () => batch.listJobForAllNamespaces({ labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}` }) as Promise<KubernetesListObject<KubernetesObject>>,
      log,
    });
    const onJob = (o: KubernetesObject) => {
      const session = o.metadata?.labels?.[SESSION_LABEL];
      if (session) this.enqueue(o.metadata!.namespace!, session);
    };
    jobs.on('add', onJob).on('update', onJob).on('delete', onJob);
    this.informers.push(sessions, jobs);
    await Promise.all(this.informers.map((i) => i.start()));
  }
}

/** Final sessions need nothing until they are deleted. */
export function needsWork(s: RestoreSession): boolean {
  return Boolean(s.metadata.deletionTimestamp) || !isFinalPhase(s.status?.phase) || !s.metadata.finalizers?.includes(FINALIZER);
}
