// Errors the controller raises on purpose: a stable `code` to switch on, typed `data`. The work
// queue logs them and retries the session with backoff; the message names the object and says
// what to do, and is also what the Warning event on the object says.
import { RestoreError } from '../common/errors.ts';
import { apiErrorInfo } from '../kube/api-error.ts';

export type ControllerErrorCode =
  /** Patching the target workload's pod template with stash-init was refused by the API server. */
  | 'InjectionFailed'
  /** The ServiceAccount the agent's pods run as could not be read (whether they get a token decides whether the agent mounts its own). */
  | 'ServiceAccountUnreadable'
  /** A restore Job executor got a session whose hosts cannot be counted before pods exist (a bug: chooseExecutor and resolveHosts disagree). */
  | 'HostsUnknown'
  /** An object was to be owned by a session that has no uid (one not read from the API: a bug). */
  | 'SessionWithoutUid';

export interface ControllerErrorData {
  /** The RestoreSession, `namespace/name`. */
  session: string;
  /** The object the error is about, when it is not the session (`StatefulSet demo/db`). */
  object?: string;
  /** The API server's HTTP status, when it answered. */
  status?: number;
}

export class ControllerError extends RestoreError<ControllerErrorCode, ControllerErrorData> {}

/**
 * Whether the API server's refusal stands as long as the session does (its spec is immutable):
 * 400, 403, 404, 422… A conflict, throttling, a server error or no answer at all is worth retrying.
 */
export function isPermanentRefusal(e: unknown): boolean {
  const code = apiErrorInfo(e).code;
  return code !== undefined && code >= 400 && code < 500 && code !== 409 && code !== 429 && code !== 408;
}
