// Git objects as bytes: the oid of `<type> <size>\0<content>`, loose-object decoding, trees,
// commits and annotated tags. Pure: reading and writing repositories is in ../store.
import { createHash } from 'node:crypto';
import { GitError } from '../errors.ts';

export type GitObjectType = 'commit' | 'tree' | 'blob' | 'tag';
export interface GitObject {
  type: GitObjectType;
  data: Buffer;
}

/** A tree entry as read (mode without leading zeros, as git stores it). */
export interface TreeEntryInfo {
  mode: string;
  name: string;
  oid: string;
  type: 'tree' | 'blob' | 'commit';
}
/** A tree entry to write (a mode with leading zeros is accepted). */
export interface TreeItem {
  mode: string;
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

export function objectOid(type: string, content: Uint8Array): string {
  return createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
}

/** The oid git gives a blob with these bytes (no write). */
export function blobOid(data: Uint8Array): string {
  return objectOid('blob', data);
}

/** An inflated loose object (`<type> <size>\0<content>`). */
export function decodeLoose(raw: Buffer): GitObject {
  const nul = raw.indexOf(0);
  const type = raw.toString('latin1', 0, raw.indexOf(0x20)) as GitObjectType;
  return { type, data: raw.subarray(nul + 1) };
}

// ---- trees ----

export function parseTree(data: Buffer): TreeEntryInfo[] {
  const out: TreeEntryInfo[] = [];
  let pos = 0;
  while (pos < data.length) {
    const sp = data.indexOf(0x20, pos);
    const nul = data.indexOf(0, sp);
    const mode = data.toString('latin1', pos, sp);
    const name = data.toString('utf8', sp + 1, nul);
    const id = data.toString('hex', nul + 1, nul + 21);
    out.push({ mode, name, oid: id, type: mode === '40000' ? 'tree' : mode === '160000' ? 'commit' : 'blob' });
    pos = nul + 21;
  }
  return out;
}

/** A tree object's bytes, entries in git's order (a folder sorts as if its name ended in "/"). */
export function serializeTree(entries: TreeItem[]): Buffer {
  const key = (e: TreeItem) => (e.type === 'tree' ? e.path + '/' : e.path);
  const sorted = [...entries].sort((a, b) => Buffer.compare(Buffer.from(key(a)), Buffer.from(key(b))));
  const parts: Buffer[] = [];
  for (const e of sorted) {
    const mode = e.mode.replace(/^0+/, '');
    parts.push(Buffer.from(`${mode} ${e.path}\0`), Buffer.from(e.oid, 'hex'));
  }
  return Buffer.concat(parts);
}

// ---- commits ----

/** The tree a commit object names, or undefined when `data` is not a commit's. */
export function commitTree(data: Buffer): string | undefined {
  return /^tree ([0-9a-f]{40})/.exec(data.toString('latin1'))?.[1];
}

export interface CommitFields {
  tree: string;
  parents: string[];
  /** `Name <email> <seconds> <±hhmm>`. */
  author: string;
  committer: string;
  message: string;
}

/** The commit's text without a signature: what a signature is made over. */
export function commitPayload(c: CommitFields): string {
  const head = [`tree ${c.tree}`, ...c.parents.map((p) => `parent ${p}`), `author ${c.author}`, `committer ${c.committer}`];
  return `${head.join('\n')}\n\n${c.message.endsWith('\n') ? c.message : c.message + '\n'}`;
}

/** The commit object's bytes, carrying `signature` (armored, detached) as its `gpgsig` header when given. */
export function encodeCommit(c: CommitFields, signature?: string): Buffer {
  const payload = commitPayload(c);
  if (!signature) return Buffer.from(payload, 'utf8');
  const cut = payload.indexOf('\n\n');
  const gpgsig = 'gpgsig ' + signature.trimEnd().split('\n').join('\n ');
  return Buffer.from(`${payload.slice(0, cut)}\n${gpgsig}${payload.slice(cut)}`, 'utf8');
}

// ---- annotated tags ----

/** How many tags pointing at tags are followed before giving up. */
const MAX_TAG_DEPTH = 10;

/** The object an annotated tag names. */
export function tagTarget(data: Buffer): string | undefined {
  return /^object ([0-9a-f]{40})/m.exec(data.toString('latin1'))?.[1];
}

/**
 * Follows annotated tags from `oid` to the object they finally name: the one place tags are
 * peeled. Returns that object (its type is the caller's to check: usually it must be a commit);
 * a chain deeper than ten tags ends at the tenth.
 */
export function peel(oid: string, read: (oid: string) => GitObject): { oid: string; object: GitObject } {
  let cur = oid;
  let object = read(cur);
  for (let i = 0; object.type === 'tag' && i < MAX_TAG_DEPTH; i++) {
    const next = tagTarget(object.data);
    if (!next) throw new GitError('GitObjectInvalid', `tag ${cur} names no object (no "object" line); the repository is damaged`, { oid: cur });
    cur = next;
    object = read(cur);
  }
  return { oid: cur, object };
}
