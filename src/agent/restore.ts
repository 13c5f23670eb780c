// `restorectl agent restore`: one host's restore, from reading its session to the final stat
// (SPEC Agent, Hooks; issue 6). Exactly-once per host: a host with a final stat is skipped, so a
// restarted pod never restores twice.
//
// The steps, in order: skip if there is nothing to do (skipReason); for a Deployment, take the
// workload's restore Lease (holdRestoreLease); read the Repository and its Secret (openRepository);
// preRestore once per session; the host's rule (unmatchedHostStat when none applies); restic with
// progress (runRestore); postRestore once per session when this host completed the set
// (postRestoreDecision). The decisions are pure functions; the rest is I/O around them.
import { join } from 'node:path';
import type { Repository } from '../api/repository.ts';
import type { HostProgress, HostRestoreStats, RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { effectiveRules, isFinalPhase, repositoryOf } from '../api/restoresession.ts';
import { errorMessage } from '../common/errors.ts';
import { nullLogger } from '../common/log.ts';
import type { Logger } from '../common/log.ts';
import { Redactor } from '../common/redact.ts';
import { planHost } from '../hosts/rules.ts';
import type { HostPlan } from '../hosts/types.ts';
import { CONDITION, REASON, findCondition, setCondition } from '../session/conditions.ts';
import { formatDuration } from '../session/duration.ts';
import { hostFinished, hostStat, withHostStat } from '../session/host-stats.ts';
import { restoreLeaseName } from '../session/names.ts';
import { tallyHosts } from '../session/phase.ts';
import type { AgentCluster } from './cluster.ts';
import { AgentError } from './errors.ts';
import { runHook } from './hooks.ts';
import type { HookResult } from './hooks.ts';
import type { HostFrom } from './host.ts';
import { hostIdentity } from './host.ts';
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
}

export interface AgentOutcome {
  /** Process exit code: 0 restored or rightly skipped, 1 this host failed. */
  code: 0 | 1;
  message: string;
}

const LEASE_KINDS = new Set(['Deployment', 'DeploymentConfig']);
const LEASE_SECONDS = 60;

/** What one host's run works with, once its session and host are known. */
interface HostRun {
  cluster: AgentCluster;
  opts: AgentOptions;
  session: RestoreSession;
  host: string;
  log: Logger;
  now: () => Date;
}

function deadlinePassed(s: RestoreSession, now: Date): boolean {
  const d = s.status?.sessionDeadline;
  return Boolean(d && new Date(d).getTime() < now.getTime()) || findCondition(s.status?.conditions, CONDITION.DeadlineExceeded)?.status === 'True';
}

/** Why this host has nothing to do (final session, deadline passed, host already reported), or undefined. */
export function skipReason(session: RestoreSession, host: string, now: Date): string | undefined {
  if (isFinalPhase(session.status?.phase)) return `session is ${session.status!.phase}: nothing to do`;
  if (deadlinePassed(session, now)) return 'session is past its deadline: not restoring';
  if (hostFinished(session, host)) return `already ${hostStat(session.status, host)!.phase}: a restarted pod does not restore again`;
  return undefined;
}

