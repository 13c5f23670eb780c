// `restorectl agent restore`: one host's restore, from reading its session to the final stat
// (SPEC Agent, Hooks; issue 6). Exactly-once per host: a host with a final stat is skipped, so a
// restarted pod never restores twice.
//
// The steps, in order: skip if there is nothing to do (skipReason); for a Deployment, take the
// workload's restore Lease (holdRestoreLease); read the Repository and its Secret (openRepository);
// preRestore once per session; the host's rule (unmatchedHostStat when none applies); restic with
// progress (runRestore); postRestore once per session when this host completed the set
// (postRestoreDecision). The decisions are pure functions; the rest is I/O around them.
//
// Never twice through an API outage (issue 17): the host's final stat goes to an outcome marker
// on disk (marker.ts) before the agent tries the API, and every write that records the outcome
// (stats, hook conditions, the Lease) retries transient failures with backoff until the session's
// deadline or a cap (src/kube/retry.ts), and 401/403 for a short while (an API server that has
// just restarted refuses until its caches have synced). An agent that finds this session's marker for its host
// writes the recorded stat instead of restoring again.
import { join } from 'node:path';
import type { Repository } from '../api/repository.ts';
import type { HostProgress, HostRestoreStats, RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { effectiveRules, isFinalPhase, repositoryOf } from '../api/restoresession.ts';
import { errorMessage } from '../common/errors.ts';
import { nullLogger } from '../common/log.ts';
import type { Logger } from '../common/log.ts';
import { Redactor } from '../common/redact.ts';
import { builtInDatabaseTask, databaseHostPlan } from '../databases/addons.ts';
import { planHost } from '../hosts/rules.ts';
import { ApiRetryError, apiErrorCode, isTransient, withApiRetry } from '../kube/retry.ts';
import type { ApiRetryPolicy } from '../kube/retry.ts';
import type { HostPlan } from '../hosts/types.ts';
import { CONDITION, REASON, findCondition, setCondition } from '../session/conditions.ts';
import { formatDuration, parseDuration } from '../session/duration.ts';
import { finishedHostStat, hostFinished, withHostStat } from '../session/host-stats.ts';
import { trustedPhase } from '../session/record.ts';
import { restoreLeaseName } from '../session/names.ts';
import { tallyHosts } from '../session/phase.ts';
import type { AgentCluster } from './cluster.ts';
import { AgentError } from './errors.ts';
import { failpoint } from '../common/failpoints.ts';
import type { ContainerPorts, HookContext } from './hooks.ts';
import { hookSummary, runHook } from './hooks.ts';
import type { HookResult } from './hooks.ts';
import type { HostFrom } from './host.ts';
import { hostIdentity } from './host.ts';
import { clearMarker, markerDirs, outcomeMarker, readMarker, writeMarker } from './marker.ts';
import type { MarkerRead, OutcomeMarker } from './marker.ts';
import { pinsForHost } from './pins.ts';
import type { HostRestoreOutcome, HostRestorer } from './restorer.ts';

export interface AgentOptions {
  namespace: string;
  name: string;
  hostFrom: HostFrom;
  env: Record<string, string | undefined>;
  root: string;
  scratchDir: string;
  progressIntervalMs?: number;
  /** How long a losing Deployment pod waits for the winner's result. */
  waitTimeoutMs?: number;
  signal: AbortSignal;
  /** Where the agent says what it did (default: nowhere); lines carry namespace, name and host. */
  log?: Logger;
  now?: () => Date;
  /**
   * The longest an outcome write retries through an API outage (default: env
   * RESTORECTL_API_RETRY_SECONDS, else 10 min); never past the session's deadline either.
   */
  apiRetryCapMs?: number;
}

export interface AgentOutcome {
  /** Process exit code: 0 restored or rightly skipped, 1 this host failed. */
  code: 0 | 1;
  message: string;
  /** Why the agent stopped short, as an error code (`ApiUnavailable`), when it did. */
  reason?: string;
}

const LEASE_KINDS = new Set(['Deployment', 'DeploymentConfig']);
const LEASE_SECONDS = 60;
const DEFAULT_API_RETRY_CAP_MS = 10 * 60_000;
/** An outcome write refused (401/403) retries this long: an API server just back refuses until its caches have synced. */
const REFUSAL_GRACE_MS = 30_000;
/** A write at (or after) the session's deadline still gets this long to land. */
const MIN_RETRY_WINDOW_MS = 30_000;

/** What one host's run works with, once its session and host are known. */
interface HostRun {
  cluster: AgentCluster;
  opts: AgentOptions;
  session: RestoreSession;
  host: string;
  log: Logger;
  now: () => Date;
  /** The retry policy of a write that records the outcome, started now. */
  retry: () => ApiRetryPolicy;
  /** Where this host's outcome marker is written and looked for (marker.ts). */
  markers: string[];
  /** Those of `markers` in the user's data (the target volume): cleared once the stat is in the API. */
  volumeMarkers: string[];
}

/** The cap of outcome-write retries: the option, else RESTORECTL_API_RETRY_SECONDS, else 10 min. */
export function apiRetryCapMs(opts: Pick<AgentOptions, 'apiRetryCapMs' | 'env'>): number {
  if (opts.apiRetryCapMs !== undefined) return opts.apiRetryCapMs;
  const s = Number(opts.env['RESTORECTL_API_RETRY_SECONDS']);
  return Number.isFinite(s) && s > 0 ? s * 1000 : DEFAULT_API_RETRY_CAP_MS;
}

/** The session's deadline (ms): status.sessionDeadline, else creation + spec.timeOut; undefined when it has none. */
export function sessionDeadlineMs(s: RestoreSession): number | undefined {
  const d = s.status?.sessionDeadline ? Date.parse(s.status.sessionDeadline) : NaN;
  if (Number.isFinite(d)) return d;
  const timeout = s.spec.timeOut ? parseDuration(s.spec.timeOut) : undefined;
  const created = s.metadata.creationTimestamp ? Date.parse(String(s.metadata.creationTimestamp)) : NaN;
  return timeout !== undefined && Number.isFinite(created) ? created + timeout : undefined;
}

/**
 * Until when a write started at `now` retries: the cap, and no later than the session's deadline
 * (though never less than MIN_RETRY_WINDOW_MS, so a host finishing at the deadline is still recorded).
 */
export function retryDeadline(s: RestoreSession, now: number, capMs: number): number {
  const cap = now + capMs;
  const d = sessionDeadlineMs(s);
  return d === undefined ? cap : Math.min(cap, Math.max(d, now + MIN_RETRY_WINDOW_MS));
}

function deadlinePassed(s: RestoreSession, now: Date): boolean {
  const d = s.status?.sessionDeadline;
  return Boolean(d && new Date(d).getTime() < now.getTime()) || findCondition(s.status?.conditions, CONDITION.DeadlineExceeded)?.status === 'True';
}

/** Why this host has nothing to do (final session, deadline passed, host already reported), or undefined. */
export function skipReason(session: RestoreSession, host: string, now: Date): string | undefined {
  const phase = trustedPhase(session);
  if (isFinalPhase(phase)) return `session is ${phase}: nothing to do`;
  if (deadlinePassed(session, now)) return 'session is past its deadline: not restoring';
  const done = finishedHostStat(session, host);
  if (done) return `already ${done.phase}: a restarted pod does not restore again`;
  return undefined;
}

export async function runAgent(cluster: AgentCluster, restorer: HostRestorer, opts: AgentOptions): Promise<AgentOutcome> {
  const now = opts.now ?? (() => new Date());
  const capMs = apiRetryCapMs(opts);
  const sessionLog = (opts.log ?? nullLogger).child({ namespace: opts.namespace, name: opts.name });
  const session = await withApiRetry(`read RestoreSession ${opts.namespace}/${opts.name}`, () => cluster.session(opts.namespace, opts.name), {
    deadline: Date.now() + capMs,
    log: sessionLog,
  });
  const host = hostIdentity(session, opts.hostFrom, opts.env);
  const log = sessionLog.child({ host });
  log.debug('read the RestoreSession', { uptimeMs: Math.round(performance.now()) });
  const run: HostRun = {
    cluster,
    opts,
    session,
    host,
    now,
    log,
    retry: () => ({ deadline: retryDeadline(run.session, Date.now(), capMs), log, refusalGraceMs: REFUSAL_GRACE_MS }),
    markers: markerDirs(session, opts.root, opts.scratchDir),
    volumeMarkers: [],
  };
  run.volumeMarkers = run.markers.filter((d) => d !== opts.scratchDir);
  try {
    return await runHost(run, restorer);
  } catch (e) {
    if (!(e instanceof ApiRetryError)) throw e;
    // The outcome is on disk (marker.ts): the restarted container records it without restoring.
    log.error(`gave up on the Kubernetes API: ${e.message}`, { code: e.code, attempts: e.data.attempts, lastError: e.data.lastError });
    return { code: 1, message: e.message, reason: e.code };
  }
}

async function runHost(run: HostRun, restorer: HostRestorer): Promise<AgentOutcome> {
  const { session, host, now, log } = run;
  // Final session or final host stat: nothing to do, whatever is on disk.
  const final = isFinalPhase(trustedPhase(session)) || hostFinished(session, host) ? skipReason(session, host, now()) : undefined;
  if (final) {
    clearVolumeMarker(run); // left by a run killed right after its stat landed
    return skip(run, final);
  }
  const recorded = readMarker(run.markers, session, host, (file, why) => log.info(`ignoring outcome marker ${file}: ${why}`, { marker: file }));
  if (recorded) return recordEarlierOutcome(run, recorded);
  const why = skipReason(session, host, now());
  if (why) return skip(run, why);

  // A Deployment's pods share one host: one restores, the others wait for its result.
  const kind = session.spec.target?.ref?.kind;
  if (!kind || !LEASE_KINDS.has(kind)) return restoreHost(run, restorer);
  // The Repository and its Secret are read while the Lease is taken (they do not depend on it);
  // a failure to read them surfaces where it did before, once this pod holds the Lease.
  const repo = openRepository(run);
  repo.catch(() => undefined); // awaited in restoreHost, or not needed when another pod restored
  const lease = await holdRestoreLease(run, kind, session.spec.target!.ref!.name);
  if ('outcome' in lease) return lease.outcome;
  try {
    // A pod that restored on the same volume and could not record it (an outage) left a marker.
    const again = readMarker(run.markers, lease.session, host);
    if (again) return await recordEarlierOutcome({ ...run, session: lease.session }, again);
    return await restoreHost({ ...run, session: lease.session }, restorer, repo);
  } finally {
    await lease.release();
  }
}

function skip(run: HostRun, message: string): AgentOutcome {
  run.log.info(message);
  return { code: 0, message };
}

type HeldLease = { session: RestoreSession; release: () => Promise<void> } | { outcome: AgentOutcome };

/**
 * Takes the workload's restore Lease (SPEC: per workload, so it is released when this host is
 * done, for the next session) and renews it while held; or, when another pod restored the host
 * meanwhile, the outcome to end with.
 */
async function holdRestoreLease(run: HostRun, kind: string, workload: string): Promise<HeldLease> {
  const { cluster, opts, host, log } = run;
  const { namespace, name } = opts;
  const holder = opts.env.POD_NAME || host;
  const lease = restoreLeaseName(kind, workload);
  const deadline = Date.now() + (opts.waitTimeoutMs ?? 24 * 3600_000);
  // Lease writes retry through outages for as long as a Lease lives: past that it has expired anyway.
  const leaseRetry = (): ApiRetryPolicy => ({ deadline: Math.min(run.retry().deadline, Date.now() + LEASE_SECONDS * 1000), log });
  const acquire = () => withApiRetry(`take Lease ${namespace}/${lease}`, () => cluster.acquireLease(namespace, lease, holder, LEASE_SECONDS), leaseRetry());
  for (let announced = false; !(await acquire()); announced = true) {
    if (!announced) log.info(`another pod holds Lease ${lease}; waiting for it`, { lease });
    const session = await withApiRetry(`read RestoreSession ${namespace}/${name}`, () => cluster.session(namespace, name), run.retry());
    if (hostFinished(session, host) || isFinalPhase(trustedPhase(session))) {
      return { outcome: skip(run, `restored by another pod of ${kind} ${workload}: ${finishedHostStat(session, host)?.phase ?? trustedPhase(session)}`) };
    }
    if (Date.now() > deadline || opts.signal.aborted) return { outcome: { code: 1, message: `gave up waiting for Lease ${lease}` } };
    await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000));
  }
  const releaseLease = () =>
    withApiRetry(`release Lease ${namespace}/${lease}`, () => cluster.releaseLease(namespace, lease, holder), leaseRetry()).catch((e) =>
      log.warn(`could not release Lease ${lease} (it expires by itself): ${errorMessage(e)}`, { lease }),
    );
  // Another pod may have finished between our first read and taking the Lease.
  const session = await withApiRetry(`read RestoreSession ${namespace}/${name}`, () => cluster.session(namespace, name), run.retry());
  if (hostFinished(session, host)) {
    await releaseLease();
    return { outcome: skip(run, `already ${finishedHostStat(session, host)!.phase}: restored by another pod`) };
  }
  let renewing = false;
  const renew = setInterval(
    () => {
      if (renewing) return; // the last renewal is still retrying through an outage
      renewing = true;
      void acquire()
        .then((held) => held || log.warn(`Lease ${lease} was taken over by another holder while this pod restores`, { lease }))
        .catch((e) => log.warn(`could not renew Lease ${lease}: ${errorMessage(e)}`, { lease }))
        .finally(() => (renewing = false));
    },
    (LEASE_SECONDS * 1000) / 3,
  );
  const release = async () => {
    clearInterval(renew);
    await releaseLease();
  };
  return { session, release };
}

