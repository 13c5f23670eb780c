// Retrying Kubernetes API calls through outages (issue 17): an API server restart or failover
// looks like refused or reset connections, timeouts, 429 and 5xx for a while. A call that must
// land (an agent recording a host's outcome) retries those with jittered exponential backoff
// until a deadline, logging each retry; anything else (a 4xx: forbidden, not found, invalid) is
// an answer and is thrown at once. Giving up is an ApiRetryError with a code, never a loop for ever.
import { RestoreError } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import { apiErrorInfo } from './api-error.ts';

/** How a failed call is treated: retried as it is, re-read and retried (conflict), or given up on. */
export type RetryClass = 'transient' | 'conflict' | 'permanent';

/** Socket and DNS errors of a connection that may work again (node-fetch's FetchError and undici's causes carry them). */
const TRANSIENT_SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTCONN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/**
 * What failed, as a short stable word for a log line: the socket error code (`ECONNREFUSED`), the
 * HTTP status (`HTTP 503`), `Timeout`, or the error's name.
 */
export function apiErrorCode(e: unknown): string {
  const socket = socketCode(e);
  if (socket) return socket;
  const status = httpStatus(e);
  if (status !== undefined) return `HTTP ${status}`;
  if (isTimeout(e)) return 'Timeout';
  return (e as Error)?.name ?? 'Error';
}

function socketCode(e: unknown): string | undefined {
  for (let cur = e as { code?: unknown; errno?: unknown; cause?: unknown } | undefined, depth = 0; cur && depth < 5; cur = cur.cause as typeof cur, depth++) {
    if (typeof cur.code === 'string' && TRANSIENT_SOCKET_CODES.has(cur.code)) return cur.code;
    if (typeof cur.errno === 'string' && TRANSIENT_SOCKET_CODES.has(cur.errno)) return cur.errno;
  }
  return undefined;
}

function isTimeout(e: unknown): boolean {
  const err = e as { name?: unknown; type?: unknown; message?: unknown };
  // node-fetch: FetchError type 'request-timeout' / 'body-timeout'; AbortSignal.timeout: TimeoutError
  return (
    err?.name === 'TimeoutError' ||
    err?.type === 'request-timeout' ||
    err?.type === 'body-timeout' ||
    (typeof err?.message === 'string' && /socket hang up/.test(err.message))
  );
}

/** The HTTP status of the failure, or of the first error in its cause chain that has one (an AgentError wraps client-node's). */
function httpStatus(e: unknown): number | undefined {
  for (let cur = e as { cause?: unknown } | undefined, depth = 0; cur && depth < 5; cur = cur.cause as typeof cur, depth++) {
    const code = apiErrorInfo(cur).code;
    if (code !== undefined) return code;
  }
  return undefined;
}

/**
 * Whether an API call's failure may go away by itself (connection refused/reset, timeouts, 429,
 * 5xx), is a conflict (409: re-read and try again) or is the API's answer (any other 4xx), looking
 * through wrapping errors' causes.
 */
export function retryClass(e: unknown): RetryClass {
  if (e instanceof ApiRetryError) return 'permanent';
  if (socketCode(e) || isTimeout(e)) return 'transient';
  const status = httpStatus(e);
  if (status === 409) return 'conflict';
  if (status === 429 || (status !== undefined && status >= 500 && status <= 599)) return 'transient';
  return 'permanent';
}

export const isTransient = (e: unknown): boolean => retryClass(e) === 'transient';

export type ApiRetryErrorCode =
  /** Transient failures went on until the deadline of the retries. */
  'ApiUnavailable';

export interface ApiRetryErrorData {
  /** What was being done (`write host app's stat to RestoreSession demo/x`). */
  what: string;
  attempts: number;
  /** The last failure's code (apiErrorCode). */
  lastError: string;
  /** When the retries had to stop (ISO time). */
  deadline: string;
}

export class ApiRetryError extends RestoreError<ApiRetryErrorCode, ApiRetryErrorData> {}

export interface ApiRetryPolicy {
  /** No retry starts after this time (ms since the epoch). */
  deadline: number;
  /** Each retry is a warning here, with the error's code. */
  log: Logger;
  /** First delay (default 200 ms); doubled per attempt up to maxDelayMs (default 10 s), jittered. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Which failures to retry (default: transient ones; callers that re-read on 409 add conflicts). */
  retryOn?: (e: unknown) => boolean;
  /**
   * Retry 401 and 403 too, for this long from the first of them: a kube-apiserver that has just
   * (re)started refuses requests for a moment, until its authenticator and authorizer caches have
   * synced (`clusterrole … not found`, seen on the real engine right after a restart). Default: none.
   */
  refusalGraceMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** The delay before retry `attempt` (1-based): exponential, capped, with "equal jitter" (between half and all of it). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(full / 2 + random() * (full / 2));
}

/**
 * Calls `fn` until it succeeds, a failure is not retryable, or the next retry would start after
 * the deadline (then an ApiRetryError `ApiUnavailable`, with the last failure as its cause).
 */
export async function withApiRetry<T>(what: string, fn: () => Promise<T>, policy: ApiRetryPolicy): Promise<T> {
  const now = policy.now ?? Date.now;
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const retryOn = policy.retryOn ?? isTransient;
  let firstRefusal: number | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const status = httpStatus(e);
      const refusal = policy.refusalGraceMs !== undefined && (status === 401 || status === 403);
      if (refusal) firstRefusal ??= now();
      if (!retryOn(e) && !(refusal && now() - firstRefusal! <= policy.refusalGraceMs!)) throw e;
      const code = apiErrorCode(e);
      const delay = backoffDelay(attempt, policy.baseDelayMs ?? 200, policy.maxDelayMs ?? 10_000);
      if (now() + delay > policy.deadline) {
        const deadline = new Date(policy.deadline).toISOString();
        throw new ApiRetryError(
          'ApiUnavailable',
          `${what}: the Kubernetes API failed ${attempt} time(s), last with ${code}, and the retries ran out at ${deadline}`,
          { what, attempts: attempt, lastError: code, deadline },
          { cause: e },
        );
      }
      policy.log.warn(`${what}: ${code}; retrying in ${delay} ms (attempt ${attempt})`, { code, attempt, delayMs: delay });
      await sleep(delay);
    }
  }
}
