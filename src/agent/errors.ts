// Errors the restore agent raises on purpose: one class per concern, a stable `code` to switch
// on, typed `data`. A message says what failed, for which object, and what to do about it; none
// carries a secret value (the agent redacts everything it shows with the session's Redactor).
import { RestoreError } from '../common/errors.ts';

export type AgentErrorCode =
  /** The agent's RestoreSession cannot be read (gone, or no permission). */
  | 'SessionNotFound'
  /** The session names no repository (spec.repository.name empty). */
  | 'RepositoryNotNamed'
  /** The session's Repository cannot be read. */
  | 'RepositoryNotFound'
  /** The Repository has no spec.backend.storageSecretName. */
  | 'StorageSecretNotNamed'
  /** The AppBinding of a database session cannot be read. */
  | 'AppBindingNotFound'
  /** The storage Secret cannot be read. */
  | 'SecretNotFound'
  /** Waiting for another host's result (a hook run elsewhere) took longer than allowed. */
  | 'WaitTimedOut'
  /** The agent was stopped (SIGTERM) while it waited. */
  | 'Interrupted'
  /** The session's restore.gitops/snapshots annotation cannot be read, or does not fit the host's rule. */
  | 'SnapshotPinInvalid';

export interface AgentErrorData {
  /** The object concerned, `namespace/name`. */
  object?: string;
  kind?: 'RestoreSession' | 'Repository' | 'Secret' | 'AppBinding';
  /** The API server's HTTP status, when it answered. */
  status?: number;
  timeoutMs?: number;
}

export class AgentError extends RestoreError<AgentErrorCode, AgentErrorData> {}

export type HostIdentityErrorCode =
  /** POD_ORDINAL is missing or not a number (volumeClaimTemplates restore Jobs). */
  | 'PodOrdinalMissing'
  /** POD_NAME does not end with a StatefulSet ordinal. */
  | 'PodNameWithoutOrdinal'
  /** NODE_NAME is not set in a DaemonSet pod. */
  | 'NodeNameMissing';

/** An identity error names what is missing and where it should come from. */
export class HostIdentityError extends RestoreError<HostIdentityErrorCode, { variable: 'POD_ORDINAL' | 'POD_NAME' | 'NODE_NAME'; value?: string }> {}

export type HookErrorCode =
  /** An httpGet/httpPost/tcpSocket handler's port is neither a number nor a named port of the pod's containers. */
  'HookPortInvalid';

export class HookError extends RestoreError<HookErrorCode, { port: string | number }> {}
