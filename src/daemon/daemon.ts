// The daemon (DESIGN §1): one process holding Source, Planner, Applier, Controller and
// StatusWriter, running a cycle every interval. A cycle: sync the source, plan against the
// cluster and the ledger, push the ledger's new `Accepted` entries, apply, follow the sessions,
// push their status. Nothing is created before its ledger entry is pushed.
import * as k8s from '@kubernetes/client-node';
import type { RestoreSession } from '../api/restoresession.ts';
import { CONTENT_ID_ANNOTATION, SOURCE_ANNOTATION } from '../api/meta.ts';
import { Applier } from '../apply/applier.ts';
import type { AppliedAction } from '../apply/applier.ts';
import { Controller } from '../controller/controller.ts';
import type { ControllerOptions } from '../controller/controller.ts';
import { errorMessage, nullLogger } from '../common/index.ts';
import type { Logger } from '../common/index.ts';
import { ClusterState, loadObjectsYielding, ValidationCache } from '../manifests/index.ts';
import type { DesiredSet } from '../manifests/desired.ts';
import { PlanCache, planRestores } from '../plan/plan.ts';
import { SnapshotsUnavailable, pinSnapshots } from '../plan/pin-snapshots.ts';
import { ResticSnapshotSource } from '../plan/restic-snapshots.ts';
import { apiErrorInfo } from '../kube/api-error.ts';
import { pooledKubeConfig } from '../kube/client.ts';
import { contentId } from '../plan/content-id.ts';
import type { Plan } from '../plan/types.ts';
import type { Source, SourceRevision } from '../source/types.ts';
import { revisionFiles, revisionProblems } from '../source/types.ts';
import type { StatusWriter } from '../status/writer.ts';
import type { Ledger } from '../status/ledger.ts';
import type { Execution, ManagedSession, StatusSnapshot } from '../status/types.ts';
import { attentionOf } from '../status/index.ts';
import type { Suspension } from '../status/types.ts';
import { withTrustedStatus } from '../session/record.ts';
import { actionText, appliedOutcome, cycleInputs, nextCycleDelayMs, planErrorText, sourceMoved, suspendPlan, unchanged } from './cycle.ts';
import { failpoint } from '../common/failpoints.ts';
import { LiveObjects } from './live-objects.ts';
import { executionsFromLedger, followCluster, ledgerView, recordPins, recordPlan, toPin, withPinAnnotations } from './executions.ts';
import type { Executions } from './executions.ts';
import { validateLoaded } from './namespace.ts';
import { announce, newlyFinal, phasesOf } from '../notify/events.ts';
import type { Notification } from '../notify/events.ts';

export interface DaemonOptions {
  source: Source;
  kubeConfig: k8s.KubeConfig;
  cluster: string;
  controller: ControllerOptions;
  /** Writes the status branch; without it the ledger lives in memory only (local development). */
  statusWriter?: StatusWriter;
  /** The status branch as read at start-up. */
  ledger?: Ledger;
  /**
   * Reads the status branch (instead of `ledger`): the first cycles call it until it succeeds. Until
   * then the controller drives the sessions already in the cluster, and nothing new is created or
   * pruned (a git outage at start-up stops no restore under way).
   */
  loadLedger?: () => Promise<Ledger>;
  allowEmpty?: boolean;
  /**
   * Manage RestoreSessions in this namespace only (default: every namespace): lists and watches
   * there, objects that name no namespace go there, and manifests for other namespaces are refused
   * (error diagnostics, never applied).
   */
  namespace?: string;
  intervalMs?: number;
  /** The daemon's lines (default: none); its source, controller and status writer log on their own. */
  log?: Logger;
  now?: () => Date;
  /** Told about every cycle and every read of the live objects (metrics, readiness). */
  observer?: DaemonObserver;
  /**
   * Pin each restore's snapshots when it is accepted (issue 15, what was reviewed is what runs):
   * `latest` resolved once, recorded in the ledger before the RestoreSession exists and handed to
   * the agents as its `restore.gitops/snapshots` annotation. Where the daemon cannot read the
   * repository (a local backend whose hostPath is not on its machine, an unreachable bucket) the
   * ledger says why and the agents pin before they restore. Credentials come from the
   * Repository's storage Secret in the cluster. Off unless set (`restorectl run` sets it).
   */
  pinSnapshots?: { timeoutMs?: number; restic?: string };
  /** Told, once the status branch records it, when a restore reaches a final phase or is blocked. */
  notifier?: NotificationSink;
}

