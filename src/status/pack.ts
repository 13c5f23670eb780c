// Git packfiles (version 2) built from whole objects, and their .idx (version 2): what a status
// commit sends to the remote and keeps in the cache repository. No deltas: status files are small
// and every object in a pack is new.
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';

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

  entries.sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const n = entries.length;
  const idx = Buffer.alloc(8 + 256 * 4 + n * (20 + 4 + 4) + 40);
  idx.writeUInt32BE(0xff744f63, 0);
  idx.writeUInt32BE(2, 4);
  const fanout = new Array<number>(256).fill(0);
  for (const e of entries) fanout[parseInt(e.oid.slice(0, 2), 16)]!++;
  let total = 0;
  for (let i = 0; i < 256; i++) {
    total += fanout[i]!;
    idx.writeUInt32BE(total, 8 + i * 4);
  }
  let pos = 8 + 1024;
  for (const e of entries) { Buffer.from(e.oid, 'hex').copy(idx, pos); pos += 20; }
  for (const e of entries) { idx.writeUInt32BE(e.crc >>> 0, pos); pos += 4; }
  for (const e of entries) { idx.writeUInt32BE(e.offset, pos); pos += 4; }
  packSha.copy(idx, pos);
  pos += 20;
  createHash('sha1').update(idx.subarray(0, pos)).digest().copy(idx, pos);
  return { pack, idx, sha: packSha.toString('hex') };
}
