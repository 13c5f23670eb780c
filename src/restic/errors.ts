// Errors raised by src/restic/: one class, a stable `code` to switch on, typed `data`.
// Messages never carry secret values (passwords, keys); they name keys and objects instead.

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

export class ResticError extends Error {
  readonly code: ResticErrorCode;
  readonly data: Record<string, unknown>;
  constructor(code: ResticErrorCode, message: string, data: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ResticError';
    this.code = code;
    this.data = data;
  }
}

export function isResticError(e: unknown, code?: ResticErrorCode): e is ResticError {
  return e instanceof ResticError && (code === undefined || e.code === code);
}