export interface NotificationSink {
  notify(notifications: Notification[]): void;
  /** Resolves once what was queued has been sent (or given up). */
  flush(): Promise<void>;
}

export interface DaemonObserver {
  /** After every cycle, also one that failed: its report and how long it took. */
  cycleDone?(report: CycleReport, seconds: number): void;
  /** The managed RestoreSessions a cycle read (the last read of a cycle is its end state). */
  sessionsListed?(sessions: RestoreSession[]): void;
  /** A cycle step starts or ends (so far: `validate`). */
  step?(step: keyof CycleTimings, state: 'start' | 'end'): void;
}

export interface CycleReport {
  ok: boolean;
  commit: string | null;
  plan?: Plan;
  applied: AppliedAction[];
  statusCommit: string | null;
  error?: string;
  /** Nothing changed since the last clean cycle (same source, same live objects, same ledger): nothing was planned. */
  unchanged?: boolean;
  /** The git remote could not be reached (the source or the status branch): the next cycle comes sooner than the interval. */
  unreachable?: boolean;
  /** Milliseconds spent in each step (for metrics, debug logs and the benchmark). */
  timings: CycleTimings;
}

export type CycleTimings = Partial<Record<'sync' | 'list' | 'validate' | 'plan' | 'pin' | 'ledger' | 'apply' | 'status', number>>;

export class Daemon {
  readonly controller: Controller;
  private readonly opts: DaemonOptions;
  private readonly log: Logger;
  private readonly applier: Applier;
  private readonly live: LiveObjects;
  private readonly core: k8s.CoreV1Api;
  /** What the last clean cycle planned from; a cycle with the same inputs has nothing to do. */
  private lastInputs: string | undefined;
  private lastPlan: Plan | undefined;
  private sourceGeneration = 0;
  private lastSourceCommit: string | null | undefined;
  /** Moves whenever the executions change. */
  private executionsVersion = 0;
  private executions: Executions = new Map();
  private lastGood: SourceRevision | undefined;
  private ledgerDirty = false;
  /** Whether the executions come from the status branch yet (loadLedger). */
  private ledgerRead: boolean;
  /** Cycles in a row that could not reach the git remote. */
  private outages = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CycleReport> | undefined;
  private pending: Promise<CycleReport> | undefined;
  private stopped = false;
  /** Aborted by stop(): a validation under way ends at its next turn. */
  private readonly stopping = new AbortController();
  /** What was last logged about each session needing attention (`ns/name` → text): logged once per change. */
  private readonly attentionLogged = new Map<string, string>();
  /** The source's error diagnostics last logged: each is logged when it appears, not every cycle. */
  private errorsLogged = new Set<string>();
  /** Each execution's phase when the last notifications were sent: what finished since is announced next. */
  private announcedPhases: Map<string, Execution['phase']>;
  /** Blocked restores announced (`ns/name` → reason): a block is announced again only when its reason changes. */
  private announcedBlocked = new Map<string, string>();
  /** The cluster's suspension record as last read from the status branch (`restorectl suspend`). */
  private suspension: Suspension | undefined;
  /** Validation and planning kept from cycle to cycle: a cycle does again only what its changes touch (issue 16). */
  private readonly validation = new ValidationCache();
  private readonly planning = new PlanCache();

