// Indexing a received packfile: every object's oid (deltas resolved), offset and CRC, written as
// a v2 .idx. What `git index-pack` does, synchronously in one pass plus delta resolution.
import { createHash } from 'node:crypto';
import { crc32, inflateSync } from 'node:zlib';
import { applyDelta } from './object-reader.ts';
import type { GitObject, GitObjectType } from './object-reader.ts';

export interface IdxEntry {
  oid: string;
  offset: number;
  crc: number;
}

/** A v2 pack index for the entries (any order) of the pack whose trailer is `packSha`. */
export function buildIdx(list: IdxEntry[], packSha: Buffer): Buffer {
  const entries = [...list].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0));
  const n = entries.length;
  const large = entries.filter((e) => e.offset >= 0x80000000);
  const idx = Buffer.alloc(8 + 256 * 4 + n * 28 + large.length * 8 + 40);
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
  let li = 0;
  for (const e of entries) {
    idx.writeUInt32BE(e.offset >= 0x80000000 ? (0x80000000 | li++) >>> 0 : e.offset, pos);
    pos += 4;
  }
  for (const e of large) { idx.writeBigUInt64BE(BigInt(e.offset), pos); pos += 8; }
  packSha.copy(idx, pos);
  pos += 20;
  createHash('sha1').update(idx.subarray(0, pos)).digest().copy(idx, pos);
  return idx;
}

const TYPES: Record<number, GitObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };

interface Raw {
  offset: number;
  typeCode: number;
  /** ofs-delta: offset of the base; ref-delta: oid of the base. */
  baseOffset?: number;
  baseOid?: string;
  data: Buffer;
  crc: number;
}

/**
 * Indexes a pack. `external` reads a ref-delta base that is not in the pack (from the repository
 * the pack is added to). Throws on a corrupt pack.
 */
export function indexPack(pack: Buffer, external: (oid: string) => GitObject): { idx: Buffer; sha: string; count: number } {
  if (pack.toString('latin1', 0, 4) !== 'PACK') throw new Error('not a packfile');
  const count = pack.readUInt32BE(8);
  const trailer = pack.subarray(pack.length - 20);
  if (!createHash('sha1').update(pack.subarray(0, pack.length - 20)).digest().equals(trailer)) throw new Error('packfile checksum mismatch');
  const raws: Raw[] = [];
  const byOffset = new Map<number, Raw>();
  let pos = 12;
  for (let i = 0; i < count; i++) {
    const offset = pos;
    let c = pack[pos++]!;
    const typeCode = (c >> 4) & 7;
    let size = c & 0x0f;
    for (let shift = 4; c & 0x80; shift += 7) {
      c = pack[pos++]!;
      size += (c & 0x7f) * 2 ** shift;
    }
    const raw: Partial<Raw> = { offset, typeCode };
    if (typeCode === 6) {
      c = pack[pos++]!;
      let off = c & 0x7f;
      while (c & 0x80) {
        c = pack[pos++]!;
        off = ((off + 1) * 128) + (c & 0x7f);
      }
      raw.baseOffset = offset - off;
    } else if (typeCode === 7) {
      raw.baseOid = pack.toString('hex', pos, pos + 20);
      pos += 20;
    }
    const { buffer, engine } = inflateSync(pack.subarray(pos), { info: true, chunkSize: Math.max(64, size + 1) }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    pos += engine.bytesWritten;
    raw.data = buffer;
    raw.crc = crc32(pack.subarray(offset, pos));
    raws.push(raw as Raw);
    byOffset.set(offset, raw as Raw);
  }
  // Resolve: every object's type and content, bases kept while something still needs them.
  const resolved = new Map<number, GitObject>();
  const byOid = new Map<string, number>();
  const entries: IdxEntry[] = [];
  const pending: Raw[] = [];
  const hash = (type: GitObjectType, data: Buffer) => createHash('sha1').update(`${type} ${data.length}\0`).update(data).digest('hex');
  const resolve = (r: Raw): GitObject => {
    const hit = resolved.get(r.offset);
    if (hit) return hit;
    let obj: GitObject;
    if (r.typeCode === 6) {
      const base = byOffset.get(r.baseOffset!);
      if (!base) throw new Error(`delta base at ${r.baseOffset} missing`);
      const b = resolve(base);
      obj = { type: b.type, data: applyDelta(r.data, b.data) };
    } else if (r.typeCode === 7) {
      const at = byOid.get(r.baseOid!);
      const b = at !== undefined ? resolved.get(at)! : external(r.baseOid!);
      obj = { type: b.type, data: applyDelta(r.data, b.data) };
    } else {
      const type = TYPES[r.typeCode];
      if (!type) throw new Error(`unknown object type ${r.typeCode} at ${r.offset}`);
      obj = { type, data: r.data };
    }
    resolved.set(r.offset, obj);
    return obj;
  };
  for (const r of raws) {
    if (r.typeCode === 7 && !byOid.has(r.baseOid!)) { pending.push(r); continue; }
    const obj = resolve(r);
    const oid = hash(obj.type, obj.data);
    byOid.set(oid, r.offset);
    entries.push({ oid, offset: r.offset, crc: r.crc });
  }
  // Ref-deltas whose base came later in the pack (or from outside it).
  for (let guard = 0; pending.length && guard < 10; guard++) {
    for (const r of pending.splice(0)) {
      const obj = resolve(r);
      const oid = hash(obj.type, obj.data);
      byOid.set(oid, r.offset);
      entries.push({ oid, offset: r.offset, crc: r.crc });
    }
  }
  return { idx: buildIdx(entries, Buffer.from(trailer)), sha: trailer.toString('hex'), count };
}
