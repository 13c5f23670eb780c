// Source (DESIGN §1): "a branch on a git remote" (or a local folder) in, manifest files at a
// commit out, plus which of them changed. The loader parses them; nothing here reads YAML.
export type { ChangedPaths, Source, SourceLog, SourceRevision } from './types.ts';
export { DEFAULT_GLOBS, diffFileMaps, hasChanges, noChanges, revisionFiles, revisionProblems, silentLog } from './types.ts';
export { GitSource } from './git-source.ts';
export type { GitSourceOptions } from './git-source.ts';
export { LocalSource } from './local-source.ts';
export { SourceError } from './errors.ts';
export type { SourceErrorCode } from './errors.ts';
export type { LocalSourceOptions } from './local-source.ts';
// The remote, its credentials and its errors are the git layer's (src/git), named here for callers.
export {
  authHeaders,
  credentialsFromDir,
  credentialsFromEnv,
  CredentialsError,
  GitError,
  GitRemote,
  resolveCredentials,
  splitUrlCredentials,
} from '../git/index.ts';
export type { GitCredentials, GitErrorCode, GitRemoteOptions } from '../git/index.ts';
export { commitSigner, readKeyring, readKeyringFile, verifyDetached } from './signatures.ts';
export type { CommitSigner, Keyring, SignatureCheck } from './signatures.ts';
export { PathSelector } from './select.ts';
// Several revisions at once, for `restorectl plan --base … --head …`.
export { readGitRevisions } from './revision-files.ts';
export type { GitRevision, GitRevisionsOptions } from './revision-files.ts';