  constructor(opts: DaemonOptions) {
    this.opts = opts;
    this.log = opts.log ?? nullLogger;
    // Keep-alive connections for the daemon's own requests (the Applier's creates above all): with
    // client-node's agent per request, each create against a real API server was a TLS handshake,
    // and the sockets and TLS state of thousands of them stayed in memory until a full GC.
    const kc = pooledKubeConfig(opts.kubeConfig);
    this.applier = new Applier(kc);
    this.live = new LiveObjects(kc, { ...(opts.namespace ? { namespace: opts.namespace } : {}), log: this.log });
    this.controller = new Controller(opts.kubeConfig, opts.controller);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    if (opts.ledger) this.executions = executionsFromLedger(opts.ledger, opts.cluster);
    // What the status branch already recorded final was announced by whoever recorded it.
    this.announcedPhases = phasesOf(this.executions.values());
    this.ledgerRead = !opts.loadLedger || !!opts.ledger;
  }

  /** Starts the watches and the controller, without cycles: `cycle()` and `trigger()` then run from caches. */
  async watch(): Promise<void> {
    // The controller first: the live objects read its session and Repository caches (one copy of each session).
    await this.controller.start();
    await this.live.start(this.controller.sharedInformers());
  }

  /** Cycles every interval (jittered) until stop(); the controller runs alongside. */
  async start(): Promise<void> {
    await this.watch();
    const loop = (report: CycleReport | undefined) => {
      if (this.stopped) return;
      this.outages = report?.unreachable ? this.outages + 1 : 0;
      const delay = nextCycleDelayMs(this.opts.intervalMs ?? 60_000, this.outages);
      this.timer = setTimeout(() => void this.trigger().then(loop, () => loop(undefined)), delay * (0.9 + Math.random() * 0.2));
    };
    loop(await this.trigger());
  }

  /**
   * Runs a cycle now (a webhook). A trigger during a cycle gets the next one, which starts when the
   * current one ends (the current one may have read the source before the push): triggers that
   * arrive meanwhile share it.
   */
  trigger(): Promise<CycleReport> {
    if (!this.running) return this.launch();
    this.pending ??= this.running.then((report: CycleReport) => {
      this.pending = undefined;
      return this.stopped ? report : this.launch();
    });
    return this.pending;
  }

  private launch(): Promise<CycleReport> {
    this.running = this.cycle().finally(() => (this.running = undefined));
    return this.running;
  }

  stop(): void {
    this.stopped = true;
    this.stopping.abort(new Error('the daemon is stopping'));
    if (this.timer) clearTimeout(this.timer);
    // Stopping is best effort: a watch that fails to close must not bring the process down.
    const quiet = (e: unknown) => this.log.warn('stopping', { error: errorMessage(e) });
    this.controller.stop().catch(quiet);
    this.live.stop().catch(quiet);
  }

  /** Resolves once the cycle under way (and one queued behind it), if any, has finished: a clean shutdown after stop(). */
  async drain(): Promise<void> {
    await this.running?.catch(() => undefined);
    await this.pending?.catch(() => undefined);
    await this.opts.notifier?.flush();
  }

  /** One cycle. Never throws: a failure (the API down, a bug) is the report's error, and the next cycle tries again. */
  async cycle(): Promise<CycleReport> {
    const started = performance.now();
    let report: CycleReport;
    try {
      report = await this.cycleSteps();
    } catch (e) {
      const error = errorMessage(e);
      this.log.error('cycle failed; the next one tries again', { error });
      report = { ok: false, commit: this.lastGood?.commit ?? null, applied: [], statusCommit: null, error, timings: {} };
    }
    const seconds = (performance.now() - started) / 1000;
    this.log.debug('cycle timings', {
      ok: report.ok,
      unchanged: report.unchanged ?? false,
      seconds: Math.round(seconds * 1000) / 1000,
      timings: report.timings,
    });
    this.opts.observer?.cycleDone?.(report, seconds);
    return report;
  }

