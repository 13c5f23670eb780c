// What every stage shares: the logger, the redaction and the error base.
export { errorMessage, isRestoreError, RestoreError } from './errors.ts';
export { canonicalJson } from './canonical-json.ts';
export { failpoint } from './failpoints.ts';
export type { FailpointName } from './failpoints.ts';
export { jsonLogger, LEVELS, nullLogger, parseLevel, sinkLogger, textLogger } from './log.ts';
export type { Fields, Level, Logger, LoggerOptions, Sink } from './log.ts';
export { MASK, redact, Redactor, secretVariants, stripUrlCredentials } from './redact.ts';
