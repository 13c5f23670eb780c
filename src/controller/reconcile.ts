// One reconcile of one RestoreSession: level-triggered and idempotent, so the controller can be
// killed at any instant and resumed (issue 7). Reads the world, makes the executor's objects
// exist, then writes the status the SPEC asks for, or nothing when nothing changed.
//
// The steps: a deleted session is cleaned up and let go (finalize); a new one gets the finalizer;
// then validation, the deadline, the executor's dependencies (the Repository and its Secret, for
// Restic sessions), the executor itself, and one status write. What decides (validationCondition,
// dependencyConditions, requeueAfter, phaseChange) is pure; the rest is the I/O around it.
import { CLEANUP_FINALIZER } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import type { HostRestoreStats, RestorePhase, RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { isFinalPhase, repositoryOf } from '../api/restoresession.ts';
import { matchesLabelSelector } from '../api/label-selector.ts';
import { canonicalJson } from '../common/canonical-json.ts';
import { nullLogger } from '../common/log.ts';
import type { Logger } from '../common/log.ts';
import { chooseExecutor, unsupportedTargetKind, unsupportedTask } from '../hosts/resolve.ts';
import type { Executor } from '../hosts/types.ts';
import { validateLiveSession } from '../manifests/index.ts';
import { CONDITION, REASON, findCondition, setCondition } from '../session/conditions.ts';
import { formatDuration, parseDuration } from '../session/duration.ts';
import { withHostStat } from '../session/host-stats.ts';
import { sessionPhase, tallyHosts } from '../session/phase.ts';
import { RECORD_ANNOTATION, correctedStatus, phaseFollows, readRecord, recordText, recordWith, statusMatchesRecord } from '../session/record.ts';
import type { ControllerCluster } from './cluster.ts';
import { isConflict } from '../kube/api-error.ts';
import { ensureInitContainer, removeInitContainer, restoreUpdateStrategy } from './executors/init-container.ts';
import { deleteJobs, ensureJobs } from './executors/job.ts';
import type { ConditionUpdate, ExecutorConfig, ExecutorState } from './executors/types.ts';
import { ensureSnapshotClaims } from './executors/volume-snapshot.ts';
import { removeRepositoryAccess } from './executors/agent-rbac.ts';
import { interimClaim } from './claims.ts';
import { agentMayRun, agentTrouble } from './agent-pods.ts';
import type { AgentTrouble } from './agent-pods.ts';

export const FINALIZER = CLEANUP_FINALIZER;
const EMPTY_RECORD = recordText({ stats: [], conditions: [], kept: 'full' });

export interface ReconcileConfig extends ExecutorConfig {
  now?: () => Date;
  /** How soon to look again at a session that is still running (default 2 s). */
  pollMs?: number;
  /** How soon to look again at a session waiting for its Repository, Secret or target (default 5 s). */
  waitMs?: number;
  /**
   * Instead of waitMs, for what the controller's watches see and wake the session for (its
   * Repository, Secret, a target Deployment, StatefulSet or DaemonSet): the safety net only.
   */
  watchedWaitMs?: number;
  /**
   * How long a restore agent may stay unable to run (unschedulable, image not pulled, crash loop,
   * refused pods) before its session fails with the reason (default 10 min; timeOut, when sooner, wins).
   */
  stuckAfterMs?: number;
  /** How long every host may have reported with the postRestore hook undecided and no agent left to run it (default 1 min). */
  orphanedHookAfterMs?: number;
  /** Phase changes (info, warn when the session failed) and agent trouble (warn), with the session's namespace and name. */
  log?: Logger;
}

export interface ReconcileResult {
  /** Look again after this long (a running session, a missing dependency). */
  requeueAfterMs?: number;
  /** Waiting for something: each requeue in a row with nothing new may wait twice as long, up to this (the queue's backoff). */
  backoffUpToMs?: number;
  phase?: RestorePhase;
}

const WAIT_MS = 5000;
const STUCK_AFTER_MS = 600_000;
const ORPHANED_HOOK_AFTER_MS = 60_000;
const POLL_MS = 2000;

/** One reconcile's world: the cluster, the config, the session as read, its logger and clock. */
interface Reconcile {
  cluster: ControllerCluster;
  cfg: ReconcileConfig;
  session: RestoreSession;
  log: Logger;
  now: () => Date;
}

export async function reconcileSession(cluster: ControllerCluster, cfg: ReconcileConfig, namespace: string, name: string): Promise<ReconcileResult> {
  const found = await cluster.session(namespace, name);
  if (!found) return {};
  const log = (cfg.log ?? nullLogger).child({ namespace, name });
  const r: Reconcile = { cluster, cfg, session: found, log, now: cfg.now ?? (() => new Date()) };
  if (found.metadata.deletionTimestamp) {
    await finalize(r);
    return {};
  }
  r.session = await ensureFinalizer(r);
  const settled = await settledStatus(r);
  if (settled) return settled;

  const validation = validationCondition(r.session);
  if (validation.status === 'False') return write(r, [validation], {});
  const conditions: ConditionUpdate[] = [validation];

  // The deadline stops the executor: Jobs are deleted, agents that start later skip.
  const deadline = sessionDeadline(r.session);
  if (deadline && deadline.getTime() <= r.now().getTime()) {
    if (chooseExecutor(r.session) === 'job') await deleteJobs({ cluster, config: cfg, session: r.session });
    conditions.push({
      type: CONDITION.DeadlineExceeded,
      status: 'True',
      reason: REASON.DeadlineExceeded,
      message: `timeOut ${r.session.spec.timeOut} passed at ${deadline.toISOString()}`,
    });
    return write(r, conditions, {});
  }

  // A Task the restore Job cannot carry out fails at once: never a Job that "succeeds" restoring nothing.
  const taskName = r.session.spec.task?.name;
  const task = unsupportedTask(r.session, Boolean(taskName && (await cluster.task(taskName))));
  if (task)
    return write(
      r,
      [...conditions, { type: CONDITION.RestoreExecutorEnsured, status: 'False', reason: REASON.FailedToEnsureRestoreExecutor, message: task }],
      {},
    );

  const executor = chooseExecutor(r.session);
  const ensured = await ensureExecutor(r, executor);
  conditions.push(...ensured.conditions);
  if (!ensured.state) return { ...(await write(r, conditions, {})), ...waiting(cfg.watchedWaitMs ?? cfg.waitMs ?? WAIT_MS, deadline, r.now()) };
  const state = ensured.state;
  conditions.push(...state.conditions);
  const trouble = state.targetFound && executor !== 'volume-snapshot' ? await agentTroubles(r, state.troubles ?? []) : {};
  if (trouble.stuck) conditions.push(trouble.stuck);
  const hook = state.targetFound && executor !== 'volume-snapshot' ? await orphanedPostRestore(r, state) : {};
  if (hook.notRun) conditions.push(hook.notRun);
  const result = await write(r, conditions, state);
  // Jobs stuck for good are stopped, as at the deadline (a failed pod's Job stays, for its logs).
  if (trouble.stuck && isFinalPhase(result.phase) && executor === 'job') await deleteJobs({ cluster, config: cfg, session: r.session });
  if (isFinalPhase(result.phase) && executor === 'init-container') await restoreUpdateStrategy({ cluster, config: cfg, session: r.session });
  if (isFinalPhase(result.phase) && executor !== 'volume-snapshot') await removeRepositoryAccess(cluster, r.session);
  if (isFinalPhase(result.phase)) return result;
  if (!state.targetFound) return { ...result, ...waiting(targetWaitMs(r.session, cfg), deadline, r.now()) };
  const requeue = requeueAfter(state.targetFound, cfg, deadline, r.now());
  const soonest = Math.min(requeue, trouble.untilStuckMs ?? Infinity, hook.untilNotRunMs ?? Infinity);
  return { ...result, requeueAfterMs: soonest };
}

const MAX_WAIT_MS = 300_000;
const WATCHED_TARGET_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/** How soon a session whose target is missing is looked at again: the watched wait when a watch sees that kind appear. */
export function targetWaitMs(s: RestoreSession, cfg: Pick<ReconcileConfig, 'waitMs' | 'watchedWaitMs'>): number {
  const watched = chooseExecutor(s) === 'init-container' && WATCHED_TARGET_KINDS.has(s.spec.target?.ref?.kind ?? '');
  return (watched ? cfg.watchedWaitMs : undefined) ?? cfg.waitMs ?? WAIT_MS;
}

/** A wait's requeue: after `waitMs` (or right after the deadline), backing off while nothing changes, never past the deadline. */
export function waiting(waitMs: number, deadline: Date | undefined, now: Date): Pick<ReconcileResult, 'requeueAfterMs' | 'backoffUpToMs'> {
  const requeueAfterMs = requeueAfter(false, { waitMs }, deadline, now);
  return { requeueAfterMs, backoffUpToMs: Math.max(requeueAfterMs, requeueAfter(false, { waitMs: MAX_WAIT_MS }, deadline, now)) };
}

/** A deleted session: its executor's objects go (cleanup), then the finalizer, so the API server lets it go. */
async function finalize(r: Reconcile): Promise<void> {
  const { cluster, session } = r;
  if (!session.metadata.finalizers?.includes(FINALIZER)) return;
  await cleanup(cluster, r.cfg, session);
  await cluster.replaceSession({ ...session, metadata: { ...session.metadata, finalizers: session.metadata.finalizers.filter((f) => f !== FINALIZER) } });
}

async function ensureFinalizer(r: Reconcile): Promise<RestoreSession> {
  const { session } = r;
  if (session.metadata.finalizers?.includes(FINALIZER)) return session;
  return r.cluster.replaceSession({ ...session, metadata: { ...session.metadata, finalizers: [...(session.metadata.finalizers ?? []), FINALIZER] } });
}

/** ValidationPassed: True, or False with every problem (`path: message`, joined by `; `). */
export function validationCondition(session: RestoreSession): ConditionUpdate {
  const errors: { path?: string; message: string }[] = validateLiveSession(session);
  const kind = unsupportedTargetKind(session);
  if (kind) errors.push({ path: 'spec.target.ref.kind', message: kind });
  if (!errors.length)
    return { type: CONDITION.ValidationPassed, status: 'True', reason: REASON.ValidationSucceeded, message: 'the session follows the RestoreSession rules' };
  const message = errors.map((d) => `${d.path ? `${d.path}: ` : ''}${d.message}`).join('; ');
  return { type: CONDITION.ValidationPassed, status: 'False', reason: REASON.ValidationFailed, message };
}

/**
 * The executor's work made to exist, with the conditions about its dependencies; no state when
 * a dependency is missing (the session then waits as Pending and is looked at again).
 */
async function ensureExecutor(r: Reconcile, executor: Executor): Promise<{ conditions: ConditionUpdate[]; state?: ExecutorState }> {
  const ctxBase = { cluster: r.cluster, config: r.cfg, session: r.session };
  if (executor === 'volume-snapshot') return { conditions: [], state: await ensureSnapshotClaims(ctxBase) };
  const deps = await readDependencies(r);
  const conditions = dependencyConditions(deps);
  if (deps.repository) {
    const refused = usageRefusal(deps.repository, r.session.metadata.namespace!, await namespaceLabelsIfNeeded(r, deps.repository));
    if (refused)
      return {
        conditions: [
          ...conditions,
          { type: CONDITION.ValidationPassed, status: 'False', reason: REASON.ValidationFailed, message: `spec.repository: ${refused}` },
        ],
      };
  }
  if (!deps.repository || !deps.secretFound) return { conditions };
  const ctx = { ...ctxBase, repository: deps.repository };
  return { conditions, state: executor === 'init-container' ? await ensureInitContainer(ctx) : await ensureJobs(ctx) };
}

/**
 * Why the Repository's usagePolicy.allowedNamespaces refuses a session of `namespace`, or undefined
 * when it allows it (Stash's validateAgainstUsagePolicy, enforced here for every session, whoever
 * created it): its own namespace always; `Same` (the default) nothing else; `All` any;
 * `Selector` namespaces whose labels match. Pure.
 */
export function usageRefusal(repository: Repository, namespace: string, namespaceLabels: Record<string, string> | undefined): string | undefined {
  const repoNs = repository.metadata.namespace;
  if (repoNs === namespace) return undefined;
  const allowed = repository.spec.usagePolicy?.allowedNamespaces;
  const from = allowed?.from ?? 'Same';
  const refused = `namespace "${namespace}" is not allowed to use Repository ${repoNs}/${repository.metadata.name}`;
  if (from === 'All') return undefined;
  if (from === 'Selector') {
    if (namespaceLabels && matchesLabelSelector(namespaceLabels, allowed?.selector)) return undefined;
    return `${refused}: ${namespaceLabels ? 'its labels do not match usagePolicy.allowedNamespaces.selector' : 'the namespace does not exist'}; label the namespace, or change the Repository's usagePolicy`;
  }
  return `${refused}: its usagePolicy.allowedNamespaces.from is ${from} (only ${repoNs}); set from: All or Selector on the Repository, or restore from a Repository in ${namespace}`;
}

async function namespaceLabelsIfNeeded(r: Reconcile, repository: Repository): Promise<Record<string, string> | undefined> {
  const ns = r.session.metadata.namespace!;
  if (repository.metadata.namespace === ns || repository.spec.usagePolicy?.allowedNamespaces?.from !== 'Selector') return undefined;
  return r.cluster.namespaceLabels(ns);
}

/** What a Restic session needs before its executor can start, as read from the cluster. */
export interface Dependencies {
  ref: { namespace: string; name: string };
  /** The namespace a confined controller (`--namespace`) may read, when the Repository is outside it. */
  outsideNamespace?: string;
  repository?: Repository;
  secretName: string;
  secretFound: boolean;
}

async function readDependencies(r: Reconcile): Promise<Dependencies> {
  const { cluster } = r;
  const ref = repositoryOf(r.session)!;
  // A controller confined to its namespace (a Role there) cannot read another namespace's Repository.
  if (cluster.namespace && ref.namespace !== cluster.namespace) return { ref, outsideNamespace: cluster.namespace, secretName: '', secretFound: false };
  const repository = await cluster.repository(ref.namespace, ref.name);
  const secretName = repository?.spec.backend.storageSecretName ?? '';
  const secretFound = Boolean(repository && secretName && (await cluster.secretExists(ref.namespace, secretName)));
  return { ref, ...(repository ? { repository } : {}), secretName, secretFound };
}

/** RepositoryFound and BackendSecretFound, as far as they could be checked (SPEC Phase and conditions). */
export function dependencyConditions(deps: Dependencies): ConditionUpdate[] {
  const { ref } = deps;
  const repo = `${ref.namespace}/${ref.name}`;
  if (deps.outsideNamespace) {
    const ns = deps.outsideNamespace;
    const message = `Repository ${repo} is outside namespace ${ns}, the only one this controller may read (it runs with --namespace ${ns}): put the Repository in ${ns}, or run the controller cluster-wide`;
    return [{ type: CONDITION.RepositoryFound, status: 'False', reason: REASON.RepositoryNotAvailable, message }];
  }
  if (!deps.repository)
    return [{ type: CONDITION.RepositoryFound, status: 'False', reason: REASON.RepositoryNotAvailable, message: `Repository ${repo} does not exist` }];
  const found: ConditionUpdate = { type: CONDITION.RepositoryFound, status: 'True', reason: REASON.RepositoryAvailable, message: `Repository ${repo} found` };
  if (!deps.secretFound) {
    return [
      found,
      {
        type: CONDITION.BackendSecretFound,
        status: 'False',
        reason: REASON.BackendSecretNotAvailable,
        message: `Secret ${ref.namespace}/${deps.secretName || '(storageSecretName not set)'} does not exist`,
      },
    ];
  }
  return [
    found,
    { type: CONDITION.BackendSecretFound, status: 'True', reason: REASON.BackendSecretAvailable, message: `Secret ${ref.namespace}/${deps.secretName} found` },
  ];
}

/** How soon a session still under way is looked at again: poll while its target exists, wait otherwise, and right after its deadline. */
export function requeueAfter(targetFound: boolean, cfg: Pick<ReconcileConfig, 'pollMs' | 'waitMs'>, deadline: Date | undefined, now: Date): number {
  const poll = targetFound ? (cfg.pollMs ?? POLL_MS) : (cfg.waitMs ?? WAIT_MS);
  const untilDeadline = deadline ? Math.max(0, deadline.getTime() - now.getTime()) + 50 : Infinity;
  return Math.min(poll, untilDeadline);
}

export function sessionDeadline(s: RestoreSession): Date | undefined {
  if (s.status?.sessionDeadline) return new Date(s.status.sessionDeadline);
  const ms = s.spec.timeOut ? parseDuration(s.spec.timeOut) : undefined;
  if (ms === undefined || !s.metadata.creationTimestamp) return undefined;
  return new Date(new Date(s.metadata.creationTimestamp).getTime() + ms);
}

/** The status the controller owns, merged into the latest one (agents own their stats and hook conditions). */
export function nextStatus(latest: RestoreSession, conditions: ConditionUpdate[], state: Partial<ExecutorState>, now: Date): RestoreSessionStatus {
  // What the agents and this controller wrote stands over an edit by hand (record.ts).
  let status: RestoreSessionStatus = correctedStatus(latest.status, readRecord(latest), latest.spec);
  let conds = status.conditions;
  for (const c of conditions) conds = setCondition(conds, c, now);
  status.conditions = conds;
  // The controller's stats (a Job that died, a PVC bound) never replace a result an agent wrote meanwhile.
  for (const stat of state.stats ?? []) if (!hostFinal(status, stat.hostname)) status = withHostStat(status, stat as HostRestoreStats);
  if (state.totalHosts !== undefined) status.totalHosts = state.totalHosts;
  const deadline = sessionDeadline(latest);
  if (deadline) status.sessionDeadline = deadline.toISOString().replace(/\.\d{3}Z$/, 'Z');
  // The postRestore hook runs once every host reported, and its failure fails the session:
  // the session is not final until the hook's condition says how it went (sessionPhase).
  const phase = sessionPhase({
    conditions: status.conditions,
    stats: status.stats,
    totalHosts: status.totalHosts,
    postRestore: !!latest.spec.hooks?.postRestore,
  });
  status.phase = phase;
  if (isFinalPhase(phase)) {
    const created = latest.metadata.creationTimestamp ? new Date(latest.metadata.creationTimestamp).getTime() : now.getTime();
    status.sessionDuration ??= formatDuration(now.getTime() - created);
    if (phase !== 'Invalid') {
      const reason = phase === 'Succeeded' ? REASON.AllHostsSucceeded : phase === 'Unknown' ? REASON.SomeHostsUnknown : REASON.SomeHostsFailed;
      status.conditions = setCondition(status.conditions, { type: CONDITION.RestoreCompleted, status: 'True', reason, message: `restore ${phase}` }, now);
    }
  }
  return status;
}

function hostFinal(status: RestoreSessionStatus, host: string): boolean {
  const phase = status.stats?.find((s) => s.hostname === host)?.phase;
  return phase === 'Succeeded' || phase === 'Failed' || phase === 'Unknown';
}

/**
 * A session the controller is done with, or whose status was edited by hand: with a final status
 * in its record, the status is that (restored when it differs: a phase, a stat or the whole status
 * changed by hand); a final status that follows from itself (written before the record existed, or
 * just before a crash) is recorded. Undefined: the session is still to be driven (a final phase set
 * by hand is not final: nextStatus computes it again from the record and the stats).
 */
async function settledStatus(r: Reconcile): Promise<ReconcileResult | undefined> {
  const { cluster, session } = r;
  const record = readRecord(session);
  if (record.final) {
    if (statusMatchesRecord(session)) return { phase: record.final.phase };
    const restored = await cluster.updateStatus(session, (latest) =>
      statusMatchesRecord(latest) ? undefined : correctedStatus(latest.status, readRecord(latest), latest.spec),
    );
    r.log.warn(`the status was changed by hand; restored the ${record.final.phase} status the agents and the controller wrote`, {
      phase: record.final.phase,
      ...(session.status?.phase ? { edited: session.status.phase } : {}),
    });
    return { phase: restored.status?.phase ?? record.final.phase };
  }
  if (!isFinalPhase(session.status?.phase) || !phaseFollows(session.status, session.spec) || !statusMatchesRecord(session)) {
    if (session.status && !statusMatchesRecord(session))
      r.log.warn("the status was changed by hand; correcting it from the hosts' recorded results", {
        ...(session.status.phase ? { edited: session.status.phase } : {}),
      });
    return undefined;
  }
  await keepRecord(r, session);
  return { phase: session.status!.phase };
}

/**
 * Records what the status as written holds (final host stats, decided hook conditions, the final
 * status) in the session's record annotation, where an edit of the status does not reach. After
 * the status write: a crash in between leaves a status the next reconcile records.
 */
async function keepRecord(r: Reconcile, written: RestoreSession): Promise<void> {
  let current = written;
  for (let attempt = 1; ; attempt++) {
    const before = current.metadata.annotations?.[RECORD_ANNOTATION];
    const next = recordText(recordWith(readRecord(current), current.status, current.spec));
    if (next === before || (!before && next === EMPTY_RECORD)) return;
    try {
      const replaced = await r.cluster.replaceSession({
        ...current,
        metadata: { ...current.metadata, annotations: { ...current.metadata.annotations, [RECORD_ANNOTATION]: next } },
      });
      r.session = replaced;
      return;
    } catch (e) {
      const fresh = attempt < 3 && isConflict(e) ? await r.cluster.session(current.metadata.namespace!, current.metadata.name) : undefined;
      if (!fresh) throw e;
      current = fresh;
    }
  }
}

/** The event and log line of a phase change, or undefined when the phase did not change. */
export function phaseChange(
  before: RestorePhase | undefined,
  written: RestoreSession,
): { type: 'Normal' | 'Warning'; reason: string; message: string; line: string } | undefined {
  const after = written.status?.phase;
  if (!after || after === before) return undefined;
  const failed = after === 'Failed' || after === 'Invalid' || after === 'Unknown';
  const why = written.status?.conditions
    ?.filter((c) => c.status === 'False' || c.type === CONDITION.DeadlineExceeded)
    .map((c) => c.message)
    .filter(Boolean)
    .join('; ');
  const hosts =
    written.status?.totalHosts !== undefined
      ? ` (${(written.status.stats ?? []).filter((s) => s.phase === 'Succeeded').length}/${written.status.totalHosts} hosts succeeded)`
      : '';
  const line = `${before ?? 'New'} → ${after}${hosts}`;
  return { type: failed ? 'Warning' : 'Normal', reason: `RestoreSession ${after}`, message: `${line}${failed && why ? `: ${why}` : ''}`, line };
}

async function write(r: Reconcile, conditions: ConditionUpdate[], state: Partial<ExecutorState>): Promise<ReconcileResult> {
  const { cluster, session } = r;
  const now = r.now();
  const before = session.status?.phase;
  const written = await cluster.updateStatus(session, (latest) => {
    if (readRecord(latest).final || (isFinalPhase(latest.status?.phase) && phaseFollows(latest.status, latest.spec))) return undefined;
    const next = nextStatus(latest, conditions, state, now);
    // Compared key-order blind: kube-apiserver returns keys sorted, so a plain stringify differs from what nextStatus builds and every reconcile would write again.
    return canonicalJson(next) === canonicalJson(latest.status ?? {}) ? undefined : next;
  });
  await keepRecord(r, written);
  const change = phaseChange(before, written);
  if (change) {
    await cluster.event(written, change.type, change.reason, change.message);
    r.log[change.type === 'Warning' ? 'warn' : 'info'](change.line, { phase: written.status!.phase, ...(before ? { from: before } : {}) });
  }
  return { phase: written.status?.phase };
}

/**
 * Agents that cannot run (stuck pods, refused Job pods): a Warning event on the session for each
 * (once per occurrence); one stuck for longer than `stuckAfterMs` (as this controller saw it) gives
 * RestoreExecutorEnsured=False, so the session fails with the reason instead of running for ever.
 */
async function agentTroubles(r: Reconcile, fromExecutor: AgentTrouble[]): Promise<{ stuck?: ConditionUpdate; untilStuckMs?: number }> {
  const { cluster, session } = r;
  const troubles = [...fromExecutor];
  for (const pod of await cluster.sessionPods(session.metadata.namespace!, session.metadata.name)) {
    const trouble = agentTrouble(pod);
    if (trouble) troubles.push(trouble);
  }
  const now = r.now().getTime();
  const patience = r.cfg.stuckAfterMs ?? STUCK_AFTER_MS;
  let stuck: AgentTrouble | undefined;
  let untilStuckMs: number | undefined;
  for (const trouble of troubles) {
    if (!cluster.reported.has(trouble.occurrence)) {
      cluster.reported.add(trouble.occurrence);
      await cluster.event(session, 'Warning', 'Restore Agent Failing', trouble.message);
      r.log.warn(trouble.message, { ...(trouble.pod ? { pod: trouble.pod } : {}), reason: trouble.reason });
    }
    const since = cluster.troubleSince.get(trouble.since) ?? now;
    cluster.troubleSince.set(trouble.since, since);
    const left = since + patience - now;
    if (left <= 0) stuck ??= trouble;
    else untilStuckMs = Math.min(untilStuckMs ?? Infinity, left + 50);
  }
  if (!stuck) return untilStuckMs !== undefined ? { untilStuckMs } : {};
  // The injected template stays until the session goes (SPEC): say how to give the workload back.
  const ref = session.spec.target?.ref;
  const giveBack = chooseExecutor(session) === 'init-container' && ref ? `; delete the RestoreSession to take stash-init out of ${ref.kind} ${ref.name}` : '';
  const message = `${stuck.message} (for more than ${formatDuration(patience)})${giveBack}`;
  return { stuck: { type: CONDITION.RestoreExecutorEnsured, status: 'False', reason: REASON.FailedToEnsureRestoreExecutor, message } };
}

/**
 * The postRestore hook runs in the agent of the host that completes the set (SPEC Hooks). Once
 * every host reported, with the hook not decided (absent, or claimed by a host: Unknown), and no
 * agent of the session left that could still run it, it never will: PostRestoreHookExecutionSucceeded
 * =False (HookNotExecuted) with why, after `orphanedHookAfterMs` without one (a pod rolling in).
 */
async function orphanedPostRestore(r: Reconcile, state: ExecutorState): Promise<{ notRun?: ConditionUpdate; untilNotRunMs?: number }> {
  const { cluster, session } = r;
  if (!session.spec.hooks?.postRestore) return {};
  const post = findCondition(session.status?.conditions, CONDITION.PostRestoreHookExecutionSucceeded);
  if (post && post.status !== 'Unknown') return {};
  let status: RestoreSessionStatus = { ...session.status };
  for (const stat of state.stats ?? []) status = withHostStat(status, stat as HostRestoreStats);
  const total = state.totalHosts ?? status.totalHosts;
  const t = tallyHosts(status.stats);
  if (total === undefined || t.succeeded + t.failed + t.unknown < total) return {};
  const key = `${session.metadata.uid ?? `${session.metadata.namespace}/${session.metadata.name}`}/postRestore`;
  const pods = await cluster.sessionPods(session.metadata.namespace!, session.metadata.name);
  if (pods.some(agentMayRun)) {
    cluster.troubleSince.delete(key);
    return {};
  }
  const now = r.now().getTime();
  const since = cluster.troubleSince.get(key) ?? now;
  cluster.troubleSince.set(key, since);
  const left = since + (r.cfg.orphanedHookAfterMs ?? ORPHANED_HOOK_AFTER_MS) - now;
  if (left > 0) return { untilNotRunMs: left + 50 };
  const claimedBy = post?.status === 'Unknown' ? /^running on host (.+)$/.exec(post.message ?? '')?.[1] : undefined;
  const message = claimedBy
    ? `postRestore hook did not finish: it was running on host ${claimedBy}, whose restore agent is gone without its result; see that pod's log, and run the hook by hand if it is needed`
    : "postRestore hook was not run: every host reported, but no restore agent of this session is left to run it (the last host's agent ended first); run the hook by hand if it is needed";
  return { notRun: { type: CONDITION.PostRestoreHookExecutionSucceeded, status: 'False', reason: REASON.HookNotExecuted, message } };
}

/** What deleting a session takes away: the injection, its Jobs, its interim PVC. Nothing else. */
async function cleanup(cluster: ControllerCluster, cfg: ReconcileConfig, session: RestoreSession): Promise<void> {
  const ctx = { cluster, config: cfg, session };
  const executor = chooseExecutor(session);
  if (executor === 'init-container') await removeInitContainer(ctx);
  if (executor === 'job') await deleteJobs(ctx);
  const interim = interimClaim(session);
  if (interim) await cluster.deleteClaim(session.metadata.namespace!, interim.metadata.name);
  await removeRepositoryAccess(cluster, session);
}