interface OpenRepository {
  repository: Repository;
  secret: Record<string, string>;
  /** Masks every value of the Secret (and every credential shape) in what leaves the agent. */
  redactor: Redactor;
}

/** The session's Repository and storage Secret, and the redaction of every value in it. */
async function openRepository(run: HostRun): Promise<OpenRepository> {
  const { cluster, session } = run;
  const ref = repositoryOf(session);
  const key = `${session.metadata.namespace}/${session.metadata.name}`;
  if (!ref)
    throw new AgentError('RepositoryNotNamed', `RestoreSession ${key} names no repository: set spec.repository.name`, { kind: 'RestoreSession', object: key });
  const repository = await cluster.repository(ref.namespace, ref.name);
  const secretName = repository.spec.backend.storageSecretName;
  if (!secretName) {
    throw new AgentError(
      'StorageSecretNotNamed',
      `Repository ${ref.namespace}/${ref.name} has no spec.backend.storageSecretName: name the Secret holding RESTIC_PASSWORD`,
      { kind: 'Repository', object: `${ref.namespace}/${ref.name}` },
    );
  }
  const secret = await cluster.secretData(ref.namespace, secretName);
  return { repository, secret, redactor: new Redactor(Object.values(secret)) };
}

/** The stat of a host no rule restores: Succeeded, saying why nothing was restored (SPEC Rules). */
export function unmatchedHostStat(host: string, plan: HostPlan): HostRestoreStats {
  const why = plan.rule === undefined ? 'no rule matches this host: nothing restored' : `rule ${plan.rule} names neither paths nor snapshots: nothing restored`;
  return { hostname: host, phase: 'Succeeded', duration: '0s', error: why };
}