  /**
   * The steps of one cycle, in order: sync, list, (nothing changed? done), validate, plan, ledger,
   * apply, status. A step that fails the cycle records why in the report; only a failed ledger
   * push stops it before anything is applied.
   */
  private async cycleSteps(): Promise<CycleReport> {
    const now = (this.opts.now ?? (() => new Date()))();
    const report: CycleReport = { ok: true, commit: null, applied: [], statusCommit: null, timings: {} };
    const lap = lapTimer(report.timings);
    const rev = await this.syncSource(report);
    if (!rev) return report;
    lap('sync');
    if (!(await this.readLedger(report))) return report;
    await this.readSuspension();
    const live = await this.readLive();
    this.opts.observer?.sessionsListed?.(live.sessions);
    lap('list');
    const inputs = cycleInputs(this.sourceGeneration, live.generation, this.executionsVersion, this.suspension);
    if (unchanged(inputs, { lastInputs: this.lastInputs, ledgerDirty: this.ledgerDirty, hasLastPlan: !!this.lastPlan }))
      return this.unchangedReport(report, this.lastPlan!);
    let clean = report.ok;
    const cluster = new ClusterState([...live.sessions, ...live.repositories, ...live.catalog], { completeKinds: live.completeKinds });
    const desired = await this.validate(rev, cluster);
    lap('validate');
    const plan = this.plan(report, rev, desired, cluster, now);
    lap('plan');
    await this.pin(desired, cluster, plan);
    lap('pin');
    if (!(await this.pushLedger(report, rev, desired, plan, live.sessions))) return report;
    lap('ledger');
    clean = (await this.apply(report, rev, desired, plan)) && clean;
    lap('apply');
    clean = (await this.writeStatus(report, rev, desired, plan, live.sessions, now)) && clean;
    lap('status');
    // Inputs are taken before this cycle's own changes: those move the live generation or the
    // executions version, so the next cycle plans again and confirms there is nothing left.
    this.lastInputs = clean ? inputs : undefined;
    this.lastPlan = plan;
    return report;
  }

  /** Syncs the source; when it fails, the last good revision stays in force (none yet: the cycle ends). */
  private async syncSource(report: CycleReport): Promise<SourceRevision | undefined> {
    let rev: SourceRevision;
    try {
      rev = await this.opts.source.sync();
      this.lastGood = rev;
    } catch (e) {
      report.ok = false;
      report.unreachable = true;
      report.error = `source: ${errorMessage(e)}`;
      this.log.warn('cannot sync the source; the last good revision stays in force', { error: errorMessage(e) });
      if (!this.lastGood) return undefined;
      rev = this.lastGood;
    }
    report.commit = rev.commit;
    if (sourceMoved(rev, this.lastSourceCommit)) this.sourceGeneration++;
    this.lastSourceCommit = rev.commit;
    return rev;
  }

  /**
   * Whether `restorectl suspend` holds this cluster, from the status branch; logged once per change.
   * A branch that cannot be read leaves the last record in force (nothing is pushed then anyway).
   */
  private async readSuspension(): Promise<void> {
    const writer = this.opts.statusWriter;
    if (!writer) return;
    let s: Suspension | undefined;
    try {
      s = await writer.readSuspension(this.opts.cluster);
    } catch (e) {
      this.log.warn('cannot read the suspension record from the status branch; the last one read stays in force', { error: errorMessage(e) });
      return;
    }
    const was = this.suspension?.suspended ? this.suspension.at : undefined;
    this.suspension = s;
    if (s?.suspended && was !== s.at)
      this.log.warn(
        `suspended by ${s.by} at ${s.at}: ${s.reason}; nothing is created, rerun, updated or pruned until \`restorectl resume --cluster ${this.opts.cluster}\``,
      );
    else if (!s?.suspended && was !== undefined) this.log.info(`resumed${s ? ` by ${s.by} at ${s.at}: ${s.reason}` : ''}`);
  }

