// src/restic: everything about restic the rest of the program needs, with restic 0.14's real
// behaviour (see each module's header):
// - pattern.ts   include/exclude semantics of `restic restore` (preview, selection)
// - backend.ts   Repository + Secret → RESTIC_REPOSITORY, env, files, global flags
// - commands.ts  a matched rule → the restore command lines (SPEC "restic")
// - runner.ts    run restic: resolve latest, totals, progress, abort, redacted failures
// - host-restorer.ts  the agent's HostRestorer: one host's plan → restic, progress summed
export { ResticError, isResticError } from './errors.ts';
export type { ResticErrorCode, ResticErrorData } from './errors.ts';
export { goFilepathClean, goFilepathMatch, invalidPatterns, isRestored, makeSelector, previewRestore, resticChildMatch, resticMatch } from './pattern.ts';
export type { NodeSelection, RestoreFilter, RestorePreview, Selector, SnapshotEntry } from './pattern.ts';
export { resticBackend, writeBackendFiles } from './backend.ts';
export type { BackendFile, BackendOptions, ResticBackend, SecretData } from './backend.ts';
export { CACHE_DIR_NAME, cacheArgs, latestSnapshotArgv, lsArgv, restoreSteps, resticArgv, statsArgv, withSnapshot, wrapperArgv } from './commands.ts';
export type { CommandContext, RestoreInput, RestoreStep } from './commands.ts';
export { ResticRunner, processWrittenBytes, tail } from './runner.ts';
export { ResticHostRestorer } from './host-restorer.ts';
export type { ResticHostJob, ResticHostOutcome, ResticHostRestorerOptions, SnapshotPinned } from './host-restorer.ts';
export { snapshotTimeMs, snapshotTimeUtc } from './snapshot-time.ts';
export type {
  PreparedRestore,
  RestoreOptions,
  RestoreOutcome,
  RestoreProgress,
  RestoreResult,
  RunOptions,
  RunResult,
  RunnerOptions,
  SnapshotInfo,
} from './runner.ts';