/** The event text when a host starts restoring. */
export function restoreStartedMessage(host: string, plan: HostPlan): string {
  return `host ${host}: restoring ${plan.snapshots ? `snapshots ${plan.snapshots.join(', ')}` : `${plan.paths!.join(', ')}`} from ${plan.sourceHost}`;
}

async function restoreHost(run: HostRun, restorer: HostRestorer, opened?: Promise<OpenRepository>): Promise<AgentOutcome> {
  const { cluster, session, host, log, now } = run;
  const started = now();
  const elapsed = () => formatDuration(now().getTime() - started.getTime());
  const repo = await (opened ?? openRepository(run));
  const hookCtx = hookContext(run, repo.redactor);
  const fail = async (error: string): Promise<AgentOutcome> => {
    const safe = repo.redactor.text(error);
    await recordOutcome(run, { hostname: host, phase: 'Failed', duration: elapsed(), error: safe });
    await cluster.event(session, 'Warning', 'Host Restore Failed', `host ${host}: ${safe}`, host);
    log.error(`Failed: ${safe}`, { error: safe });
    return { code: 1, message: safe };
  };

  // preRestore: once per session, by whichever host claims it first.
  const pre = session.spec.hooks?.preRestore;
  if (pre) {
    const outcome = await onceForSession(run, CONDITION.PreRestoreHookExecutionSucceeded, () =>
      runHook(pre, { ...hookCtx, summary: hookSummary(session, now()) }),
    );
    if (outcome === 'failed-elsewhere') return { code: 0, message: 'preRestore hook failed on another host: not restoring' };
    if (outcome !== 'ok') return fail(`preRestore hook failed: ${outcome.message}`);
  }

  const matched = planHost(effectiveRules(session.spec).rules, host);
  const plan = builtInDatabaseTask(session.spec.task?.name) ? databaseHostPlan(matched) : matched;
  let outcome: AgentOutcome | undefined;
  if (!plan.restores) {
    await writeStat(run, unmatchedHostStat(host, plan));
    log.info('no matching rule, nothing restored');
    outcome = { code: 0, message: 'nothing to restore' };
  } else {
    let result: HostRestoreOutcome | undefined;
    try {
      result = await runRestore(run, restorer, repo, plan, started);
    } catch (e) {
      if (e instanceof ApiRetryError) throw e; // the API, not the restore: nothing to record
      outcome = await fail(run.opts.signal.aborted ? 'interrupted' : errorMessage(e));
    }
    if (result) {
      // Outside the try: a write that gives up is not a restore that failed.
      const snapshots = result.snapshots.join(', ');
      await recordOutcome(run, {
        hostname: host,
        phase: 'Succeeded',
        duration: elapsed(),
        progress: result.progress,
        ...snapshotFields(result.pins ?? result.snapshots.map((id) => ({ id }))),
        ...(result.latestMoved?.length ? { latestMoved: result.latestMoved.join('; ') } : {}),
      });
      const into = result.into ? ` into ${result.into}` : '';
      await cluster.event(session, 'Normal', 'Host Restore Succeeded', `host ${host}: restored snapshot ${snapshots}${into}`, host);
      if (result.latestMoved?.length) await cluster.event(session, 'Normal', 'Latest Snapshot Moved', `host ${host}: ${result.latestMoved.join('; ')}`, host);
      log.info(`Succeeded (snapshot ${snapshots}${into})`, { snapshot: result.snapshots, ...(result.latestMoved ? { latestMoved: result.latestMoved } : {}) });
      outcome = { code: 0, message: 'restored' };
    }
  }
  await afterHost(run, hookCtx);
  return outcome!;
}