  /**
   * The live objects, each session as the controller's record says (issue 17): a status edited by
   * hand is neither planned from nor copied into the ledger or the status branch.
   */
  private async readLive(): Promise<Awaited<ReturnType<LiveObjects['read']>>> {
    const live = await this.live.read();
    const sessions = live.sessions.map(withTrustedStatus);
    return sessions.every((s, i) => s === live.sessions[i]) ? live : { ...live, sessions };
  }

  /**
   * The executions from the status branch, once (loadLedger). Until it can be read nothing is
   * planned (a restore created without its ledger could run twice); the controller goes on driving
   * the sessions in the cluster meanwhile. Returns whether the ledger is in hand.
   */
  private async readLedger(report: CycleReport): Promise<boolean> {
    if (this.ledgerRead) return true;
    try {
      const ledger = await this.opts.loadLedger!();
      for (const d of ledger.diagnostics) this.log.warn(`status branch ${d.file}: ${d.message}`);
      this.executions = executionsFromLedger(ledger, this.opts.cluster);
      this.announcedPhases = phasesOf(this.executions.values());
      this.executionsVersion++;
      this.ledgerRead = true;
      this.log.info('read the ledger from the status branch', { executions: this.executions.size });
      return true;
    } catch (e) {
      report.ok = false;
      report.unreachable = true;
      report.error = `status branch: ${errorMessage(e)}`;
      this.log.warn(
        'cannot read the ledger from the status branch; the sessions in the cluster are still driven, nothing is created or pruned until it is read',
        { error: errorMessage(e) },
      );
      return false;
    }
  }

  /** Nothing changed since the last clean cycle: its plan stands, and so do its errors. */
  private unchangedReport(report: CycleReport, plan: Plan): CycleReport {
    report.unchanged = true;
    report.plan = plan;
    if (report.ok) this.reportPlanErrors(report, plan);
    return report;
  }

  /** Loads and validates the revision against the live objects; each error diagnostic is logged once, when it appears. */
  private async validate(rev: SourceRevision, cluster: ClusterState): Promise<DesiredSet> {
    // Parsing gives the event loop a turn every few milliseconds: probes answer and SIGTERM is
    // handled while a big (or hostile) source is read; stop() ends it.
    this.opts.observer?.step?.('validate', 'start');
    const loaded = await loadObjectsYielding(revisionFiles(rev), { signal: this.stopping.signal, cache: this.validation.files });
    const desired = validateLoaded(loaded, cluster, this.opts.namespace, this.validation);
    this.opts.observer?.step?.('validate', 'end');
    // Files that are not manifests' text (not UTF-8, a link that leads nowhere): errors of their own
    // file, and the sessions they declared stay (never pruned for a file that cannot be read).
    desired.diagnostics.unshift(...revisionProblems(rev));
    for (const s of rev.problems?.size ? cluster.list<RestoreSession>('RestoreSession') : []) {
      const source = s.metadata.annotations?.[SOURCE_ANNOTATION] ?? '';
      if (rev.problems!.has(source.slice(source.lastIndexOf(':') + 1))) desired.refused.add(`RestoreSession/${s.metadata.namespace}/${s.metadata.name}`);
    }
    const now = new Set<string>();
    for (const d of desired.diagnostics) {
      if (d.severity !== 'error') continue;
      const line = `${d.file}:${d.line}:${d.column}: ${d.message}`;
      now.add(line);
      if (!this.errorsLogged.has(line)) this.log.warn(line, { path: d.path });
    }
    this.errorsLogged = now;
    return desired;
  }