export async function runAgent(cluster: AgentCluster, restorer: HostRestorer, opts: AgentOptions): Promise<AgentOutcome> {
  const now = opts.now ?? (() => new Date());
  const session = await cluster.session(opts.namespace, opts.name);
  const host = hostIdentity(session, opts.hostFrom, opts.env);
  const run: HostRun = { cluster, opts, session, host, now, log: (opts.log ?? nullLogger).child({ namespace: opts.namespace, name: opts.name, host }) };
  const why = skipReason(session, host, now());
  if (why) return skip(run, why);

  // A Deployment's pods share one host: one restores, the others wait for its result.
  const kind = session.spec.target?.ref?.kind;
  if (!kind || !LEASE_KINDS.has(kind)) return restoreHost(run, restorer);
  const lease = await holdRestoreLease(run, kind, session.spec.target!.ref!.name);
  if ('outcome' in lease) return lease.outcome;
  try {
    return await restoreHost({ ...run, session: lease.session }, restorer);
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
  for (let announced = false; !(await cluster.acquireLease(namespace, lease, holder, LEASE_SECONDS)); announced = true) {
    if (!announced) log.info(`another pod holds Lease ${lease}; waiting for it`, { lease });
    const session = await cluster.session(namespace, name);
    if (hostFinished(session, host) || isFinalPhase(session.status?.phase)) {
      return { outcome: skip(run, `restored by another pod of ${kind} ${workload}: ${hostStat(session.status, host)?.phase ?? session.status?.phase}`) };
    }
    if (Date.now() > deadline || opts.signal.aborted) return { outcome: { code: 1, message: `gave up waiting for Lease ${lease}` } };
    await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000));
  }
  // Another pod may have finished between our first read and taking the Lease.
  const session = await cluster.session(namespace, name);
  if (hostFinished(session, host)) {
    await cluster.releaseLease(namespace, lease, holder);
    return { outcome: skip(run, `already ${hostStat(session.status, host)!.phase}: restored by another pod`) };
  }
  const renew = setInterval(() => void cluster.acquireLease(namespace, lease, holder, LEASE_SECONDS).catch(() => undefined), (LEASE_SECONDS * 1000) / 3);
  const release = async () => {
    clearInterval(renew);
    await cluster.releaseLease(namespace, lease, holder).catch(() => undefined);
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
  if (!ref) throw new AgentError('RepositoryNotNamed', `RestoreSession ${key} names no repository: set spec.repository.name`, { kind: 'RestoreSession', object: key });
  const repository = await cluster.repository(ref.namespace, ref.name);
  const secretName = repository.spec.backend.storageSecretName;
  if (!secretName) {
    throw new AgentError('StorageSecretNotNamed', `Repository ${ref.namespace}/${ref.name} has no spec.backend.storageSecretName: name the Secret holding RESTIC_PASSWORD`, { kind: 'Repository', object: `${ref.namespace}/${ref.name}` });
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

async function restoreHost(run: HostRun, restorer: HostRestorer): Promise<AgentOutcome> {
  const { cluster, session, host, log, now } = run;
  const started = now();
  const elapsed = () => formatDuration(now().getTime() - started.getTime());
  const repo = await openRepository(run);
  const hookCtx = { defaultHost: run.opts.env.POD_IP || '127.0.0.1', redactor: repo.redactor };
  const fail = async (error: string): Promise<AgentOutcome> => {
    const safe = repo.redactor.text(error);
    await writeStat(run, { hostname: host, phase: 'Failed', duration: elapsed(), error: safe });
    await cluster.event(session, 'Warning', 'Host Restore Failed', `host ${host}: ${safe}`, host);
    log.error(`Failed: ${safe}`, { error: safe });
    return { code: 1, message: safe };
  };

  // preRestore: once per session, by whichever host claims it first.
  const pre = session.spec.hooks?.preRestore;
  if (pre) {
    const outcome = await onceForSession(run, CONDITION.PreRestoreHookExecutionSucceeded, () => runHook(pre, hookCtx));
    if (outcome === 'failed-elsewhere') return { code: 0, message: 'preRestore hook failed on another host: not restoring' };
    if (outcome !== 'ok') return fail(`preRestore hook failed: ${outcome.message}`);
  }

  const plan = planHost(effectiveRules(session.spec).rules, host);
  let outcome: AgentOutcome;
  if (!plan.restores) {
    await writeStat(run, unmatchedHostStat(host, plan));
    log.info('no matching rule, nothing restored');
    outcome = { code: 0, message: 'nothing to restore' };
  } else {
    try {
      await runRestore(run, restorer, repo, plan, started);
      outcome = { code: 0, message: 'restored' };
    } catch (e) {
      outcome = await fail(run.opts.signal.aborted ? 'interrupted' : errorMessage(e));
    }
  }
  await afterHost(run, hookCtx);
  return outcome;
}

function writeStat(run: HostRun, stat: HostRestoreStats): Promise<RestoreSession> {
  return run.cluster.updateStatus(run.opts.namespace, run.opts.name, (s) => withHostStat(s.status, stat));
}

/** restic for this host's plan, its progress written every progressIntervalMs, and the Succeeded stat. Throws when the restore fails. */
async function runRestore(run: HostRun, restorer: HostRestorer, repo: OpenRepository, plan: HostPlan, started: Date): Promise<void> {
  const { cluster, opts, session, host, log, now } = run;
  const elapsed = () => formatDuration(now().getTime() - started.getTime());
  await writeStat(run, { hostname: host, phase: 'Running' });
  await cluster.event(session, 'Normal', 'Host Restore Started', restoreStartedMessage(host, plan), host);

  let latest: HostProgress = {};
  let dirty = false;
  const ticker = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    void writeStat(run, { hostname: host, phase: 'Running', progress: latest, duration: elapsed() }).catch(() => undefined);
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
      onProgress: (p) => {
        latest = p;
        dirty = true;
      },
    });
  } finally {
    clearInterval(ticker);
  }
  const snapshots = result.snapshots.join(', ');
  await writeStat(run, { hostname: host, phase: 'Succeeded', duration: elapsed(), progress: result.progress, snapshot: result.snapshots.join(',') });
  await cluster.event(session, 'Normal', 'Host Restore Succeeded', `host ${host}: restored snapshot ${snapshots}`, host);
  log.info(`Succeeded (snapshot ${snapshots})`, { snapshot: result.snapshots });
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
async function afterHost(run: HostRun, hookCtx: { defaultHost: string; redactor: Redactor }): Promise<void> {
  const post = run.session.spec.hooks?.postRestore;
  if (!post) return;
  const latest = await run.cluster.session(run.opts.namespace, run.opts.name);
  const decision = postRestoreDecision(latest.status, post.executionPolicy);
  if (!decision.run) return;
  await onceForSession(run, CONDITION.PostRestoreHookExecutionSucceeded, async () =>
    decision.skipReason ? { ok: true, message: decision.skipReason, skipped: true } : runHook(post, hookCtx),
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
  const claimed = await cluster.updateStatus(opts.namespace, opts.name, (s): RestoreSessionStatus | undefined => {
    mine = false; // called again after a conflict: decide afresh on the latest status
    const c = findCondition(s.status?.conditions, type);
    if (c && (c.status !== 'Unknown' || c.message !== claimMessage)) return undefined; // decided, or claimed by another host
    mine = true;
    return { ...s.status, conditions: setCondition(s.status?.conditions, { type, status: 'Unknown', reason: 'HookRunning', message: claimMessage }, new Date()) };
  });
  if (!mine) {
    const done = await waitFor(run, (s) => findCondition(s.status?.conditions, type)?.status !== 'Unknown', opts.waitTimeoutMs ?? 3600_000);
    return findCondition(done.status?.conditions, type)?.status === 'True' ? 'ok' : 'failed-elsewhere';
  }
  const result = await work();
  const reason = result.skipped ? REASON.HookSkippedByPolicy : result.ok ? REASON.SuccessfullyExecutedHook : REASON.FailedToExecuteHook;
  await cluster.updateStatus(opts.namespace, opts.name, (s) => ({
    ...s.status,
    conditions: setCondition(s.status?.conditions, { type, status: result.ok ? 'True' : 'False', reason, message: result.message }, new Date()),
  }));
  const hook = type === CONDITION.PreRestoreHookExecutionSucceeded ? 'PreRestore' : 'PostRestore';
  await cluster.event(claimed, result.ok ? 'Normal' : 'Warning', `${hook} Hook ${result.skipped ? 'Skipped' : result.ok ? 'Succeeded' : 'Failed'}`, result.message, host);
  log[result.ok ? 'info' : 'error'](`${type}: ${result.message}`, { hook: hook === 'PreRestore' ? 'preRestore' : 'postRestore' });
  return result.ok ? 'ok' : { message: result.message };
}

async function waitFor(run: HostRun, done: (s: RestoreSession) => boolean, timeoutMs: number): Promise<RestoreSession> {
  const { cluster, opts } = run;
  const key = `${opts.namespace}/${opts.name}`;
  const deadline = Date.now() + timeoutMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    const s = await cluster.session(opts.namespace, opts.name);
    if (done(s)) return s;
    if (Date.now() > deadline) {
      throw new AgentError('WaitTimedOut', `gave up waiting after ${Math.round(timeoutMs / 1000)} s for another host's hook result on RestoreSession ${key}: see that host's log`, { kind: 'RestoreSession', object: key, timeoutMs });
    }
    if (opts.signal.aborted) throw new AgentError('Interrupted', 'interrupted', { kind: 'RestoreSession', object: key });
    await new Promise((r) => setTimeout(r, delay));
  }
}

export const scratchDirFor = (root: string) => join(root, 'tmp');
