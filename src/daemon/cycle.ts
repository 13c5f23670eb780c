// What a daemon cycle decides, as pure functions of its inputs: whether the source moved, whether
// anything changed since the last clean cycle (then nothing is planned), what a plan's errors and
// an apply's outcome mean for the report. Daemon.cycle does the I/O around them.
import type { AppliedAction } from '../apply/applier.ts';
import type { Action, Plan } from '../plan/types.ts';
import type { Suspension } from '../status/types.ts';
import type { SourceRevision } from '../source/types.ts';
import { hasChanges } from '../source/types.ts';

/** The source handed out something new: a first revision, changed files or another commit. */
export function sourceMoved(rev: Pick<SourceRevision, 'initial' | 'changed' | 'commit'>, lastCommit: string | null | undefined): boolean {
  return !!rev.initial || hasChanges(rev.changed) || rev.commit !== lastCommit;
}

/**
 * What a plan is made from, as one key: the source's generation, the live objects' (undefined when
 * they were read by a LIST, which claims no sameness) and the executions' version.
 */
export function cycleInputs(
  sourceGeneration: number,
  liveGeneration: number | undefined,
  executionsVersion: number,
  suspension?: Suspension,
): string | undefined {
  if (liveGeneration === undefined) return undefined;
  return `${sourceGeneration}/${liveGeneration}/${executionsVersion}${suspension?.suspended ? `/suspended ${suspension.at}` : ''}`;
}

/** Actions that change the cluster; a suspended daemon holds them all. */
const CHANGES: ReadonlySet<Action['action']> = new Set(['create', 'update', 'rerun', 'prune']);

/**
 * The plan of a suspended daemon (`restorectl suspend`): every create, update, rerun and prune is
 * blocked with who suspended it, when and why, so nothing is recorded, created or deleted and each
 * held restore says so; noops stand, so running sessions are still followed. Not suspended: the plan.
 */
export function suspendPlan(plan: Plan, suspension: Suspension | undefined, cluster: string): Plan {
  if (!suspension?.suspended) return plan;
  const why = `held: the daemon is suspended (by ${suspension.by || '?'} at ${suspension.at || '?'}: ${suspension.reason || 'no reason given'}); it goes ahead after \`restorectl resume --cluster ${cluster}\``;
  return { ...plan, actions: plan.actions.map((a) => (CHANGES.has(a.action) ? { ...a, action: 'blocked', reason: `${a.action} ${why}` } : a)) };
}

export interface CycleMemory {
  /** The inputs of the last clean cycle. */
  lastInputs: string | undefined;
  /** Executions not yet pushed to the status branch. */
  ledgerDirty: boolean;
  hasLastPlan: boolean;
}

/** Nothing to plan: the same inputs as the last clean cycle, and nothing left to push. */
export function unchanged(inputs: string | undefined, memory: CycleMemory): boolean {
  return inputs !== undefined && inputs === memory.lastInputs && !memory.ledgerDirty && memory.hasLastPlan;
}

/** The report's error for a plan with error diagnostics (the valid files are still applied), else undefined. */
export function planErrorText(plan: Pick<Plan, 'diagnostics'>): string | undefined {
  const n = plan.diagnostics.filter((x) => x.severity === 'error').length;
  return n ? `the source has ${n} error${n === 1 ? '' : 's'} (listed in the log and STATUS.md)` : undefined;
}

/** What an apply means for the cycle: which actions failed, and which sessions were created (the controller follows those at once). */
export function appliedOutcome(applied: AppliedAction[]): { failed: AppliedAction[]; createdSessions: AppliedAction[] } {
  return {
    failed: applied.filter((a) => !a.ok),
    createdSessions: applied.filter((a) => a.ok && a.action.kind === 'RestoreSession' && a.action.action === 'create'),
  };
}

/** The log line of an action carried out: `create RestoreSession demo/sts-restore`. */
export function actionText(a: AppliedAction): string {
  return `${a.action.action} ${a.action.kind} ${a.action.namespace}/${a.action.name}`;
}

/** The first retry after a cycle that could not reach the git remote, doubled per such cycle up to OUTAGE_RETRY_MAX_MS. */
export const OUTAGE_RETRY_MS = 1000;
export const OUTAGE_RETRY_MAX_MS = 8000;

/**
 * How long until the next cycle (before jitter): the interval; while the git remote is unreachable
 * (`outages` cycles in a row), sooner: 1 s doubling up to 8 s, so the daemon notices a remote that
 * came back within seconds, not a full interval later.
 */
export function nextCycleDelayMs(intervalMs: number, outages: number): number {
  if (outages <= 0) return intervalMs;
  return Math.min(intervalMs, OUTAGE_RETRY_MS * 2 ** Math.min(outages - 1, 10), OUTAGE_RETRY_MAX_MS);
}