  /** Plans against the cluster and the ledger, and records the plan's new and vanished executions. */
  private plan(report: CycleReport, rev: SourceRevision, desired: DesiredSet, cluster: ClusterState, now: Date): Plan {
    const planned = planRestores({
      desired,
      cluster,
      ledger: ledgerView(this.executions),
      allowEmpty: this.opts.allowEmpty,
      sourceCommit: rev.commit,
      cache: this.planning,
    });
    const plan = suspendPlan(planned, this.suspension, this.opts.cluster);
    report.plan = plan;
    this.reportPlanErrors(report, plan);
    if (recordPlan(this.executions, plan, rev.commit, now)) {
      this.ledgerDirty = true;
      this.executionsVersion++;
    }
    return plan;
  }

  /**
   * Pins the snapshots of the executions this cycle accepted, once each: they go to the ledger
   * with the `Accepted` entry, before anything is created. Never fails the cycle: a repository the
   * daemon cannot read leaves its steps unresolved, with the reason, for the agents to pin.
   */
  private async pin(desired: DesiredSet, cluster: ClusterState, plan: Plan): Promise<void> {
    const opts = this.opts.pinSnapshots;
    const ids = opts ? toPin(this.executions, plan) : undefined;
    if (!opts || !ids?.size) return;
    const source = new ResticSnapshotSource({
      password: undefined,
      secretData: (repo) => this.storageSecret(repo.namespace, repo.repository.spec.backend.storageSecretName),
      timeoutMs: opts.timeoutMs ?? 15_000,
      ...(opts.restic ? { restic: opts.restic } : {}),
    });
    try {
      const pinned = await pinSnapshots(plan, desired, cluster, source, (a) => ids.has(a.contentId));
      for (const a of pinned.actions) {
        if (!ids.has(a.contentId) || !a.snapshots) continue;
        const steps = Object.values(a.snapshots).flat();
        const unresolved = [...new Set(steps.filter((p) => !p.snapshot).map((p) => p.unresolved ?? 'not found'))];
        this.log.info(`pinned ${steps.length - steps.filter((p) => !p.snapshot).length} of ${steps.length} snapshot(s) of ${a.namespace}/${a.name}`, {
          namespace: a.namespace,
          name: a.name,
          contentId: a.contentId,
          ...(unresolved.length ? { unresolved: unresolved.join('; ') } : {}),
        });
      }
      if (recordPins(this.executions, pinned, ids)) {
        this.ledgerDirty = true;
        this.executionsVersion++;
      }
    } catch (e) {
      this.log.warn('cannot pin snapshots this cycle; the agents pin them before they restore', { error: errorMessage(e) });
    } finally {
      await source.close().catch(() => undefined);
    }
  }