/** Writes the host's stat, retrying through API outages (run.retry). */
function writeStat(run: HostRun, stat: HostRestoreStats): Promise<RestoreSession> {
  return run.cluster.updateStatus(run.opts.namespace, run.opts.name, (s) => withHostStat(s.status, stat), {
    retry: run.retry(),
    what: `write host ${run.host}'s ${stat.phase} stat to RestoreSession ${run.opts.namespace}/${run.opts.name}`,
  });
}

/**
 * Records the host's final stat: first on disk (the outcome marker), then in the session's status
 * through the retrying write. A marker that cannot be written anywhere is a warning: the status
 * write is still tried.
 */
async function recordOutcome(run: HostRun, stat: OutcomeMarker['stat']): Promise<void> {
  const { written, failed } = writeMarker(run.markers, outcomeMarker(run.session, run.host, stat, run.now()));
  for (const f of failed) run.log.warn(`could not write the outcome marker in ${f.dir}: ${f.error}`, { dir: f.dir });
  if (written.length) run.log.debug(`outcome marker written: ${written.join(', ')}`, { markers: written });
  failpoint('agent-after-restore', run.opts.env);
  await writeStat(run, stat);
  run.log.debug(`${stat.phase} stat written to the RestoreSession`, { uptimeMs: Math.round(performance.now()) });
  clearVolumeMarker(run);
}

