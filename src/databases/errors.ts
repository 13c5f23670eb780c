// Errors of the built-in database restores: one class, a stable `code`, typed `data`. Messages
// name the AppBinding, Secret, key or server and what to do; never a password or key.
import { RestoreError, isRestoreError } from '../common/errors.ts';

export type DatabaseErrorCode =
  /** The AppBinding cannot be turned into a host and port (no url or service, a bad url). */
  | 'AppBindingInvalid'
  /** The AppBinding's credentials Secret lacks a key the client needs. */
  | 'DatabaseSecretKeyMissing'
  /** A `task.params` value the addon cannot use (waitTimeout not a number…). */
  | 'TaskParamInvalid'
  /** The server did not accept connections within the wait timeout. */
  | 'DatabaseUnreachable'
  /** `restic dump` of the dump file failed (no such snapshot, no such file). */
  | 'DumpFailed'
  /** The database client failed while restoring (wrong password, refused statements). */
  | 'DatabaseRestoreFailed'
  /** A program (restic, psql, mysql, redis-cli) could not be started. */
  | 'ClientNotStarted'
  /** The restore was stopped (SIGTERM). */
  | 'Interrupted';

export interface DatabaseErrorData {
  /** The AppBinding, `namespace/name`. */
  appBinding?: string;
  /** The Secret and key concerned (never the value). */
  secret?: string;
  key?: string;
  param?: string;
  /** The server, `host:port`. */
  server?: string;
  command?: string;
  exitCode?: number | null;
}

export class DatabaseError extends RestoreError<DatabaseErrorCode, DatabaseErrorData> {}

export function isDatabaseError(e: unknown, code?: DatabaseErrorCode): e is DatabaseError {
  return e instanceof DatabaseError && isRestoreError(e, code);
}
