// The session phase, recomputed from conditions and host stats on every status write (SPEC
// Phase and conditions).
import type { Condition } from '../api/meta.ts';
import type { HostRestoreStats, RestorePhase } from '../api/restoresession.ts';
import { CONDITION, isFalse, isTrue } from './conditions.ts';

const FAILING_WHEN_FALSE = [
  CONDITION.RestoreExecutorEnsured,
  CONDITION.StashInitContainerInjected,
  CONDITION.RestoreJobCreated,
  CONDITION.PreRestoreHookExecutionSucceeded,
  CONDITION.PostRestoreHookExecutionSucceeded,
];
const WAITING_WHEN_FALSE = [CONDITION.RepositoryFound, CONDITION.BackendSecretFound, CONDITION.RestoreTargetFound];

export interface PhaseInput {
  conditions: readonly Condition[] | undefined;
  stats: readonly HostRestoreStats[] | undefined;
  /** Undefined while the hosts are not known yet. */
  totalHosts: number | undefined;
}

export interface HostTally {
  succeeded: number;
  failed: number;
  unknown: number;
  running: number;
}

export function tallyHosts(stats: readonly HostRestoreStats[] | undefined): HostTally {
  const t: HostTally = { succeeded: 0, failed: 0, unknown: 0, running: 0 };
  for (const s of stats ?? []) {
    if (s.phase === 'Succeeded') t.succeeded++;
    else if (s.phase === 'Failed') t.failed++;
    else if (s.phase === 'Unknown') t.unknown++;
    else t.running++;
  }
  return t;
}

export function computePhase({ conditions, stats, totalHosts }: PhaseInput): RestorePhase {
  if (isFalse(conditions, CONDITION.ValidationPassed)) return 'Invalid';
  if (isTrue(conditions, CONDITION.DeadlineExceeded)) return 'Failed';
  if (FAILING_WHEN_FALSE.some((c) => isFalse(conditions, c))) return 'Failed';
  if (WAITING_WHEN_FALSE.some((c) => isFalse(conditions, c))) return 'Pending';
  const started = [CONDITION.RestoreExecutorEnsured, CONDITION.StashInitContainerInjected, CONDITION.RestoreJobCreated].some((c) => isTrue(conditions, c));
  const t = tallyHosts(stats);
  // Zero hosts (a workload scaled to 0) completes only once the executor is in place.
  if (totalHosts !== undefined && t.succeeded + t.failed + t.unknown >= totalHosts && (totalHosts > 0 || started)) {
    if (t.unknown > 0) return 'Unknown';
    if (t.failed > 0) return 'Failed';
    return 'Succeeded';
  }
  return started ? 'Running' : 'Pending';
}

/**
 * The phase a status says, as the controller writes it: computePhase, held Running while a
 * postRestore hook (`postRestore`: the spec has one) has not said how it went, unless the deadline
 * passed. A status whose final phase differs from this was not written by the controller.
 */
export function sessionPhase(input: PhaseInput & { postRestore: boolean }): RestorePhase {
  const phase = computePhase(input);
  const post = input.conditions?.find((c) => c.type === CONDITION.PostRestoreHookExecutionSucceeded)?.status;
  const held =
    input.postRestore &&
    (phase === 'Succeeded' || phase === 'Failed' || phase === 'Unknown') &&
    post !== 'True' &&
    post !== 'False' &&
    !isTrue(input.conditions, CONDITION.DeadlineExceeded);
  return held ? 'Running' : phase;
}
