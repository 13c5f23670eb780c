// The daemon's Prometheus metrics (prom-client), in a registry of its own: cycles, sessions by
// phase, source syncs, Kubernetes API errors, leadership and webhook deliveries, plus the
// process and Node.js runtime metrics every Node service exposes.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { RestoreSession } from '../api/restoresession.ts';
import type { ActionType, Plan } from '../plan/types.ts';

const PREFIX = 'restore_controller_';

/** Every phase the gauge always reports (0 when none), so a dashboard sees a phase drop to zero. */
const KNOWN_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown', 'Invalid'];
const ACTIONS: readonly ActionType[] = ['create', 'update', 'rerun', 'prune', 'noop', 'blocked'];

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly cycleDuration: Histogram;
  private readonly cycles: Counter;
  private readonly sessions: Gauge;
  private readonly fetchDuration: Histogram;
  private readonly sourceUp: Gauge;
  private readonly lastSync: Gauge;
  private readonly apiErrors: Counter;
  private readonly leader: Gauge;
  private readonly webhooks: Counter;
  private readonly notifications: Counter;
  private readonly decisions: Gauge;
  private readonly diagnostics: Gauge;
  private readonly phasesSeen = new Set(KNOWN_PHASES);

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
    this.cycleDuration = new Histogram({
      name: `${PREFIX}cycle_duration_seconds`,
      help: 'Duration of a reconcile cycle: source sync, plan, ledger push, apply, status push.',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.cycles = new Counter({ name: `${PREFIX}cycles_total`, help: 'Reconcile cycles by result (success or failure).', labelNames: ['result'], registers });
    this.sessions = new Gauge({
      name: `${PREFIX}sessions`,
      help: 'Managed RestoreSessions in the cluster by phase, as the last cycle listed them.',
      labelNames: ['phase'],
      registers,
    });
    this.fetchDuration = new Histogram({
      name: `${PREFIX}git_fetch_duration_seconds`,
      help: 'Duration of a source sync (fetch of the followed branch and read of the changed manifests), by result.',
      labelNames: ['result'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.sourceUp = new Gauge({
      name: `${PREFIX}source_up`,
      help: '1 when the last source sync succeeded, 0 when the remote is failing (the last good revision stays in force).',
      registers,
    });
    this.lastSync = new Gauge({
      name: `${PREFIX}last_successful_sync_timestamp_seconds`,
      help: 'Unix time of the last cycle that succeeded end to end.',
      registers,
    });
    this.apiErrors = new Counter({
      name: `${PREFIX}api_errors_total`,
      help: 'Kubernetes API requests that failed, by HTTP status code ("network" when no answer came). 404 and 409 are part of normal operation.',
      labelNames: ['code'],
      registers,
    });
    this.leader = new Gauge({
      name: `${PREFIX}leader`,
      help: '1 while this replica holds the leader Lease (or runs without leader election), 0 on a standby.',
      registers,
    });
    this.webhooks = new Counter({
      name: `${PREFIX}webhook_requests_total`,
      help: 'Push webhook requests by provider and outcome.',
      labelNames: ['provider', 'outcome'],
      registers,
    });
    this.notifications = new Counter({
      name: `${PREFIX}notifications_total`,
      help: 'Notifications sent when a restore is final or blocked, by sink (webhook, commit-status) and result (sent, failed: given up after retries).',
      labelNames: ['sink', 'result'],
      registers,
    });
    this.decisions = new Gauge({
      name: `${PREFIX}decisions`,
      help: 'What the last plan decided for the declared objects, by action (blocked: not applied, the status branch says why).',
      labelNames: ['action', 'kind'],
      registers,
    });
    this.diagnostics = new Gauge({
      name: `${PREFIX}source_diagnostics`,
      help: 'Problems the last plan found in the source, by severity (a manifest with an error is not applied; STATUS.md lists them).',
      labelNames: ['severity'],
      registers,
    });
    for (const result of ['success', 'failure']) this.cycles.inc({ result }, 0);
    for (const action of ACTIONS) for (const kind of ['RestoreSession', 'Repository']) this.decisions.set({ action, kind }, 0);
    for (const severity of ['error', 'warning']) this.diagnostics.set({ severity }, 0);
    for (const phase of KNOWN_PHASES) this.sessions.set({ phase }, 0);
  }

  cycleDone(ok: boolean, seconds: number, at: Date = new Date()): void {
    this.cycleDuration.observe(seconds);
    this.cycles.inc({ result: ok ? 'success' : 'failure' });
    if (ok) this.lastSync.set(at.getTime() / 1000);
  }

  sourceSynced(ok: boolean, seconds: number): void {
    this.fetchDuration.observe({ result: ok ? 'success' : 'failure' }, seconds);
    this.sourceUp.set(ok ? 1 : 0);
  }

  /** The managed sessions a cycle listed; phases no longer present drop to 0. */
  sessionsListed(sessions: RestoreSession[]): void {
    const counts = new Map<string, number>();
    for (const s of sessions) {
      const phase = s.status?.phase ?? 'Pending';
      counts.set(phase, (counts.get(phase) ?? 0) + 1);
      this.phasesSeen.add(phase);
    }
    for (const phase of this.phasesSeen) this.sessions.set({ phase }, counts.get(phase) ?? 0);
  }

  /** A cycle's plan: its actions by decision, its diagnostics by severity. */
  planned(plan: Pick<Plan, 'actions' | 'diagnostics'>): void {
    for (const action of ACTIONS) {
      for (const kind of ['RestoreSession', 'Repository'] as const)
        this.decisions.set({ action, kind }, plan.actions.filter((a) => a.action === action && a.kind === kind).length);
    }
    for (const severity of ['error', 'warning'] as const) this.diagnostics.set({ severity }, plan.diagnostics.filter((d) => d.severity === severity).length);
  }

  apiError(code: number | 'network'): void {
    this.apiErrors.inc({ code: String(code) });
  }

  setLeader(leading: boolean): void {
    this.leader.set(leading ? 1 : 0);
  }

  notification(sink: string, sent: boolean): void {
    this.notifications.inc({ sink, result: sent ? 'sent' : 'failed' });
  }

  webhook(provider: string, outcome: string): void {
    this.webhooks.inc({ provider, outcome });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
