// One reconcile of one RestoreSession: level-triggered and idempotent, so the controller can be
// killed at any instant and resumed (issue 7). Reads the world, makes the executor's objects
// exist, then writes the status the SPEC asks for, or nothing when nothing changed.
import type { HostRestoreStats, RestorePhase, RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { isFinalPhase, repositoryOf } from '../api/restoresession.ts';
import { chooseExecutor } from '../hosts/resolve.ts';
import { validateLiveSession } from '../manifests/index.ts';
import { CONDITION, REASON, findCondition, setCondition } from '../session/conditions.ts';
import { formatDuration, parseDuration } from '../session/duration.ts';
import { withHostStat } from '../session/host-stats.ts';
import { computePhase } from '../session/phase.ts';
import type { ControllerCluster } from './cluster.ts';
import { ensureInitContainer, removeInitContainer } from './executors/init-container.ts';
import { deleteJobs, ensureJobs } from './executors/job.ts';
import type { ConditionUpdate, ExecutorConfig, ExecutorState } from './executors/types.ts';
import { ensureSnapshotClaims } from './executors/volume-snapshot.ts';
import { interimClaim } from './claims.ts';
import { agentTrouble } from './agent-pods.ts';

export const FINALIZER = 'restore.gitops/cleanup';

export interface ReconcileConfig extends ExecutorConfig {
  now?: () => Date;
  /** How soon to look again at a session that is still running (default 2 s). */
  pollMs?: number;
  /** How soon to look again at a session waiting for its Repository, Secret or target (default 5 s). */
  waitMs?: number;
  log?: (line: string) => void;
}

export interface ReconcileResult {
  /** Look again after this long (a running session, a missing dependency). */
  requeueAfterMs?: number;
  phase?: RestorePhase;
}

export async function reconcileSession(cluster: ControllerCluster, cfg: ReconcileConfig, namespace: string, name: string): Promise<ReconcileResult> {
  const now = cfg.now ?? (() => new Date());
  let session = await cluster.session(namespace, name);
  if (!session) return {};
  const ctxBase = { cluster, config: cfg, session };

  if (session.metadata.deletionTimestamp) {
    if (session.metadata.finalizers?.includes(FINALIZER)) {
      await cleanup(cluster, cfg, session);
      await cluster.replaceSession({ ...session, metadata: { ...session.metadata, finalizers: session.metadata.finalizers.filter((f) => f !== FINALIZER) } });
    }
    return {};
  }
  if (!session.metadata.finalizers?.includes(FINALIZER)) {
    session = await cluster.replaceSession({ ...session, metadata: { ...session.metadata, finalizers: [...(session.metadata.finalizers ?? []), FINALIZER] } });
  }
  if (isFinalPhase(session.status?.phase)) return { phase: session.status!.phase };

  const conditions: ConditionUpdate[] = [];
  const errors = validateLiveSession(session);
  if (errors.length) {
    const message = errors.map((d) => `${d.path ? `${d.path}: ` : ''}${d.message}`).join('; ');
    return write(cluster, cfg, session, [{ type: CONDITION.ValidationPassed, status: 'False', reason: REASON.ValidationFailed, message }], {}, now());
  }
  conditions.push({ type: CONDITION.ValidationPassed, status: 'True', reason: REASON.ValidationSucceeded, message: 'the session follows the RestoreSession rules' });

  // The deadline stops the executor: Jobs are deleted, agents that start later skip.
  const deadline = sessionDeadline(session);
  if (deadline && deadline.getTime() <= now().getTime()) {
    if (chooseExecutor(session) === 'job') await deleteJobs(ctxBase);
    conditions.push({ type: CONDITION.DeadlineExceeded, status: 'True', reason: REASON.DeadlineExceeded, message: `timeOut ${session.spec.timeOut} passed at ${deadline.toISOString()}` });
    return write(cluster, cfg, session, conditions, {}, now());
  }

  const executor = chooseExecutor(session);
  let state: ExecutorState;
  if (executor === 'volume-snapshot') {
    state = await ensureSnapshotClaims(ctxBase);
  } else {
    const ref = repositoryOf(session)!;
    if (cluster.namespace && ref.namespace !== cluster.namespace) {
      // A controller confined to its namespace (a Role there) cannot read another namespace's Repository.
      const message = `Repository ${ref.namespace}/${ref.name} is outside namespace ${cluster.namespace}, the only one this controller may read (it runs with --namespace ${cluster.namespace}): put the Repository in ${cluster.namespace}, or run the controller cluster-wide`;
      conditions.push({ type: CONDITION.RepositoryFound, status: 'False', reason: REASON.RepositoryNotAvailable, message });
      return { ...(await write(cluster, cfg, session, conditions, {}, now())), requeueAfterMs: cfg.waitMs ?? 5000 };
    }
    const repository = await cluster.repository(ref.namespace, ref.name);
    if (!repository) {
      conditions.push({ type: CONDITION.RepositoryFound, status: 'False', reason: REASON.RepositoryNotAvailable, message: `Repository ${ref.namespace}/${ref.name} does not exist` });
      return { ...(await write(cluster, cfg, session, conditions, {}, now())), requeueAfterMs: cfg.waitMs ?? 5000 };
    }
    conditions.push({ type: CONDITION.RepositoryFound, status: 'True', reason: REASON.RepositoryAvailable, message: `Repository ${ref.namespace}/${ref.name} found` });
    const secret = repository.spec.backend.storageSecretName ?? '';
    if (!secret || !(await cluster.secretExists(ref.namespace, secret))) {
      conditions.push({ type: CONDITION.BackendSecretFound, status: 'False', reason: REASON.BackendSecretNotAvailable, message: `Secret ${ref.namespace}/${secret || '(storageSecretName not set)'} does not exist` });
      return { ...(await write(cluster, cfg, session, conditions, {}, now())), requeueAfterMs: cfg.waitMs ?? 5000 };
    }
    conditions.push({ type: CONDITION.BackendSecretFound, status: 'True', reason: REASON.BackendSecretAvailable, message: `Secret ${ref.namespace}/${secret} found` });
    const ctx = { ...ctxBase, repository };
    state = executor === 'init-container' ? await ensureInitContainer(ctx) : await ensureJobs(ctx);
  }
  conditions.push(...state.conditions);
  const result = await write(cluster, cfg, session, conditions, state, now());
  if (isFinalPhase(result.phase)) return result;
  if (state.targetFound && executor !== 'volume-snapshot') await reportAgentTrouble(cluster, session);
  const poll = state.targetFound ? (cfg.pollMs ?? 2000) : (cfg.waitMs ?? 5000);
  // Back right after the deadline, whatever else wakes it (or not) before.
  const untilDeadline = deadline ? Math.max(0, deadline.getTime() - now().getTime()) + 50 : Infinity;
  return { ...result, requeueAfterMs: Math.min(poll, untilDeadline) };
}

export function sessionDeadline(s: RestoreSession): Date | undefined {
  if (s.status?.sessionDeadline) return new Date(s.status.sessionDeadline);
  const ms = s.spec.timeOut ? parseDuration(s.spec.timeOut) : undefined;
  if (ms === undefined || !s.metadata.creationTimestamp) return undefined;
  return new Date(new Date(s.metadata.creationTimestamp).getTime() + ms);
}

/** The status the controller owns, merged into the latest one (agents own their stats and hook conditions). */
export function nextStatus(latest: RestoreSession, conditions: ConditionUpdate[], state: Partial<ExecutorState>, now: Date): RestoreSessionStatus {
  let status: RestoreSessionStatus = { ...latest.status };
  let conds = status.conditions;
  for (const c of conditions) conds = setCondition(conds, c, now);
  status.conditions = conds;
  for (const stat of state.stats ?? []) status = withHostStat(status, stat as HostRestoreStats);
  if (state.totalHosts !== undefined) status.totalHosts = state.totalHosts;
  const deadline = sessionDeadline(latest);
  if (deadline) status.sessionDeadline = deadline.toISOString().replace(/\.\d{3}Z$/, 'Z');
  let phase = computePhase({ conditions: status.conditions, stats: status.stats, totalHosts: status.totalHosts });
  // The postRestore hook runs once every host reported, and its failure fails the session:
  // the session is not final until the hook's condition says how it went.
  const post = findCondition(status.conditions, CONDITION.PostRestoreHookExecutionSucceeded)?.status;
  if (latest.spec.hooks?.postRestore && (phase === 'Succeeded' || phase === 'Failed' || phase === 'Unknown') && post !== 'True' && post !== 'False' && !findCondition(status.conditions, CONDITION.DeadlineExceeded)) {
    phase = 'Running';
  }
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

async function write(cluster: ControllerCluster, cfg: ReconcileConfig, session: RestoreSession, conditions: ConditionUpdate[], state: Partial<ExecutorState>, now: Date): Promise<ReconcileResult> {
  const before = session.status?.phase;
  const written = await cluster.updateStatus(session, (latest) => {
    if (isFinalPhase(latest.status?.phase)) return undefined;
    const next = nextStatus(latest, conditions, state, now);
    return JSON.stringify(next) === JSON.stringify(latest.status ?? {}) ? undefined : next;
  });
  const after = written.status?.phase;
  if (after && after !== before) {
    const failed = after === 'Failed' || after === 'Invalid' || after === 'Unknown';
    const why = written.status?.conditions?.filter((c) => c.status === 'False' || c.type === CONDITION.DeadlineExceeded).map((c) => c.message).filter(Boolean).join('; ');
    const hosts = written.status?.totalHosts !== undefined ? ` (${(written.status.stats ?? []).filter((s) => s.phase === 'Succeeded').length}/${written.status.totalHosts} hosts succeeded)` : '';
    await cluster.event(written, failed ? 'Warning' : 'Normal', `RestoreSession ${after}`, `${before ?? 'New'} → ${after}${hosts}${failed && why ? `: ${why}` : ''}`);
    cfg.log?.(`${session.metadata.namespace}/${session.metadata.name}: ${before ?? 'New'} → ${after}${hosts}`);
  }
  return { phase: after };
}

/** A Warning event on the session for each agent container that cannot run (once per occurrence). */
async function reportAgentTrouble(cluster: ControllerCluster, session: RestoreSession): Promise<void> {
  for (const pod of await cluster.sessionPods(session.metadata.namespace!, session.metadata.name)) {
    const trouble = agentTrouble(pod);
    if (!trouble || cluster.reported.has(trouble.occurrence)) continue;
    cluster.reported.add(trouble.occurrence);
    await cluster.event(session, 'Warning', 'Restore Agent Failing', trouble.message);
  }
}

/** What deleting a session takes away: the injection, its Jobs, its interim PVC. Nothing else. */
async function cleanup(cluster: ControllerCluster, cfg: ReconcileConfig, session: RestoreSession): Promise<void> {
  const ctx = { cluster, config: cfg, session };
  const executor = chooseExecutor(session);
  if (executor === 'init-container') await removeInitContainer(ctx);
  if (executor === 'job') await deleteJobs(ctx);
  const interim = interimClaim(session);
  if (interim) await cluster.deleteClaim(session.metadata.namespace!, interim.metadata.name);
}
