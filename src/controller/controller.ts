// The Controller (DESIGN §1): every RestoreSession in the cluster driven to a final phase by a
// keyed work queue. Sessions are found by a periodic list (resync); watch events, when wired,
// only make it sooner. Final sessions cost nothing until they are deleted.
import type * as k8s from '@kubernetes/client-node';
import { isFinalPhase } from '../api/restoresession.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { ControllerCluster } from './cluster.ts';
import { WorkQueue } from './queue.ts';
import { FINALIZER, reconcileSession } from './reconcile.ts';
import type { ReconcileConfig } from './reconcile.ts';

export interface ControllerOptions extends ReconcileConfig {
  /** How often every session is listed again (default 30 s). */
  resyncMs?: number;
  /** Reconciles at once (default 4). */
  concurrency?: number;
}

export class Controller {
  readonly cluster: ControllerCluster;
  private readonly queue: WorkQueue;
  private readonly opts: ControllerOptions;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(kc: k8s.KubeConfig, opts: ControllerOptions) {
    this.opts = opts;
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
  }
}

/** Final sessions need nothing until they are deleted. */
export function needsWork(s: RestoreSession): boolean {
  return Boolean(s.metadata.deletionTimestamp) || !isFinalPhase(s.status?.phase) || !s.metadata.finalizers?.includes(FINALIZER);
}
