// The errors of the git layer. One class, GitError, with a code per case a caller may act on;
// `data` names the remote (its clean URL), the repository folder or the object concerned.
// Messages say what failed, where, and what to check, and never hold a credential.
import { RestoreError } from '../common/errors.ts';

export type GitErrorCode =
  // talking to a remote
  | 'GitAuthFailed'
  | 'GitRepositoryNotFound'
  | 'GitUnreachable'
  | 'GitRefNotFound'
  | 'GitFetchRefused'
  | 'GitPushRejected'
  | 'GitFailed'
  // SSH: the server's host key, the deploy key
  | 'GitHostKeyUnknown'
  | 'GitHostKeyChanged'
  | 'GitSshKeyMissing'
  | 'GitSshKeyInvalid'
  // signatures
  | 'GitSignatureInvalid'
  | 'GitKeyringInvalid'
  | 'GitSigningKeyLocked'
  // reading and writing objects
  | 'GitObjectNotFound'
  | 'GitObjectInvalid'
  | 'GitPackInvalid'
  | 'GitPackIndexInvalid';

export interface GitErrorData {
  /** The remote's URL without credentials. */
  url?: string;
  /** The cache repository concerned. */
  gitdir?: string;
  /** The object concerned. */
  oid?: string;
  /** The ref asked for. */
  ref?: string;
  /** The key file concerned. */
  path?: string;
}

/** A failure talking to a git remote or reading and writing git data; `message` never holds a credential. */
export class GitError extends RestoreError<GitErrorCode, GitErrorData> {
  /** The remote's URL without credentials ('' when no remote is concerned). */
  get url(): string {
    return this.data.url ?? '';
  }
}

/** Credentials that cannot be used as given (a missing or unreadable `--git-credentials-dir`). */
export class CredentialsError extends RestoreError<'GitCredentialsDirMissing' | 'GitCredentialsDirInvalid', { path: string }> {}
