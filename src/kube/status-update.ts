// Read-modify-write of a RestoreSession's status through the /status subresource, with the
// resourceVersion read, retried on 409: many hosts writing at once lose nothing. With a retry
// policy, the read and the write also go on through API outages (refused connections, timeouts,
// 429, 5xx) until the policy's deadline (src/kube/retry.ts).
import type * as k8s from '@kubernetes/client-node';
import type { RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { isConflict } from './api-error.ts';
import { RESTORE_SESSIONS } from './resources.ts';
import { withApiRetry } from './retry.ts';
import type { ApiRetryPolicy } from './retry.ts';

/** The two calls a status update makes (client-node's CustomObjectsApi has them, and so does the agent's client). */
export type StatusApi = Pick<k8s.CustomObjectsApi, 'getNamespacedCustomObject' | 'replaceNamespacedCustomObjectStatus'>;

export interface StatusUpdateOptions {
  /** Attempts before giving up on conflicts (default 20). */
  attempts?: number;
  /** Retry transient failures of each read and write (default: none, the first one is thrown). */
  retry?: ApiRetryPolicy;
  /** What the write is, for the retry's log lines (default `update the status of RestoreSession ns/name`). */
  what?: string;
}

/**
 * Applies `mutate` to the latest session and writes its status. `mutate` returns the new status,
 * or undefined to write nothing (it may be called several times: keep it pure). Returns the
 * session as written (or as read, when nothing was written).
 */
export async function updateSessionStatus(
  api: StatusApi,
  namespace: string,
  name: string,
  mutate: (session: RestoreSession) => RestoreSessionStatus | undefined,
  opts: StatusUpdateOptions = {},
): Promise<RestoreSession> {
  const attempts = opts.attempts ?? 20;
  const what = opts.what ?? `update the status of RestoreSession ${namespace}/${name}`;
  // A 409 is never retried here with the same body: it goes back to the loop below, which re-reads.
  const call = <T>(fn: () => Promise<T>): Promise<T> => (opts.retry ? withApiRetry(what, fn, opts.retry) : fn());
  for (let attempt = 1; ; attempt++) {
    const session = (await call(() => api.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace, name }))) as RestoreSession;
    const status = mutate(session);
    if (status === undefined) return session;
    try {
      return (await call(() =>
        api.replaceNamespacedCustomObjectStatus({ ...RESTORE_SESSIONS, namespace, name, body: { ...session, status } }),
      )) as RestoreSession;
    } catch (e) {
      if (!isConflict(e) || attempt >= attempts) throw e;
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 20 * 2 ** attempt)));
    }
  }
}
