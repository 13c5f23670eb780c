// Task restores (SPEC "Task restores"): Stash's Function-Task model resolved into a restore Job's pod.
export type { TaskErrorCode } from './errors.ts';
export { TaskError } from './errors.ts';
export type { Variables } from './substitute.ts';
export { substitute, substituteDeep } from './substitute.ts';
export type { VariableInput } from './variables.ts';
export { INTERIM_DATA_DIR, INTERIM_MOUNT_PATH, INTERIM_VOLUME, STASH_DATA_DIR, stashVariables, TMP_DIR, TMP_VOLUME } from './variables.ts';
export type { ResolvedTask, ResolveOptions } from './resolve.ts';
export { applyContainerSettings, resolveTask } from './resolve.ts';
