// `restorectl agent restore`: one host's restore, from reading its session to the final stat
// (SPEC Agent, Hooks; issue 6). Exactly-once per host: a host with a final stat is skipped, so a
// restarted pod never restores twice.
import { join } from 'node:path';
import type { HostProgress, HostRestoreStats, RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { effectiveRules, isFinalPhase, repositoryOf } from '../api/restoresession.ts';
import { planHost } from '../hosts/rules.ts';
import { CONDITION, REASON, findCondition, setCondition } from '../session/conditions.ts';
import { formatDuration } from '../session/duration.ts';
import { restoreLeaseName } from '../session/names.ts';
import { tallyHosts } from '../session/phase.ts';
import type { AgentCluster } from './cluster.ts';
import { runHook } from './hooks.ts';
import { redact } from '../restic/redact.ts';
import type { HostFrom } from './host.ts';
import { hostIdentity } from './host.ts';
import { hostFinished, hostStat, withHostStat } from '../session/host-stats.ts';
import type { HostRestorer } from './restorer.ts';

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
  log: (line: string) => void;
  now?: () => Date;
}

export interface AgentOutcome {
  /** Process exit code: 0 restored or rightly skipped, 1 this host failed. */
  code: 0 | 1;
  message: string;
}

const LEASE_KINDS = new Set(['Deployment', 'DeploymentConfig']);
const LEASE_SECONDS = 60;

function deadlinePassed(s: RestoreSession, now: Date): boolean {
  const d = s.status?.sessionDeadline;
  return Boolean(d && new Date(d).getTime() < now.getTime()) || findCondition(s.status?.conditions, CONDITION.DeadlineExceeded)?.status === 'True';
}

/** A function that removes every secret value from a text (restic's redaction rules). */
export function redactor(secrets: Iterable<string>): (text: string) => string {
  const values = [...secrets];
  return (text) => redact(text, values);
}

export async function runAgent(cluster: AgentCluster, restorer: HostRestorer, opts: AgentOptions): Promise<AgentOutcome> {
  const now = opts.now ?? (() => new Date());
  const { namespace, name, log } = opts;
  let session = await cluster.session(namespace, name);
  const host = hostIdentity(session, opts.hostFrom, opts.env);
  const skip = (message: string): AgentOutcome => {
    log(`host ${host}: ${message}`);
    return { code: 0, message };
  };

  if (isFinalPhase(session.status?.phase)) return skip(`session is ${session.status!.phase}: nothing to do`);
  if (deadlinePassed(session, now())) return skip('session is past its deadline: not restoring');
  if (hostFinished(session, host)) return skip(`already ${hostStat(session.status, host)!.phase}: a restarted pod does not restore again`);

  // A Deployment's pods share one host: one restores, the others wait for its result. The Lease
  // is per workload (SPEC), so it is released when this host is done, for the next session.
  const kind = session.spec.target?.ref?.kind;
  const holder = opts.env.POD_NAME || host;
  let lease: string | undefined;
  let leaseTimer: NodeJS.Timeout | undefined;
  if (kind && LEASE_KINDS.has(kind)) {
    lease = restoreLeaseName(kind, session.spec.target!.ref!.name);
    const deadline = Date.now() + (opts.waitTimeoutMs ?? 24 * 3600_000);
    for (let announced = false; !(await cluster.acquireLease(namespace, lease, holder, LEASE_SECONDS)); announced = true) {
      if (!announced) log(`host ${host}: another pod holds Lease ${lease}; waiting for it`);
      session = await cluster.session(namespace, name);
      if (hostFinished(session, host) || isFinalPhase(session.status?.phase)) {
        return skip(`restored by another pod of ${kind} ${session.spec.target!.ref!.name}: ${hostStat(session.status, host)?.phase ?? session.status?.phase}`);
      }
      if (Date.now() > deadline || opts.signal.aborted) return { code: 1, message: `gave up waiting for Lease ${lease}` };
      await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000));
    }
    // Another pod may have finished between our first read and taking the Lease.
    session = await cluster.session(namespace, name);
    if (hostFinished(session, host)) {
      await cluster.releaseLease(namespace, lease, holder);
      return skip(`already ${hostStat(session.status, host)!.phase}: restored by another pod`);
    }
    const held = lease;
    leaseTimer = setInterval(() => void cluster.acquireLease(namespace, held, holder, LEASE_SECONDS).catch(() => undefined), (LEASE_SECONDS * 1000) / 3);
  }

  try {
    return await restoreHost(cluster, restorer, opts, session, host, now);
  } finally {
    if (leaseTimer) clearInterval(leaseTimer);
    if (lease) await cluster.releaseLease(namespace, lease, holder).catch(() => undefined);
  }
}

