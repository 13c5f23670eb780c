// The Controller (DESIGN §1): every RestoreSession in scope driven to a final phase by a keyed
// work queue. Watches (watches.ts) queue a session as soon as something it depends on changes;
// a periodic resync queues every session that still needs work, so nothing depends on an event
// arriving. Final sessions cost nothing until they are deleted.
import type * as k8s from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ResilientInformer } from '../kube/informer.ts';
import { isFinalPhase } from '../api/restoresession.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { errorMessage, isRestoreError } from '../common/errors.ts';
import { nullLogger } from '../common/log.ts';
import type { Logger } from '../common/log.ts';
import { DEFAULT_CLIENT_LIMITS, TokenBucket, limitedKubeConfig } from '../kube/client.ts';
import type { ClientLimits } from '../kube/client.ts';
import { ControllerCluster } from './cluster.ts';
import { WorkQueue } from './queue.ts';
import { readRecord, statusMatchesRecord, trustedPhase } from '../session/record.ts';
import { FINALIZER, reconcileSession } from './reconcile.ts';
import type { ReconcileConfig } from './reconcile.ts';
import { ControllerWatches } from './watches.ts';

export interface ControllerOptions extends ReconcileConfig {
  /**
   * How often every session that still needs work is queued again, whether or not an event came:
   * the safety net under the watches (default 5 min with watches, 30 s without).
   */
  resyncMs?: number;
  /**
   * Watch sessions, Repositories, target workloads, restore Jobs, their pods and claims, so a
   * change is reconciled at once (default true). Without watches, sessions are listed every resync.
   */
  watch?: boolean;
  /** Reconciles at once (default 4). */
  concurrency?: number;
  /** Only sessions of this namespace, and only lists and watches in it (default: the whole cluster). */
  namespace?: string;
  /**
   * The client-side rate limit on every request of the controller (reconciles, lists, watches),
   * default {@link DEFAULT_CLIENT_LIMITS}; qps 0 turns it off.
   */
  clientLimits?: ClientLimits;
}

/**
 * How soon a running session is looked at again when nothing wakes it, and how often all are:
 * rarely with watches (every change a session waits for is watched; a deadline brings its session
 * back on time), often without.
 */
const POLL_WITH_WATCHES_MS = 300_000;
const POLL_WITHOUT_WATCHES_MS = 2000;
const RESYNC_WITH_WATCHES_MS = 300_000;
const WAIT_WITH_WATCHES_MS = 300_000;
const RESYNC_WITHOUT_WATCHES_MS = 30_000;
/** The longest the daemon's apply holds the reconciles back (quietWhile). */
const QUIET_MAX_MS = 30_000;

export interface SharedWatchCaches {
  sessions: ResilientInformer<KubernetesObject>;
  repositories: ResilientInformer<KubernetesObject>;
  namespace: string | undefined;
}

export class Controller {
  readonly cluster: ControllerCluster;
  private readonly queue: WorkQueue;
  private readonly opts: ControllerOptions;
  private readonly kc: k8s.KubeConfig;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private watches: ControllerWatches | undefined;

  /** Reconciles started (a cache read costs no request, so the request count alone does not show them). */
  readonly stats = { reconciles: 0 };
  /** The rate limiter of the controller's requests (its counts: how many waited, and how long). */
  readonly limiter: TokenBucket;

  constructor(kubeConfig: k8s.KubeConfig, opts: ControllerOptions) {
    this.opts = opts;
    this.limiter = new TokenBucket(opts.clientLimits ?? DEFAULT_CLIENT_LIMITS);
    const kc = limitedKubeConfig(kubeConfig, this.limiter);
    this.kc = kc;
    const log = (this.log = opts.log ?? nullLogger);
    this.cluster = new ControllerCluster(kc, opts.namespace ? { namespace: opts.namespace } : {});
    const watching = opts.watch ?? true;
    const config: ReconcileConfig = {
      ...opts,
      log,
      pollMs: opts.pollMs ?? (watching ? POLL_WITH_WATCHES_MS : POLL_WITHOUT_WATCHES_MS),
      // What the watches see wakes its sessions: the wait is only the safety net then.
      ...(watching ? { watchedWaitMs: opts.watchedWaitMs ?? opts.waitMs ?? WAIT_WITH_WATCHES_MS } : {}),
    };
    this.queue = new WorkQueue(
      (key) => {
        const [namespace, name] = key.split('/') as [string, string];
        this.stats.reconciles++;
        return reconcileSession(this.cluster, config, namespace, name);
      },
      {
        concurrency: opts.concurrency ?? 4,
        onError: (key, e, attempt) => {
          const [namespace, name] = key.split('/') as [string, string];
          const code = isRestoreError(e) ? { code: e.code } : {};
          log.warn(`reconcile failed (attempt ${attempt}, retrying): ${errorMessage(e)}`, { namespace, name, attempt, error: errorMessage(e), ...code });
        },
      },
    );
  }

