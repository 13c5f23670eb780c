// Errors from @kubernetes/client-node and from the agent's own client (rest.ts), read as the API
// server meant them: HTTP status and `Status.reason` (the body is a JSON string in client-node 1.x).
import { ApiStatusError } from './rest.ts';

export interface ApiErrorInfo {
  code: number | undefined;
  reason: string | undefined;
  message: string;
}

export function apiErrorInfo(e: unknown): ApiErrorInfo {
  if (e instanceof ApiStatusError) return { code: e.data.status, reason: e.data.reason, message: e.message };
  const err = e as { code?: unknown; body?: unknown; message?: string };
  const code = typeof err?.code === 'number' ? err.code : undefined;
  let reason: string | undefined;
  let message = err?.message ?? String(e);
  if (typeof err?.body === 'string') {
    try {
      const status = JSON.parse(err.body) as { reason?: string; message?: string };
      reason = status.reason;
      if (status.message) message = status.message;
    } catch {
      // not a Status body: keep the exception's message
    }
  } else if (err?.body && typeof err.body === 'object') {
    const status = err.body as { reason?: string; message?: string };
    reason = status.reason;
    if (status.message) message = status.message;
  }
  return { code, reason, message };
}

export const isNotFound = (e: unknown) => apiErrorInfo(e).code === 404;
export const isConflict = (e: unknown) => apiErrorInfo(e).code === 409;
export const isAlreadyExists = (e: unknown) => apiErrorInfo(e).code === 409 && apiErrorInfo(e).reason === 'AlreadyExists';
