// The daemon (DESIGN §1): one process holding Source, Planner, Applier, Controller and
// StatusWriter, running a cycle every interval. A cycle: sync the source, plan against the
// cluster and the ledger, push the ledger's new `Accepted` entries, apply, follow the sessions,
// push their status. Nothing is created before its ledger entry is pushed.
import { performance } from 'node:perf_hooks';
import * as k8s from '@kubernetes/client-node';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { CONTENT_ID_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/meta.ts';
import { Applier } from '../apply/applier.ts';
import type { AppliedAction } from '../apply/applier.ts';
import { Controller } from '../controller/controller.ts';
import type { ControllerOptions } from '../controller/controller.ts';
import { REPOSITORIES, RESTORE_SESSIONS } from '../kube/resources.ts';
import { ClusterState, validateSource } from '../manifests/index.ts';
import type { DesiredSet } from '../manifests/desired.ts';
import { planRestores } from '../plan/plan.ts';
import { contentId } from '../plan/content-id.ts';
import type { Plan } from '../plan/types.ts';
import type { Source, SourceRevision } from '../source/types.ts';
import { revisionFiles } from '../source/types.ts';
import type { StatusWriter } from '../status/writer.ts';
import type { Ledger } from '../status/ledger.ts';
import type { ManagedSession, StatusSnapshot } from '../status/types.ts';
import { failpoint } from './failpoints.ts';
import { followCluster, ledgerView, recordPlan } from './executions.ts';
import type { Executions } from './executions.ts';
import { validateInNamespace } from './namespace.ts';

export interface DaemonOptions {
  source: Source;
  kubeConfig: k8s.KubeConfig;
  cluster: string;
  controller: ControllerOptions;
  /** Writes the status branch; without it the ledger lives in memory only (local development). */
  statusWriter?: StatusWriter;
  /** The status branch as read at start-up. */
  ledger?: Ledger;
  allowEmpty?: boolean;
  intervalMs?: number;
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  now?: () => Date;
  /**
   * Confines the daemon to one namespace: it lists, creates and prunes only there, objects that
   * name no namespace go there, and manifests for other namespaces are refused (error diagnostics).
   */
  namespace?: string;
  /** Told about every cycle and every live list (metrics, readiness). */
  observer?: DaemonObserver;
}

export interface DaemonObserver {
  /** After every cycle, also one that failed on an exception: its report and how long it took. */
  cycleDone?(report: CycleReport, seconds: number): void;
  /** The managed RestoreSessions a cycle listed (the last list of a cycle is its end state). */
  sessionsListed?(sessions: RestoreSession[]): void;
}

export interface CycleReport {
  ok: boolean;
  commit: string | null;
  plan?: Plan;
  applied: AppliedAction[];
  statusCommit: string | null;
  error?: string;
}

export class Daemon {
  readonly controller: Controller;
  private readonly opts: DaemonOptions;
  private readonly applier: Applier;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly executions: Executions = new Map();
  private lastGood: SourceRevision | undefined;
  private ledgerDirty = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<CycleReport> | undefined;
  private again = false;
  private stopped = false;

  constructor(opts: DaemonOptions) {
    this.opts = opts;
    this.applier = new Applier(opts.kubeConfig);
    this.custom = opts.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    this.controller = new Controller(opts.kubeConfig, opts.controller);
    for (const [id, { execution, session }] of opts.ledger?.executions ?? []) {
      if (session.cluster === opts.cluster) this.executions.set(id, { namespace: session.namespace, name: session.name, execution });
    }
  }

  /** Cycles every interval (jittered) until stop(); the controller runs alongside. */
  async start(): Promise<void> {
    await this.controller.start();
    const loop = () => {
      if (this.stopped) return;
      const interval = this.opts.intervalMs ?? 60_000;
      this.timer = setTimeout(() => void this.trigger().finally(loop), interval * (0.9 + Math.random() * 0.2));
    };
    await this.trigger();
    loop();
  }

  /** Runs a cycle now (a webhook); a trigger during a cycle runs one more right after it. */
  async trigger(): Promise<CycleReport> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.cycle().finally(() => (this.running = undefined));
    const report = await this.running;
    if (this.again && !this.stopped) {
      this.again = false;
      return this.trigger();
    }
    return report;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.controller.stop();
  }

  /** Resolves once the cycle under way, if any, has finished (for a clean shutdown after stop()). */
  async drain(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** One cycle. Never rejects: an exception (the API unreachable) is a failed report, and the next cycle tries again. */
  async cycle(): Promise<CycleReport> {
    const started = performance.now();
    let report: CycleReport;
    try {
      report = await this.runCycle();
    } catch (e) {
      report = { ok: false, commit: this.lastGood?.commit ?? null, applied: [], statusCommit: null, error: `cycle: ${(e as Error).message}` };
      this.opts.log('error', 'cycle failed; the next one tries again', { error: (e as Error).message });
    }
    this.opts.observer?.cycleDone?.(report, (performance.now() - started) / 1000);
    return report;
  }

  private async runCycle(): Promise<CycleReport> {
    const now = (this.opts.now ?? (() => new Date()))();
    const report: CycleReport = { ok: true, commit: null, applied: [], statusCommit: null };
    let rev: SourceRevision;
    try {
      rev = await this.opts.source.sync();
      this.lastGood = rev;
    } catch (e) {
      report.ok = false;
      report.error = `source: ${(e as Error).message}`;
      this.opts.log('warn', 'cannot sync the source; the last good revision stays in force', { error: (e as Error).message });
      if (!this.lastGood) return report;
      rev = this.lastGood;
    }
    report.commit = rev.commit;

    const { sessions, repositories } = await this.listLive();
    const cluster = new ClusterState([...sessions, ...repositories], { completeKinds: ['RestoreSession', 'Repository'] });
    const ns = this.opts.namespace;
    const desired = ns ? validateInNamespace(revisionFiles(rev), cluster, ns) : validateSource(revisionFiles(rev), cluster);
    const errors = desired.diagnostics.filter((x) => x.severity === 'error');
    for (const d of errors) this.opts.log('warn', `${d.file}:${d.line}:${d.column}: ${d.message}`, { path: d.path });
    const plan = planRestores({ desired, cluster, ledger: ledgerView(this.executions), allowEmpty: this.opts.allowEmpty, sourceCommit: rev.commit });
    report.plan = plan;
    const planErrors = plan.diagnostics.filter((x) => x.severity === 'error').length;
    if (planErrors) {
      // The valid files are still applied; the cycle is reported failed so --once and metrics say so.
      report.ok = false;
      report.error = `the source has ${planErrors} error${planErrors === 1 ? '' : 's'} (listed in the log and STATUS.md)`;
    }
    if (recordPlan(this.executions, plan, rev.commit, now)) this.ledgerDirty = true;

    // The ledger first: a restore is created only once its `Accepted` entry is pushed.
    if (this.ledgerDirty && this.opts.statusWriter) {
      try {
        const w = await this.opts.statusWriter.writeStatus(this.snapshot(rev, desired, plan, sessions));
        report.statusCommit = w.commit;
        this.ledgerDirty = false;
        failpoint('after-ledger-push');
      } catch (e) {
        report.ok = false;
        report.error = `status branch: ${(e as Error).message}`;
        this.opts.log('error', 'cannot push the ledger; nothing is created this cycle', { error: (e as Error).message });
        return report;
      }
    } else {
      this.ledgerDirty = false;
    }

    report.applied = await this.applier.apply(plan, desired, { url: rev.url, commit: rev.commit });
    if (report.applied.some((a) => a.ok && a.action.kind === 'RestoreSession' && a.action.action === 'create')) failpoint('after-create');
    for (const a of report.applied) {
      if (!a.ok) {
        report.ok = false;
        this.opts.log('error', a.error!);
      } else {
        this.opts.log('info', `${a.action.action} ${a.action.kind} ${a.action.namespace}/${a.action.name}`, { contentId: a.action.contentId || undefined });
        if (a.action.kind === 'RestoreSession' && a.action.action === 'create') this.controller.enqueue(a.action.namespace, a.action.name);
      }
    }

    const after = report.applied.length ? (await this.listLive()).sessions : sessions;
    followCluster(this.executions, after, now);
    if (this.opts.statusWriter) {
      try {
        const w = await this.opts.statusWriter.writeStatus(this.snapshot(rev, desired, plan, after));
        report.statusCommit = w.commit ?? report.statusCommit;
      } catch (e) {
        report.ok = false;
        report.error = `status branch: ${(e as Error).message}`;
        this.opts.log('error', 'cannot push the status branch', { error: (e as Error).message });
      }
    }
    return report;
  }

  private async listLive(): Promise<{ sessions: RestoreSession[]; repositories: Repository[] }> {
    const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
    const namespace = this.opts.namespace;
    const [s, r] = await Promise.all(
      namespace
        ? [this.custom.listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace, labelSelector }), this.custom.listNamespacedCustomObject({ ...REPOSITORIES, namespace })]
        : [this.custom.listClusterCustomObject({ ...RESTORE_SESSIONS, labelSelector }), this.custom.listClusterCustomObject({ ...REPOSITORIES })],
    );
    const sessions = (s as { items: RestoreSession[] }).items;
    this.opts.observer?.sessionsListed?.(sessions);
    return { sessions, repositories: (r as { items: Repository[] }).items };
  }

  /** Every declared session, and every session with executions, as the StatusWriter wants them. */
  private snapshot(rev: SourceRevision, desired: DesiredSet, plan: Plan, live: RestoreSession[]): StatusSnapshot {
    const liveByKey = new Map(live.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
    const byKey = new Map<string, ManagedSession>();
    const executionsOf = (ns: string, name: string) => [...this.executions.values()].filter((t) => t.namespace === ns && t.name === name).map((t) => t.execution);
    for (const m of desired.sessions) {
      const { namespace = 'default', name } = m.object.metadata;
      const key = `${namespace}/${name}`;
      const liveSession = liveByKey.get(key);
      const id = contentId(m.object);
      byKey.set(key, {
        namespace,
        name,
        source: { url: rev.url, branch: rev.branch, commit: rev.commit, file: m.file },
        contentId: id,
        executions: executionsOf(namespace, name),
        ...(liveSession?.status ? { status: liveSession.status } : {}),
        spec: m.object.spec,
      });
    }
    for (const t of this.executions.values()) {
      const key = `${t.namespace}/${t.name}`;
      if (byKey.has(key)) continue;
      const liveSession = liveByKey.get(key);
      byKey.set(key, {
        namespace: t.namespace,
        name: t.name,
        source: { url: rev.url, branch: rev.branch, commit: rev.commit, file: '' },
        contentId: liveSession?.metadata.annotations?.[CONTENT_ID_ANNOTATION] ?? t.execution.contentId,
        executions: executionsOf(t.namespace, t.name),
        ...(liveSession?.status ? { status: liveSession.status } : {}),
      });
    }
    return { cluster: this.opts.cluster, source: { url: rev.url, branch: rev.branch, commit: rev.commit }, sessions: [...byKey.values()], diagnostics: plan.diagnostics };
  }
}