/** The stat is in the API: the target volume's marker goes, so the volume holds only what was restored. */
function clearVolumeMarker(run: HostRun): void {
  const removed = clearMarker(run.volumeMarkers, run.session, run.host);
  if (removed.length) run.log.debug(`outcome marker removed from the target volume: ${removed.join(', ')}`, { markers: removed });
}

/**
 * The host restored in an earlier run (a restarted container, or a re-created pod on the same
 * volume) whose stat never reached the API: writes the recorded stat, runs postRestore if this
 * host completes the set, and exits 0 without restoring again.
 */
async function recordEarlierOutcome(run: HostRun, recorded: NonNullable<MarkerRead>): Promise<AgentOutcome> {
  const { cluster, session, host, log } = run;
  const { stat, recordedAt } = recorded.marker;
  const message = `already ${stat.phase} (recorded by an earlier run at ${recordedAt} in ${recorded.file}): writing that outcome, not restoring again`;
  log.info(message, { marker: recorded.file, snapshot: stat.snapshot });
  await writeStat(run, stat);
  clearVolumeMarker(run);
  const ok = stat.phase === 'Succeeded';
  await cluster.event(
    session,
    ok ? 'Normal' : 'Warning',
    `Host Restore ${stat.phase}`,
    `host ${host}: ${ok ? `restored snapshot ${stat.snapshot ?? ''}`.trim() : (stat.error ?? 'failed')}`,
    host,
  );
  if (session.spec.hooks?.postRestore) {
    const repo = await openRepository(run);
    await afterHost(run, hookContext(run, repo.redactor));
  }
  return { code: 0, message };
}

