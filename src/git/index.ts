// The git layer: what the Source and the StatusWriter need of git, and nothing else.
//   wire/       formats, pure (no I/O): pkt-lines, ref advertisements, upload-pack and
//               receive-pack messages, objects (trees, commits, tags), deltas, packs, pack indexes
//   transport/  smart HTTP or SSH (the OpenSSH client) to a remote: credentials and the
//               Authorization header or deploy key, the ref advertisement, upload-pack (fetch)
//               and receive-pack (push), failures explained as GitErrors
//   store/      the cache repository on disk: reading objects, adding packs, and the
//               synchronous fs that isomorphic-git gets for refs and config
// isomorphic-git keeps the refs and config of the cache repositories (its callers use it directly).
export { CredentialsError, GitError } from './errors.ts';
export type { GitErrorCode, GitErrorData } from './errors.ts';

export type { Advertisement, Service } from './wire/advertisement.ts';
export { blobOid, commitPayload, encodeCommit, objectOid, peel, serializeTree } from './wire/objects.ts';
export type { CommitFields, GitObject, GitObjectType, TreeEntryInfo, TreeItem } from './wire/objects.ts';
export { indexPack, parseIdx } from './wire/pack-index.ts';
export type { IdxEntry } from './wire/pack-index.ts';
export { buildPack } from './wire/pack-writer.ts';
export type { PackObject } from './wire/pack-writer.ts';
export type { PushOutcome } from './wire/receive-pack.ts';
export { TreeEditor } from './wire/tree-editor.ts';

export { authHeaders, credentialsFromDir, credentialsFromEnv, resolveCredentials, splitUrlCredentials } from './transport/credentials.ts';
export type { GitCredentials } from './transport/credentials.ts';
export { GitRemote } from './transport/remote.ts';
export type { GitRemoteOptions } from './transport/remote.ts';
export { advertise } from './transport/remote.ts';
export { isSshUrl, parseSshUrl } from './transport/url.ts';
export type { SshAddress } from './transport/url.ts';
export { fingerprint } from './transport/ssh.ts';
export { fetchPack } from './transport/fetch-pack.ts';
export type { FetchedPack } from './transport/fetch-pack.ts';
export { pushPack } from './transport/push.ts';
export type { RefUpdate } from './transport/push.ts';

export { ObjectReader, PackCache } from './store/object-reader.ts';
export { storePack } from './store/packs.ts';
export { syncFs } from './store/sync-fs.ts';
export { editBranch } from './transport/edit-branch.ts';
export type { BranchEdit, EditBranchOptions, EditBranchResult } from './transport/edit-branch.ts';
