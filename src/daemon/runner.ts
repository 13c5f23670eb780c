// `restorectl run` as a process: the metrics/health server, the webhook server, leader election,
// and the Daemon, wired so that only the replica holding the Lease acts.
//
// - The servers start first (probes answer from the start; a standby is ready).
// - The Daemon is built only once this replica may act, so the ledger it reads from the status
//   branch is the one in force then, not one read by a standby hours earlier.
// - Losing the Lease stops the Daemon and its controller at once and ends the runner with exit
//   code 1 (Kubernetes restarts the pod, which campaigns afresh). stop() (SIGTERM) lets the cycle
//   under way finish, releases the Lease and closes the servers.
import { performance } from 'node:perf_hooks';
import type { Daemon, DaemonObserver } from './daemon.ts';
import type { Source, SourceRevision } from '../source/types.ts';
import { Health } from './health.ts';
import { metricsHandler } from './health.ts';
import { startHttpServer } from './http-server.ts';
import type { ListenAddress, RunningServer } from './http-server.ts';
import type { LeaderElector } from './leader.ts';
import type { Logger } from '../common/log.ts';
import type { DaemonMetrics } from './metrics.ts';
import { DEFAULT_MAX_BODY_BYTES, webhookHandler } from './webhook.ts';
import type { FollowedRef } from './webhook.ts';
import { errorMessage } from '../common/errors.ts';

/** The longest wait between attempts to start acting. */
const START_RETRY_MAX_MS = 15_000;

export interface DaemonHooks {
  /** Pass to the Daemon: cycle metrics and readiness. */
  observer: DaemonObserver;
  /** Wraps the Source so its syncs are timed and a failing remote shows in /readyz and metrics. */
  observeSource(source: Source): Source;
}

export interface RunnerOptions {
  log: Logger;
  metrics: DaemonMetrics;
  metricsAddr?: ListenAddress;
  webhook?: { addr: ListenAddress; secret: string; follow: FollowedRef; maxBodyBytes?: number };
  /** Without one, this process acts from the start (a single replica). */
  elector?: LeaderElector;
  /** Builds the Daemon once this replica may act (reads the ledger then). */
  createDaemon(hooks: DaemonHooks): Promise<Daemon>;
  /** First wait before building the Daemon again after a failure, doubled up to 15 s (default 2 s). */
  startRetryMs?: number;
  /** How long stop() waits for the cycle under way (default 20 s; Kubernetes allows 30 s). */
  drainTimeoutMs?: number;
}

export interface RunnerExit {
  /** 0 after stop(); 1 when the Lease was lost. */
  code: number;
  reason: string;
}

export class DaemonRunner {
  readonly health = new Health();
  daemon: Daemon | undefined;
  metricsServer: RunningServer | undefined;
  webhookServer: RunningServer | undefined;
  /** Resolves when the runner has ended: stop() or a lost Lease. */
  readonly exited: Promise<RunnerExit>;
  private readonly opts: RunnerOptions;
  private resolveExit!: (e: RunnerExit) => void;
  private acting = false;
  private ending: Promise<void> | undefined;
  /** Cuts short the wait between attempts to start acting. */
  private wake: (() => void) | undefined;

  constructor(opts: RunnerOptions) {
    this.opts = opts;
    this.exited = new Promise((r) => (this.resolveExit = r));
  }

  private get log(): Logger {
    return this.opts.log;
  }

  async start(): Promise<void> {
    const { metrics } = this.opts;
    try {
      if (this.opts.metricsAddr) {
        this.metricsServer = await startHttpServer('--metrics-addr', this.opts.metricsAddr, metricsHandler(metrics, this.health), this.log);
        this.log.info(`metrics on ${this.metricsServer.url}/metrics; probes /healthz and /readyz`);
      }
      if (this.opts.webhook) {
        this.webhookServer = await startHttpServer('--webhook-addr', this.opts.webhook.addr, this.webhookHandler(), this.log);
        this.log.info(`push webhook on ${this.webhookServer.url} (GitHub, Gitea, GitLab)`);
      }
    } catch (e) {
      await this.closeServers();
      throw e;
    }
    const elector = this.opts.elector;
    if (!elector) {
      this.health.role = 'single';
      metrics.setLeader(true);
      await this.lead();
      return;
    }
    this.health.role = 'standby';
    metrics.setLeader(false);
    elector.start({
      onStartedLeading: () => void this.lead(),
      onStoppedLeading: (reason) => void this.end(1, `lost the leader Lease: ${reason}`, false),
      onCycleRequested: () => {
        if (this.acting) void this.daemon?.trigger();
      },
    });
  }

  /** A clean stop (SIGTERM): no new cycle, the one under way finishes, the Lease is released, the servers close. */
  stop(reason = 'stopping'): Promise<void> {
    return this.end(0, reason, true);
  }