/** The stat fields naming what a host restores: ids and snapshot times, each joined by `,` in step order. */
export function snapshotFields(pins: readonly { id: string; time?: string }[]): Pick<HostRestoreStats, 'snapshot' | 'snapshotTime'> {
  if (!pins.length) return {};
  const times = pins.map((p) => p.time ?? '');
  return { snapshot: pins.map((p) => p.id).join(','), ...(times.some(Boolean) ? { snapshotTime: times.join(',') } : {}) };
}

/**
 * restic for this host's plan, its progress written every progressIntervalMs. Throws when the
 * restore fails. The snapshots are pinned by the daemon (the session's annotation), by an earlier
 * run of this agent (its Running stat), or now by the restorer, and recorded in the host's
 * Running stat: before `restic restore` starts when pinned already; for an unpinned `latest`, as
 * soon as the restore, started at once, names the snapshot it restores (host-restorer.ts), so a
 * restarted pod restores that one.
 */
async function runRestore(run: HostRun, restorer: HostRestorer, repo: OpenRepository, plan: HostPlan, started: Date): Promise<HostRestoreOutcome> {
  const { cluster, opts, session, host, log, now } = run;
  const elapsed = () => formatDuration(now().getTime() - started.getTime());
  const given = pinsForHost(session, host, plan);
  let pinned: Pick<HostRestoreStats, 'snapshot' | 'snapshotTime'> = given ? snapshotFields(given) : {};
  // The first Running stat overlaps restic's start; the pins follow in a Running stat as soon as
  // they are known. The event follows the stat and gates nothing.
  const announced = writeStat(run, { hostname: host, phase: 'Running', ...pinned });
  announced.catch(() => undefined); // awaited below
  const startedEvent = announced.then(() => cluster.event(session, 'Normal', 'Host Restore Started', restoreStartedMessage(host, plan), host));
  startedEvent.catch(() => undefined); // awaited below
  const onPinned = async (pins: readonly { id: string; time?: string; by: string }[]) => {
    await announced;
    const fields = snapshotFields(pins);
    if (fields.snapshot === pinned.snapshot && fields.snapshotTime === pinned.snapshotTime) return;
    pinned = fields;
    await writeStat(run, { hostname: host, phase: 'Running', ...pinned });
    log.info(`pinned snapshot ${fields.snapshot}${fields.snapshotTime ? ` (${fields.snapshotTime})` : ''}`, {
      snapshot: fields.snapshot,
      by: [...new Set(pins.map((p) => p.by))].join(','),
    });
  };

  let latest: HostProgress = {};
  let dirty = false;
  const ticker = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    // best effort, never retried, and never over a final stat (a tick may be in flight as the host finishes)
    const progress: HostRestoreStats = { hostname: host, phase: 'Running', progress: latest, duration: elapsed(), ...pinned };
    void cluster.updateStatus(opts.namespace, opts.name, (s) => (hostFinished(s, host) ? undefined : withHostStat(s.status, progress))).catch(() => undefined);
  }, opts.progressIntervalMs ?? 5000);
  let result: HostRestoreOutcome;
  try {
    result = await restorer.restore({
      session,
      repository: repo.repository,
      secret: repo.secret,
      plan,
      root: opts.root,
      scratchDir: opts.scratchDir,
      signal: opts.signal,
      log,
      ...(given ? { pins: given } : {}),
      onPinned,
      onProgress: (p) => {
        latest = p;
        dirty = true;
      },
    });
    await announced;
  } finally {
    clearInterval(ticker);
    // never let the Running stat, or its event, land after the outcome
    await Promise.all([announced.catch(() => undefined), startedEvent.catch(() => undefined)]);
  }
  return result;
}

