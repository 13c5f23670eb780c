import { RestoreError } from '../common/errors.ts';

export type NotifyErrorCode = 'NotifyRepoInvalid' | 'NotifyRequestFailed';

export class NotifyError extends RestoreError<NotifyErrorCode> {}