  /**
   * Builds and starts the Daemon. Starting the controller can fail for a while (the API down): it
   * is retried with backoff (capped at 15 s), keeping the Lease, and /readyz says not ready
   * meanwhile. The ledger is read by the Daemon's cycles: a git outage does not keep the controller
   * from driving the sessions in the cluster, and nothing is created until the ledger is read.
   */
  private async lead(): Promise<void> {
    if (this.ending) return;
    if (this.opts.elector) this.health.role = 'leader';
    this.opts.metrics.setLeader(true);
    for (let attempt = 0; !this.ending; attempt++) {
      let daemon: Daemon | undefined;
      try {
        daemon = await this.opts.createDaemon(this.hooks());
        if (this.ending) return;
        this.daemon = daemon;
        this.acting = true;
        await daemon.start();
        this.health.startFailed(undefined);
        return;
      } catch (e) {
        this.acting = false;
        this.daemon = undefined;
        daemon?.stop();
        const waitMs = Math.min(START_RETRY_MAX_MS, (this.opts.startRetryMs ?? 2_000) * 2 ** attempt);
        this.health.startFailed(new Date());
        this.log.error(
          `cannot start acting (reading the status branch or starting the controller): ${errorMessage(e)}; retrying in ${Math.round(waitMs / 1000)}s`,
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  private end(code: number, reason: string, graceful: boolean): Promise<void> {
    this.ending ??= (async () => {
      this.acting = false;
      this.wake?.();
      const daemon = this.daemon;
      daemon?.stop();
      this.opts.metrics.setLeader(false);
      if (daemon && graceful) {
        const timeout = this.opts.drainTimeoutMs ?? 20_000;
        let timer: NodeJS.Timeout | undefined;
        const drained = await Promise.race([daemon.drain().then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeout)))]);
        clearTimeout(timer);
        if (!drained) this.log.warn(`the cycle under way did not finish within ${timeout / 1000}s; stopping anyway (the next leader resumes it)`);
      }
      if (graceful) await this.opts.elector?.release();
      else this.opts.elector?.stop();
      await this.closeServers();
      if (code === 0) this.log.info(`stopped: ${reason}`);
      else this.log.error(`exiting: ${reason}`);
      this.resolveExit({ code, reason });
    })();
    return this.ending;
  }

  private async closeServers(): Promise<void> {
    await Promise.all([this.metricsServer?.close(), this.webhookServer?.close()]);
  }

  private hooks(): DaemonHooks {
    const { metrics } = this.opts;
    const health = this.health;
    return {
      observer: {
        cycleDone: (report, seconds) => {
          metrics.cycleDone(report.ok, seconds);
          if (report.plan) {
            health.cyclePlanned();
            metrics.planned(report.plan);
            health.sourceChecked(report.plan.diagnostics);
          }
        },
        sessionsListed: (sessions) => metrics.sessionsListed(sessions),
      },
      observeSource: (source) => ({
        get current(): SourceRevision | undefined {
          return source.current;
        },
        async sync(): Promise<SourceRevision> {
          const started = performance.now();
          try {
            const rev = await source.sync();
            metrics.sourceSynced(true, (performance.now() - started) / 1000);
            health.sourceSynced(true, rev.commit);
            return rev;
          } catch (e) {
            metrics.sourceSynced(false, (performance.now() - started) / 1000);
            health.sourceSynced(false, undefined);
            throw e;
          }
        },
      }),
    };
  }

  private webhookHandler() {
    const { webhook, metrics, elector } = { ...this.opts, webhook: this.opts.webhook! };
    return webhookHandler({
      secret: webhook.secret,
      follow: webhook.follow,
      maxBodyBytes: webhook.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      onOutcome: (o, req) => {
        const provider = 'provider' in o ? o.provider : 'unknown';
        metrics.webhook(provider, o.outcome);
        const fields = { provider, status: o.status, ...('delivery' in o && o.delivery ? { delivery: o.delivery } : {}) };
        if (o.outcome === 'unauthorized')
          this.log.warn('webhook: refused a request whose signature or token did not verify', { ...fields, remote: req.socket.remoteAddress });
        else if (o.outcome === 'triggered' && o.provider === 'restorectl') this.log.info(`reconcile requested${o.by ? ` by ${o.by}` : ''}`, fields);
        else if (o.outcome === 'triggered') this.log.info(`webhook: push to ${o.ref}${o.after ? ` (${o.after.slice(0, 12)})` : ''}`, fields);
        else this.log.info(`webhook: ${'message' in o ? o.message : o.outcome}`, fields);
      },
      onPush: () => {
        if (this.acting && this.daemon) {
          void this.daemon.trigger();
        } else if (elector && !elector.isLeader && !this.ending) {
          elector.requestCycle().then(
            (asked) =>
              this.log.info(
                asked
                  ? 'webhook: standby; asked the leader for a cycle through the Lease'
                  : 'webhook: no replica leads yet; the next leader starts with a cycle',
              ),
            (e) => this.log.warn(`webhook: standby could not relay the push to the leader (it syncs at its next interval): ${errorMessage(e)}`),
          );
        } else if (!this.ending) {
          this.log.info('webhook: this replica is starting to act; its first cycle syncs the source anyway');
        }
      },
    });
  }
}
