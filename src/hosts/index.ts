// Hosts: which hosts a RestoreSession has and what each one restores (SPEC Hosts and Rules).
export type { Executor, HostPlan, HostResolution, Node } from './types.ts';
export { matchRule, planHost } from './rules.ts';
export type { TaskDispatch } from './resolve.ts';
export {
  JOB_TARGET_KINDS,
  chooseExecutor,
  resolveHosts,
  snapshotClaims,
  taskDispatch,
  unsupportedTargetKind,
  unsupportedTask,
  withOrdinal,
} from './resolve.ts';
