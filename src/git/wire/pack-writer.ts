// Building a packfile (version 2) and its index from whole objects: what a status commit sends
// to the remote and keeps in the cache repository. Pure.
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import type { GitObjectType } from './objects.ts';
import { packObjectHeader } from './pack.ts';
import { buildIdx } from './pack-index.ts';

export interface PackObject {
  oid: string;
  type: GitObjectType;
  content: Uint8Array;
}

/**
 * A pack of whole objects (duplicates dropped) and its index. No deltas: what the status branch
 * pushes is small files, every one of them new.
 */
export function buildPack(objects: PackObject[]): { pack: Buffer; idx: Buffer; sha: string } {
  const unique = [...new Map(objects.map((o) => [o.oid, o])).values()];
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(unique.length, 8);
  const parts: Buffer[] = [header];
  const entries: { oid: string; offset: number; crc: number }[] = [];
  let offset = 12;
  for (const o of unique) {
    const body = Buffer.concat([packObjectHeader(o.type, o.content.length), deflateSync(o.content, { level: 1 })]);
    entries.push({ oid: o.oid, offset, crc: crc32(body) });
    parts.push(body);
    offset += body.length;
  }
  const withoutTrailer = Buffer.concat(parts);
  const packSha = createHash('sha1').update(withoutTrailer).digest();
  const pack = Buffer.concat([withoutTrailer, packSha]);
  return { pack, idx: buildIdx(entries, packSha), sha: packSha.toString('hex') };
}