async function restoreHost(cluster: AgentCluster, restorer: HostRestorer, opts: AgentOptions, session: RestoreSession, host: string, now: () => Date): Promise<AgentOutcome> {
  const { namespace, name, log } = opts;
  const started = now();
  const writeStat = (stat: HostRestoreStats) => cluster.updateStatus(namespace, name, (s) => withHostStat(s.status, stat));

  // Repository, Secret and the redaction of every value in it.
  const repoRef = repositoryOf(session);
  if (!repoRef) throw new Error(`RestoreSession ${namespace}/${name} names no repository`);
  const repository = await cluster.repository(repoRef.namespace, repoRef.name);
  const secretName = repository.spec.backend.storageSecretName;
  if (!secretName) throw new Error(`Repository ${repoRef.namespace}/${repoRef.name} has no spec.backend.storageSecretName`);
  const secret = await cluster.secretData(repoRef.namespace, secretName);
  const redact = redactor(Object.values(secret));

  const fail = async (error: string): Promise<AgentOutcome> => {
    const safe = redact(error);
    await writeStat({ hostname: host, phase: 'Failed', duration: formatDuration(now().getTime() - started.getTime()), error: safe });
    await cluster.event(session, 'Warning', 'Host Restore Failed', `host ${host}: ${safe}`, host);
    log(`host ${host}: Failed: ${safe}`);
    return { code: 1, message: safe };
  };

  // preRestore: once per session, by whichever host claims it first.
  const pre = session.spec.hooks?.preRestore;
  if (pre) {
    const outcome = await onceForSession(cluster, opts, CONDITION.PreRestoreHookExecutionSucceeded, host, async () => runHook(pre, { defaultHost: opts.env.POD_IP || '127.0.0.1', redact }));
    if (outcome === 'failed-elsewhere') return { code: 0, message: 'preRestore hook failed on another host: not restoring' };
    if (outcome !== 'ok') return fail(`preRestore hook failed: ${outcome.message}`);
  }

  const plan = planHost(effectiveRules(session.spec).rules, host);
  if (!plan.restores) {
    await writeStat({ hostname: host, phase: 'Succeeded', duration: '0s', error: plan.rule === undefined ? 'no rule matches this host: nothing restored' : `rule ${plan.rule} names neither paths nor snapshots: nothing restored` });
    log(`host ${host}: no matching rule, nothing restored`);
    await afterHost(cluster, opts, session, host, redact);
    return { code: 0, message: 'nothing to restore' };
  }

  await writeStat({ hostname: host, phase: 'Running' });
  await cluster.event(session, 'Normal', 'Host Restore Started', `host ${host}: restoring ${plan.snapshots ? `snapshots ${plan.snapshots.join(', ')}` : `${plan.paths!.join(', ')}`} from ${plan.sourceHost}`, host);

  let latest: HostProgress = {};
  let dirty = false;
  const ticker = setInterval(() => {
    if (!dirty) return;
    dirty = false;
    void writeStat({ hostname: host, phase: 'Running', progress: latest, duration: formatDuration(now().getTime() - started.getTime()) }).catch(() => undefined);
  }, opts.progressIntervalMs ?? 5000);
  try {
    const result = await restorer.restore({
      session,
      repository,
      secret,
      plan,
      root: opts.root,
      scratchDir: opts.scratchDir,
      signal: opts.signal,
      onProgress: (p) => {
        latest = p;
        dirty = true;
      },
    });
    clearInterval(ticker);
    await writeStat({
      hostname: host,
      phase: 'Succeeded',
      duration: formatDuration(now().getTime() - started.getTime()),
      progress: result.progress,
      snapshot: result.snapshots.join(','),
    });
    await cluster.event(session, 'Normal', 'Host Restore Succeeded', `host ${host}: restored snapshot ${result.snapshots.join(', ')}`, host);
    log(`host ${host}: Succeeded (snapshot ${result.snapshots.join(', ')})`);
  } catch (e) {
    clearInterval(ticker);
    const outcome = await fail(opts.signal.aborted ? 'interrupted' : (e as Error).message);
    await afterHost(cluster, opts, session, host, redact);
    return outcome;
  }
  await afterHost(cluster, opts, session, host, redact);
  return { code: 0, message: 'restored' };
}

