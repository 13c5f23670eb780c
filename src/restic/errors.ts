// Errors raised by src/restic/: one class, a stable `code` to switch on, typed `data`.
// Messages never carry secret values (passwords, keys); they name keys and objects instead.
import { RestoreError, isRestoreError } from '../common/errors.ts';

export type ResticErrorCode =
  /** An include/exclude pattern restic would refuse (Go filepath.ErrBadPattern). */
  | 'BadPattern'
  /** restic 0.14 refuses `restore` with both --include and --exclude. */
  | 'IncludeExcludeExclusive'
  /** The Repository names no backend, or several. */
  | 'BackendInvalid'
  /** A key the backend needs is missing from the storage Secret. */
  | 'SecretKeyMissing'
  /** A rule, snapshot id or path the command builder cannot turn into restic argv. */
  | 'CommandInvalid'
  /** No snapshot matches host/path for `latest`. */
  | 'SnapshotNotFound'
  /** restic exited non-zero. */
  | 'ResticFailed'
  /** restic could not be started (binary missing, not executable). */
  | 'ResticNotStarted'
  /** The run was aborted (AbortSignal / SIGTERM); restic was killed. */
  | 'Interrupted'
  /** A test repository could not be built (no chroot available, …). */
  | 'SeedUnavailable';

/** What a ResticError is about; each code fills the fields that apply to it. */
export interface ResticErrorData {
  /** SecretKeyMissing: the Secret and the key it lacks (never its value). */
  secret?: string;
  key?: string;
  /** BackendInvalid: the backend kind(s) and the missing or bad field. */
  kind?: string;
  kinds?: string[];
  field?: string;
  /** BadPattern, IncludeExcludeExclusive, CommandInvalid: the flag and the patterns refused. */
  flag?: string;
  pattern?: string;
  patterns?: string[];
  /** SnapshotNotFound, ResticFailed, Interrupted: what restic was asked for. */
  snapshot?: string;
  host?: string;
  path?: string;
  /** ResticFailed: how restic ended. */
  exitCode?: number | null;
  signal?: NodeJS.Signals | null;
  /** ResticNotStarted, SeedUnavailable: the program or the restic subcommand. */
  command?: string;
  args?: string[];
  [more: string]: unknown;
}

export class ResticError extends RestoreError<ResticErrorCode, ResticErrorData> {
  constructor(code: ResticErrorCode, message: string, data: ResticErrorData = {}, options?: { cause?: unknown }) {
    super(code, message, data, options);
  }
}

export function isResticError(e: unknown, code?: ResticErrorCode): e is ResticError {
  return e instanceof ResticError && isRestoreError(e, code);
}
