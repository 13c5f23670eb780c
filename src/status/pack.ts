// Git packfiles (version 2) built from whole objects, and their .idx (version 2): what a status
// commit sends to the remote and keeps in the cache repository. No deltas: status files are small
// and every object in a pack is new.
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { buildIdx } from '../source/pack-index.ts';

export type ObjectType = 'commit' | 'tree' | 'blob';
const TYPE_CODE: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3 };

export interface PackObject {
  oid: string;
  type: ObjectType;
  content: Uint8Array;
}

export function packObjectHeader(type: ObjectType, size: number): Buffer {
  const bytes: number[] = [];
  let c = (TYPE_CODE[type] << 4) | (size & 0x0f);
  size = Math.floor(size / 16);
  while (size > 0) {
    bytes.push(c | 0x80);
    c = size & 0x7f;
    size = Math.floor(size / 128);
  }
  bytes.push(c);
  return Buffer.from(bytes);
}

/** Builds a pack and its index from whole objects (duplicates dropped). */
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

  const idx = buildIdx(entries, packSha);
  return { pack, idx, sha: packSha.toString('hex') };
}
