// RestoreSession conditions (SPEC Phase and conditions): types, reasons and the upsert rule.
import type { Condition } from '../api/meta.ts';

export const CONDITION = {
  RepositoryFound: 'RepositoryFound',
  BackendSecretFound: 'BackendSecretFound',
  RestoreTargetFound: 'RestoreTargetFound',
  ValidationPassed: 'ValidationPassed',
  RestoreExecutorEnsured: 'RestoreExecutorEnsured',
  StashInitContainerInjected: 'StashInitContainerInjected',
  RestoreJobCreated: 'RestoreJobCreated',
  PreRestoreHookExecutionSucceeded: 'PreRestoreHookExecutionSucceeded',
  PostRestoreHookExecutionSucceeded: 'PostRestoreHookExecutionSucceeded',
  DeadlineExceeded: 'DeadlineExceeded',
  RestoreCompleted: 'RestoreCompleted',
} as const;
export type ConditionType = (typeof CONDITION)[keyof typeof CONDITION];

export const REASON = {
  RepositoryAvailable: 'RepositoryAvailable',
  RepositoryNotAvailable: 'RepositoryNotAvailable',
  BackendSecretAvailable: 'BackendSecretAvailable',
  BackendSecretNotAvailable: 'BackendSecretNotAvailable',
  TargetAvailable: 'TargetAvailable',
  TargetNotAvailable: 'TargetNotAvailable',
  UnableToCheckTargetAvailability: 'UnableToCheckTargetAvailability',
  ValidationSucceeded: 'ValidationSucceeded',
  ValidationFailed: 'ValidationFailed',
  InitContainerInjectionSucceeded: 'InitContainerInjectionSucceeded',
  InitContainerInjectionFailed: 'InitContainerInjectionFailed',
  RestoreJobCreationSucceeded: 'RestoreJobCreationSucceeded',
  RestoreJobCreationFailed: 'RestoreJobCreationFailed',
  VolumeSnapshotRestoreEnsured: 'VolumeSnapshotRestoreEnsured',
  FailedToEnsureRestoreExecutor: 'FailedToEnsureRestoreExecutor',
  SuccessfullyExecutedHook: 'SuccessfullyExecutedHook',
  FailedToExecuteHook: 'FailedToExecuteHook',
  HookSkippedByPolicy: 'HookSkippedByPolicy',
  /** The hook's agent is gone without running it (or without its result): it will never run. */
  HookNotExecuted: 'HookNotExecuted',
  HookRunning: 'HookRunning',
  DeadlineExceeded: 'DeadlineExceeded',
  AllHostsSucceeded: 'AllHostsSucceeded',
  SomeHostsFailed: 'SomeHostsFailed',
  SomeHostsUnknown: 'SomeHostsUnknown',
} as const;

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

export function isTrue(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True';
}

export function isFalse(conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'False';
}

/**
 * Sets a condition, returning a new list. `lastTransitionTime` moves only when the status
 * changes, so re-asserting a condition every resync writes nothing new.
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: Omit<Condition, 'lastTransitionTime'>, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const merged: Condition = { ...next, lastTransitionTime };
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list;
}