export type PostRestoreDecision = { run: false; why: 'hosts-pending' } | { run: true; skipReason?: string };

/**
 * Whether this host runs postRestore now: only once every host has a final stat (the last one
 * to finish runs it), and then either the handler or a skip the executionPolicy asks for.
 */
export function postRestoreDecision(status: RestoreSessionStatus | undefined, policy: 'Always' | 'OnSuccess' | 'OnFailure' = 'Always'): PostRestoreDecision {
  const total = status?.totalHosts;
  const t = tallyHosts(status?.stats);
  if (total === undefined || t.succeeded + t.failed + t.unknown < total) return { run: false, why: 'hosts-pending' };
  const anyFailed = t.failed > 0 || t.unknown > 0;
  if (policy === 'OnSuccess' && anyFailed) return { run: true, skipReason: `skipped by executionPolicy ${policy}: a host failed` };
  if (policy === 'OnFailure' && !anyFailed) return { run: true, skipReason: `skipped by executionPolicy ${policy}: every host succeeded` };
  return { run: true };
}

/** postRestore, once per session, when this host's stat completed the set. */
/** What hooks run with: the pod's IP as the default host, its named ports, the agent's container. */
function hookContext(run: HostRun, redactor: Redactor): HookContext {
  const env = run.opts.env;
  let containerPorts: ContainerPorts | undefined;
  try {
    containerPorts = env['RESTORE_CONTAINER_PORTS'] ? (JSON.parse(env['RESTORE_CONTAINER_PORTS']) as ContainerPorts) : undefined;
  } catch {
    run.log.warn('RESTORE_CONTAINER_PORTS is not JSON: named hook ports cannot be resolved');
  }
  return {
    defaultHost: env['POD_IP'] || '127.0.0.1',
    redactor,
    ...(containerPorts ? { containerPorts } : {}),
    ...(env['RESTORE_CONTAINER_NAME'] ? { agentContainer: env['RESTORE_CONTAINER_NAME'] } : {}),
  };
}

async function afterHost(run: HostRun, hookCtx: HookContext): Promise<void> {
  const post = run.session.spec.hooks?.postRestore;
  if (!post) return;
  const latest = await withApiRetry(
    `read RestoreSession ${run.opts.namespace}/${run.opts.name}`,
    () => run.cluster.session(run.opts.namespace, run.opts.name),
    run.retry(),
  );
  const decision = postRestoreDecision(latest.status, post.executionPolicy);
  if (!decision.run) return;
  await onceForSession(run, CONDITION.PostRestoreHookExecutionSucceeded, async () =>
    decision.skipReason ? { ok: true, message: decision.skipReason, skipped: true } : runHook(post, { ...hookCtx, summary: hookSummary(latest, run.now()) }),
  );
}

