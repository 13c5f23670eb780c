// Source (DESIGN §1): "a branch on a git remote" (or a local folder) in, manifest files at a
// commit out, plus which of them changed. The loader parses them; nothing here reads YAML.
export type { ChangedPaths, Source, SourceLog, SourceRevision } from './types.ts';
export { DEFAULT_GLOBS, diffFileMaps, hasChanges, noChanges, revisionFiles, silentLog } from './types.ts';
export { GitSource } from './git-source.ts';
export type { GitSourceOptions } from './git-source.ts';
export { LocalSource } from './local-source.ts';
export type { LocalSourceOptions } from './local-source.ts';
export { GitError, GitRemote } from './remote.ts';
export type { GitErrorCode, GitRemoteOptions } from './remote.ts';
export type { GitCredentials } from './credentials.ts';
export { authHeaders, credentialsFromDir, credentialsFromEnv, redactUrl, resolveCredentials, scrub, splitUrlCredentials, CredentialsError } from './credentials.ts';
export { commitSigner, readKeyring, readKeyringFile, verifyDetached } from './signatures.ts';
export type { CommitSigner, Keyring, SignatureCheck } from './signatures.ts';
export { PathSelector } from './select.ts';
// Several revisions at once, for `restorectl plan --base … --head …`.
export { readGitRevisions } from './revision-files.ts';
export type { GitRevision, GitRevisionsOptions } from './revision-files.ts';
