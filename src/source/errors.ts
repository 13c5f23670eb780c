// Errors of the Source that are not git's (those are GitErrors, src/git).
import { RestoreError } from '../common/errors.ts';

export type SourceErrorCode = 'SourceDirNotFound';

export class SourceError extends RestoreError<SourceErrorCode, { path: string }> {}
