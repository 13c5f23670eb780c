// Errors of the StatusWriter that are not git's (those are GitErrors, src/git).
import { RestoreError } from '../common/errors.ts';

export type StatusErrorCode = 'StatusClusterNameInvalid';

export class StatusError extends RestoreError<StatusErrorCode, { cluster?: string }> {}
