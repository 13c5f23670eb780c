// Writing loose git objects directly: zlib-deflated `<type> <size>\0<content>` under
// objects/xx/yyyy…, the format every git reads. Synchronous on purpose: a status commit can hold
// thousands of new blobs, and one sync deflate + write each is many times faster than
// isomorphic-git's writeBlob (an async zlib and several fs round trips per object).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

export interface TreeItem {
  mode: string;
  path: string;
  oid: string;
  type: 'blob' | 'tree' | 'commit';
}

export function objectOid(type: string, content: Uint8Array): string {
  return createHash('sha1').update(`${type} ${content.length}\0`).update(content).digest('hex');
}

/** Writes the object when it is not there yet; returns its oid. */
export function writeLooseObject(gitdir: string, type: 'blob' | 'tree' | 'commit', content: Uint8Array, knownOid?: string): string {
  const oid = knownOid ?? objectOid(type, content);
  const dir = join(gitdir, 'objects', oid.slice(0, 2));
  const file = join(dir, oid.slice(2));
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    const header = Buffer.from(`${type} ${content.length}\0`);
    writeFileSync(file, deflateSync(Buffer.concat([header, content]), { level: 1 }));
  }
  return oid;
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
