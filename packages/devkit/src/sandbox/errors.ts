// Kubernetes `Status` errors with the reasons, codes and message shapes a real API server uses,
// so clients (kubectl, client-node) that switch on `reason` or `code` behave as on a cluster.
// An ApiError is a RestoreError whose code is the Status `reason` (`NotFound`, `Conflict`…) and
// whose data holds the HTTP status and the Status details.
import { RestoreError } from 'restore-controller/common/errors';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** The Status reasons this server answers with. */
export type ApiErrorReason =
  | 'BadRequest'
  | 'Forbidden'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Expired'
  | 'UnsupportedMediaType'
  | 'NotAcceptable'
  | 'Invalid'
  | 'InternalError';

export interface ApiErrorData {
  /** The HTTP status code (404, 409…), the Status `code`. */
  status: number;
  details?: StatusDetails;
}

export class ApiError extends RestoreError<ApiErrorReason, ApiErrorData> {
  constructor(status: number, reason: ApiErrorReason, message: string, details?: StatusDetails, options?: { cause?: unknown }) {
    super(reason, message, { status, ...(details ? { details } : {}) }, options);
  }

  /** The HTTP status code. */
  get status(): number {
    return this.data.status;
  }

  /** The Status reason (the same as `code`). */
  get reason(): ApiErrorReason {
    return this.code;
  }

  get details(): StatusDetails | undefined {
    return this.data.details;
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.status,
    };
  }
}

/** The `pods` / `restoresessions.stash.appscode.com` spelling used in error messages. */
export interface ResourceName {
  group: string;
  plural: string;
  kind: string;
}

function qualified(r: ResourceName): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

export function notFound(r: ResourceName, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(r)} "${name}" not found`, { name, group: r.group || undefined, kind: r.plural });
}

export function alreadyExists(r: ResourceName, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(r)} "${name}" already exists`, { name, group: r.group || undefined, kind: r.plural });
}

export function conflict(
  r: ResourceName,
  name: string,
  why = 'the object has been modified; please apply your changes to the latest version and try again',
): ApiError {
  return new ApiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)} "${name}": ${why}`, {
    name,
    group: r.group || undefined,
    kind: r.plural,
  });
}

export function invalid(r: ResourceName, name: string, causes: StatusCause[]): ApiError {
  const kind = r.group ? `${r.kind}.${r.group}` : r.kind;
  const list = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${kind} "${name}" is invalid: ${summary}`, { name, group: r.group || undefined, kind: r.kind, causes });
}

export function gone(message: string): ApiError {
  return new ApiError(410, 'Expired', message);
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function methodNotAllowed(message = 'the server does not allow this method on the requested resource'): ApiError {
  return new ApiError(405, 'MethodNotAllowed', message);
}

export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${contentType})`,
  );
}

export function notFoundPath(path: string): ApiError {
  return new ApiError(404, 'NotFound', `the server could not find the requested resource (${path})`, {});
}

export function internal(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
}