  /** Starts the watches (when on), queues every session that needs work, and resyncs every interval. */
  async start(): Promise<void> {
    if (this.opts.watch ?? true) {
      this.watches = new ControllerWatches({
        kc: this.kc,
        cluster: this.cluster,
        ...(this.opts.namespace ? { namespace: this.opts.namespace } : {}),
        enqueue: (ns, name) => this.enqueue(ns, name),
        needsWork,
        log: this.log,
      });
      await this.watches.start();
      this.cluster.useCache(this.watches);
    }
    await this.resync();
    const loop = () => {
      this.timer = setTimeout(
        async () => {
          try {
            await this.resync();
          } catch (e) {
            this.log.warn(`resync failed (will retry): ${errorMessage(e)}`, { error: errorMessage(e) });
          }
          if (!this.stopped) loop();
        },
        this.opts.resyncMs ?? ((this.opts.watch ?? true) ? RESYNC_WITH_WATCHES_MS : RESYNC_WITHOUT_WATCHES_MS),
      );
    };
    loop();
  }

  /** Queues a session now (a watch event, the daemon after creating it). Sessions outside the namespace are not ours. */
  enqueue(namespace: string, name: string): void {
    if (this.opts.namespace && namespace !== this.opts.namespace) return;
    this.queue.add(`${namespace}/${name}`);
  }

  /** Queues every session that needs work: from the watch's cache when it can be trusted, else from a LIST. */
  async resync(): Promise<void> {
    const sessions = this.watches?.cachedSessions() ?? (await this.cluster.listSessions());
    for (const s of sessions) if (needsWork(s)) this.enqueue(s.metadata.namespace!, s.metadata.name);
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  /**
   * Runs `fn` with no reconcile starting meanwhile (those under way finish; sessions queued
   * meanwhile are reconciled right after): the daemon's creates have the API server to themselves,
   * and the rate limit's burst is left for the new sessions once they all exist. Never longer
   * than `maxMs` (an API server that hangs must not stop the controller).
   */
  async quietWhile<T>(fn: () => Promise<T>, maxMs = QUIET_MAX_MS): Promise<T> {
    const release = this.queue.hold();
    const timer = setTimeout(release, maxMs).unref();
    try {
      return await fn();
    } finally {
      clearTimeout(timer);
      release();
    }
  }

  /** The session and Repository caches, while watching (the daemon's live objects read them instead of watching again). */
  sharedInformers(): SharedWatchCaches | undefined {
    const w = this.watches;
    return w ? { sessions: w.sessions, repositories: w.repositories, namespace: this.opts.namespace } : undefined;
  }

  /** The informers' counts (how many, restarts, LISTs), when watching. */
  watchStats(): { informers: number; restarts: number; lists: number } | undefined {
    return this.watches?.stats;
  }

  /** Stops watching and resyncing; resolves once the reconciles under way have ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const watches = this.watches;
    this.watches = undefined;
    this.cluster.useCache(undefined);
    await Promise.all([this.queue.stop(), watches?.stop()]);
  }
}

/** Final sessions need nothing until they are deleted, unless their status was edited by hand (then it is corrected from their record). */
export function needsWork(s: RestoreSession): boolean {
  return (
    Boolean(s.metadata.deletionTimestamp) ||
    !isFinalPhase(trustedPhase(s)) ||
    !readRecord(s).final ||
    !statusMatchesRecord(s) ||
    !s.metadata.finalizers?.includes(FINALIZER)
  );
}
