// StatusWriter and ledger (DESIGN §2, §4): what the cluster did, as commits on a status branch,
// and those files read back as the ledger of executions.
export type { Decision, Execution, ExecutionPhase, LedgerSession, ManagedSession, PinnedStep, SessionSource, StatusSnapshot, Suspension } from './types.ts';
export { parseSuspension, readSuspension, renderSuspension, setSuspension, suspensionPath, withSuspensionBanner } from './suspend.ts';
export type { SetSuspensionOptions, SetSuspensionResult } from './suspend.ts';
export { EXECUTION_PHASES, FINAL_EXECUTION_PHASES } from './types.ts';
export { StatusWriter } from './writer.ts';
export type { StatusWriterOptions, WriteResult } from './writer.ts';
export { DEFAULT_STATUS_BRANCH } from './branch.ts';
export { buildLedger, executionsById, isFinalExecution, isLedgerFile, parseLedgerFile } from './ledger.ts';
export type { Ledger } from './ledger.ts';
export { readLedger } from './read.ts';
export type { ReadLedgerOptions } from './read.ts';
export {
  attentionOf,
  displayPhase,
  hostsOf,
  hostsSummary,
  hostsText,
  commitMessage,
  describeChange,
  mergeExecutions,
  renderSessionFile,
  renderStatusMd,
  snapshotsText,
  rowOf,
  sessionPath,
  statusMdPath,
} from './render.ts';
export type { Attention, StatusChange, StatusRow } from './render.ts';
export { StatusError } from './errors.ts';
export type { StatusErrorCode } from './errors.ts';