  /** A Repository's storage Secret, decoded: the daemon opens the repository as the agent would. */
  private async storageSecret(namespace: string, name: string | undefined): Promise<Record<string, string>> {
    if (!name) throw new SnapshotsUnavailable(`the Repository names no storageSecretName`);
    let secret: k8s.V1Secret;
    try {
      secret = await this.core.readNamespacedSecret({ namespace, name });
    } catch (e) {
      throw new SnapshotsUnavailable(`cannot read Secret ${namespace}/${name}: ${apiErrorInfo(e).message}`, {}, { cause: e });
    }
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, 'base64').toString('utf8');
    for (const [k, v] of Object.entries(secret.stringData ?? {})) data[k] = v;
    return data;
  }

  /**
   * The ledger first: a restore is created only once its `Accepted` entry is pushed. Returns false
   * when the push failed: then nothing is applied this cycle, and the next one plans and pushes again.
   */
  private async pushLedger(report: CycleReport, rev: SourceRevision, desired: DesiredSet, plan: Plan, sessions: RestoreSession[]): Promise<boolean> {
    const writer = this.opts.statusWriter;
    if (!this.ledgerDirty || !writer) {
      this.ledgerDirty = false;
      return true;
    }
    try {
      const w = await writer.writeStatus(this.snapshot(rev, desired, plan, sessions));
      report.statusCommit = w.commit;
      this.ledgerDirty = false;
      failpoint('after-ledger-push');
      return true;
    } catch (e) {
      report.ok = false;
      report.error = `status branch: ${errorMessage(e)}`;
      // ledgerDirty stays set, so the next cycle plans and pushes again.
      this.log.error('cannot push the ledger; nothing is created this cycle', { error: errorMessage(e) });
      return false;
    }
  }

  /** Carries the plan out; each action is logged, created sessions are followed at once. Returns whether every action succeeded. */
  private async apply(report: CycleReport, rev: SourceRevision, desired: DesiredSet, plan: Plan): Promise<boolean> {
    const apply = () => this.applier.apply(plan, withPinAnnotations(desired, plan, this.executions), { url: rev.url, commit: rev.commit });
    // Creating sessions: the controller starts on them once they all exist, not in the creates' way.
    const creating = plan.actions.some((a) => a.kind === 'RestoreSession' && a.action === 'create');
    report.applied = creating ? await this.controller.quietWhile(apply) : await apply();
    const { failed, createdSessions } = appliedOutcome(report.applied);
    if (createdSessions.length) failpoint('after-create');
    for (const a of report.applied) {
      if (!a.ok) this.log.error(a.error!);
      else this.log.info(actionText(a), { contentId: a.action.contentId || undefined });
      if (createdSessions.includes(a)) this.controller.enqueue(a.action.namespace, a.action.name);
    }
    if (failed.length) report.ok = false;
    return !failed.length;
  }

  /** Follows the sessions as they are after the apply and writes their status. Returns whether it was written (or there is no status branch). */
  private async writeStatus(
    report: CycleReport,
    rev: SourceRevision,
    desired: DesiredSet,
    plan: Plan,
    sessions: RestoreSession[],
    now: Date,
  ): Promise<boolean> {
    const after = report.applied.length ? (await this.readLive()).sessions : sessions;
    if (after !== sessions) this.opts.observer?.sessionsListed?.(after);
    if (followCluster(this.executions, after, now)) this.executionsVersion++;
    const snapshot = this.snapshot(rev, desired, plan, after);
    this.logAttention(snapshot);
    if (!this.opts.statusWriter) {
      this.announce(snapshot, now);
      return true;
    }
    try {
      const w = await this.opts.statusWriter.writeStatus(snapshot);
      report.statusCommit = w.commit ?? report.statusCommit;
      this.announce(snapshot, now);
      return true;
    } catch (e) {
      report.ok = false;
      report.error = `status branch: ${errorMessage(e)}`;
      this.log.error('cannot push the status branch', { error: errorMessage(e) });
      return false;
    }
  }

  /** The valid files are still applied; a source with errors makes the cycle failed so --once and metrics say so. */
  private reportPlanErrors(report: CycleReport, plan: Plan): void {
    const error = planErrorText(plan);
    if (!error) return;
    report.ok = false;
    report.error = error;
  }

  /** Every declared session, and every session with executions, as the StatusWriter wants them. */
  private snapshot(rev: SourceRevision, desired: DesiredSet, plan: Plan, live: RestoreSession[]): StatusSnapshot {
    const liveByKey = new Map(live.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
    const blocked = new Map(
      plan.actions.filter((a) => a.kind === 'RestoreSession' && a.action === 'blocked').map((a) => [`${a.namespace}/${a.name}`, a.reason ?? 'blocked']),
    );
    const byKey = new Map<string, ManagedSession>();
    const byName = new Map<string, Execution[]>();
    for (const t of this.executions.values()) {
      const k = `${t.namespace}/${t.name}`;
      byName.set(k, [...(byName.get(k) ?? []), t.execution]);
    }
    const executionsOf = (ns: string, name: string) => byName.get(`${ns}/${name}`) ?? [];
    for (const m of desired.sessions) {
      const { namespace = 'default', name } = m.object.metadata;
      const key = `${namespace}/${name}`;
      const liveSession = liveByKey.get(key);
      const id = contentId(m.object);
      byKey.set(key, {
        namespace,
        name,
        // The commit that declared this content, not the daemon's current one: a push that does
        // not touch a restore leaves its status file alone (work in proportion to the change).
        source: {
          url: rev.url,
          branch: rev.branch,
          commit:
            executionsOf(namespace, name)
              .filter((e) => e.contentId === id)
              .at(-1)?.sourceCommit ?? rev.commit,
          file: m.file,
        },
        contentId: id,
        executions: executionsOf(namespace, name),
        ...(liveSession?.status ? { status: liveSession.status } : {}),
        spec: m.object.spec,
        ...(blocked.has(key) ? { decision: { action: 'blocked', reason: blocked.get(key)! } } : {}),
      });
    }
    for (const t of this.executions.values()) {
      const key = `${t.namespace}/${t.name}`;
      if (byKey.has(key)) continue;
      const liveSession = liveByKey.get(key);
      byKey.set(key, {
        namespace: t.namespace,
        name: t.name,
        source: { url: rev.url, branch: rev.branch, commit: executionsOf(t.namespace, t.name).at(-1)?.sourceCommit ?? rev.commit, file: '' },
        contentId: liveSession?.metadata.annotations?.[CONTENT_ID_ANNOTATION] ?? t.execution.contentId,
        executions: executionsOf(t.namespace, t.name),
        ...(liveSession?.status ? { status: liveSession.status } : {}),
        ...(blocked.has(key) ? { decision: { action: 'blocked', reason: blocked.get(key)! } } : {}),
      });
    }
    return {
      cluster: this.opts.cluster,
      source: { url: rev.url, branch: rev.branch, commit: rev.commit },
      sessions: [...byKey.values()],
      diagnostics: plan.diagnostics,
      ...(this.suspension?.suspended ? { suspension: this.suspension } : {}),
    };
  }

  /**
   * Notifies what finished or was blocked since the last announcement: called once the status
   * branch holds the snapshot, so no notification runs ahead of git. A crash between the push and
   * the send loses that notification (at most once, never ahead of the record).
   */
  private announce(snapshot: StatusSnapshot, now: Date): void {
    const notifier = this.opts.notifier;
    if (!notifier) return;
    const finished = new Set(newlyFinal(this.announcedPhases, this.executions.values()));
    const { notifications, blocked } = announce(snapshot, finished, this.announcedBlocked, now);
    this.announcedPhases = phasesOf(this.executions.values());
    this.announcedBlocked = blocked;
    notifier.notify(notifications);
  }

  /**
   * Logs each session that needs people (blocked, failed, invalid, interrupted, waiting) at warn,
   * once per change of what is wrong: not every cycle.
   */
  private logAttention(snapshot: StatusSnapshot): void {
    const seen = new Set<string>();
    for (const s of snapshot.sessions) {
      const key = `${s.namespace}/${s.name}`;
      const a = attentionOf(s);
      if (!a) continue;
      seen.add(key);
      const text = `${a.phase}: ${a.problem}${a.hosts.length ? ` (${a.hosts.join('; ')})` : ''}`;
      if (this.attentionLogged.get(key) === text) continue;
      this.attentionLogged.set(key, text);
      this.log.warn(`${key} needs attention: ${text}; to do: ${a.todo}`, { namespace: s.namespace, name: s.name, phase: a.phase, contentId: s.contentId });
    }
    for (const key of [...this.attentionLogged.keys()]) if (!seen.has(key)) this.attentionLogged.delete(key);
  }
}

/** Records, under each step's name, the milliseconds since the previous lap (one decimal). */
function lapTimer(timings: CycleTimings): (step: keyof CycleTimings) => void {
  let mark = performance.now();
  return (step) => {
    const t = performance.now();
    timings[step] = Math.round((t - mark) * 10) / 10;
    mark = t;
  };
}