/** postRestore, once per session, when this host's stat completed the set. */
async function afterHost(cluster: AgentCluster, opts: AgentOptions, session: RestoreSession, host: string, redact: (t: string) => string): Promise<void> {
  const post = session.spec.hooks?.postRestore;
  if (!post) return;
  const latest = await cluster.session(opts.namespace, opts.name);
  const total = latest.status?.totalHosts;
  const t = tallyHosts(latest.status?.stats);
  if (total === undefined || t.succeeded + t.failed + t.unknown < total) return;
  const policy = post.executionPolicy ?? 'Always';
  const anyFailed = t.failed > 0 || t.unknown > 0;
  const skipReason = policy === 'OnSuccess' && anyFailed ? 'a host failed' : policy === 'OnFailure' && !anyFailed ? 'every host succeeded' : undefined;
  await onceForSession(cluster, opts, CONDITION.PostRestoreHookExecutionSucceeded, host, async () =>
    skipReason
      ? { ok: true, message: `skipped by executionPolicy ${policy}: ${skipReason}`, skipped: true }
      : runHook(post, { defaultHost: opts.env.POD_IP || '127.0.0.1', redact }),
  );
}

type OnceOutcome = 'ok' | 'failed-elsewhere' | { message: string };

/**
 * Runs `work` on exactly one host of the session: the host that first records the condition as
 * Unknown/HookRunning (a status write with resourceVersion, so only one wins) runs it and records
 * the result; the others wait for that result.
 */
async function onceForSession(
  cluster: AgentCluster,
  opts: AgentOptions,
  type: string,
  host: string,
  work: () => Promise<{ ok: boolean; message: string; skipped?: boolean }>,
): Promise<OnceOutcome> {
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
    const done = await waitFor(cluster, opts.namespace, opts.name, (s) => findCondition(s.status?.conditions, type)?.status !== 'Unknown', opts.waitTimeoutMs ?? 3600_000, opts.signal);
    return findCondition(done.status?.conditions, type)?.status === 'True' ? 'ok' : 'failed-elsewhere';
  }
  const result = await work();
  const reason = result.skipped ? REASON.HookSkippedByPolicy : result.ok ? REASON.SuccessfullyExecutedHook : REASON.FailedToExecuteHook;
  await cluster.updateStatus(opts.namespace, opts.name, (s) => ({
    ...s.status,
    conditions: setCondition(s.status?.conditions, { type, status: result.ok ? 'True' : 'False', reason, message: result.message }, new Date()),
  }));
  await cluster.event(claimed, result.ok ? 'Normal' : 'Warning', `${type === CONDITION.PreRestoreHookExecutionSucceeded ? 'PreRestore' : 'PostRestore'} Hook ${result.skipped ? 'Skipped' : result.ok ? 'Succeeded' : 'Failed'}`, result.message, host);
  opts.log(`host ${host}: ${type}: ${result.message}`);
  return result.ok ? 'ok' : { message: result.message };
}

async function waitFor(cluster: AgentCluster, namespace: string, name: string, done: (s: RestoreSession) => boolean, timeoutMs: number, signal: AbortSignal): Promise<RestoreSession> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5000)) {
    const s = await cluster.session(namespace, name);
    if (done(s)) return s;
    if (Date.now() > deadline) throw new Error(`gave up waiting after ${Math.round(timeoutMs / 1000)} s`);
    if (signal.aborted) throw new Error('interrupted');
    await new Promise((r) => setTimeout(r, delay));
  }
}

export const scratchDirFor = (root: string) => join(root, 'tmp');