type OnceOutcome = 'ok' | 'failed-elsewhere' | { message: string };

/**
 * Runs `work` on exactly one host of the session: the host that first records the condition as
 * Unknown/HookRunning (a status write with resourceVersion, so only one wins) runs it and records
 * the result; the others wait for that result.
 */
async function onceForSession(run: HostRun, type: string, work: () => Promise<HookResult & { skipped?: boolean }>): Promise<OnceOutcome> {
  const { cluster, opts, host, log } = run;
  const claimMessage = `running on host ${host}`;
  let mine = false;
  const retry = () => ({ retry: run.retry(), what: `write condition ${type} to RestoreSession ${opts.namespace}/${opts.name}` });
  const claimed = await cluster.updateStatus(
    opts.namespace,
    opts.name,
    (s): RestoreSessionStatus | undefined => {
      mine = false; // called again after a conflict: decide afresh on the latest status
      const c = findCondition(s.status?.conditions, type);
      if (c && (c.status !== 'Unknown' || c.message !== claimMessage)) return undefined; // decided, or claimed by another host
      mine = true;
      return {
        ...s.status,
        conditions: setCondition(s.status?.conditions, { type, status: 'Unknown', reason: 'HookRunning', message: claimMessage }, new Date()),
      };
    },
    retry(),
  );
  if (!mine) {
    const done = await waitFor(run, (s) => findCondition(s.status?.conditions, type)?.status !== 'Unknown', opts.waitTimeoutMs ?? 3600_000);
    return findCondition(done.status?.conditions, type)?.status === 'True' ? 'ok' : 'failed-elsewhere';
  }
  const result = await work();
  const reason = result.skipped ? REASON.HookSkippedByPolicy : result.ok ? REASON.SuccessfullyExecutedHook : REASON.FailedToExecuteHook;
  await cluster.updateStatus(
    opts.namespace,
    opts.name,
    (s) => ({
      ...s.status,
      conditions: setCondition(s.status?.conditions, { type, status: result.ok ? 'True' : 'False', reason, message: result.message }, new Date()),
    }),
    retry(),
  );
  const hook = type === CONDITION.PreRestoreHookExecutionSucceeded ? 'PreRestore' : 'PostRestore';
  await cluster.event(
    claimed,
    result.ok ? 'Normal' : 'Warning',
    `${hook} Hook ${result.skipped ? 'Skipped' : result.ok ? 'Succeeded' : 'Failed'}`,
    result.message,
    host,
  );
  log[result.ok ? 'info' : 'error'](`${type}: ${result.message}`, { hook: hook === 'PreRestore' ? 'preRestore' : 'postRestore' });
  return result.ok ? 'ok' : { message: result.message };
}

async function waitFor(run: HostRun, done: (s: RestoreSession) => boolean, timeoutMs: number): Promise<RestoreSession> {
  const { cluster, opts } = run;
  const key = `${opts.namespace}/${opts.name}`;
  const deadline = Date.now() + timeoutMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    let s: RestoreSession | undefined;
    try {
      s = await cluster.session(opts.namespace, opts.name);
    } catch (e) {
      if (!isTransient(e)) throw e;
      run.log.warn(`waiting for another host's result: ${errorMessage(e)}`, { code: apiErrorCode(e) }); // an outage: read again
    }
    if (s && done(s)) return s;
    if (Date.now() > deadline) {
      throw new AgentError(
        'WaitTimedOut',
        `gave up waiting after ${Math.round(timeoutMs / 1000)} s for another host's hook result on RestoreSession ${key}: see that host's log`,
        { kind: 'RestoreSession', object: key, timeoutMs },
      );
    }
    if (opts.signal.aborted) throw new AgentError('Interrupted', 'interrupted', { kind: 'RestoreSession', object: key });
    await new Promise((r) => setTimeout(r, delay));
  }
}

export const scratchDirFor = (root: string) => join(root, 'tmp');
