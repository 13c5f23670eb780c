// Pack indexes (.idx, version 2): built for a pack we received or wrote, and read to find an
// object's offset. `indexPack` is what `git index-pack` does, synchronously in one pass plus delta
// resolution. Pure.
import { createHash } from 'node:crypto';
import { crc32, inflateSync } from 'node:zlib';
import { GitError } from '../errors.ts';
import { applyDelta } from './delta.ts';
import type { GitObject } from './objects.ts';
import { objectOid } from './objects.ts';
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, readEntryHeader, typeOfCode } from './pack.ts';

const IDX_MAGIC = 0xff744f63;

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
  idx.writeUInt32BE(IDX_MAGIC, 0);
  idx.writeUInt32BE(2, 4);
  const fanout = new Array<number>(256).fill(0);
  for (const e of entries) fanout[parseInt(e.oid.slice(0, 2), 16)]!++;
  let total = 0;
  for (let i = 0; i < 256; i++) {
    total += fanout[i]!;
    idx.writeUInt32BE(total, 8 + i * 4);
  }
  let pos = 8 + 1024;
  for (const e of entries) {
    Buffer.from(e.oid, 'hex').copy(idx, pos);
    pos += 20;
  }
  for (const e of entries) {
    idx.writeUInt32BE(e.crc >>> 0, pos);
    pos += 4;
  }
  let li = 0;
  for (const e of entries) {
    idx.writeUInt32BE(e.offset >= 0x80000000 ? (0x80000000 | li++) >>> 0 : e.offset, pos);
    pos += 4;
  }
  for (const e of large) {
    idx.writeBigUInt64BE(BigInt(e.offset), pos);
    pos += 8;
  }
  packSha.copy(idx, pos);
  pos += 20;
  createHash('sha1').update(idx.subarray(0, pos)).digest().copy(idx, pos);
  return idx;
}

/** The entries of a v2 index, in its (oid) order. `where` names the file, for the error. */
export function parseIdx(idx: Buffer, where = 'the pack index'): IdxEntry[] {
  if (idx.length < 8 + 1024 || idx.readUInt32BE(0) !== IDX_MAGIC || idx.readUInt32BE(4) !== 2) {
    throw new GitError('GitPackIndexInvalid', `${where} is not a version 2 pack index; remove it (and its .pack) to have it fetched again`, {});
  }
  const n = idx.readUInt32BE(8 + 255 * 4);
  const oids = 8 + 1024;
  const crcs = oids + n * 20;
  const offs = crcs + n * 4;
  const big = offs + n * 4;
  const out: IdxEntry[] = new Array(n);
  for (let i = 0; i < n; i++) {
    let off = idx.readUInt32BE(offs + i * 4);
    if (off & 0x80000000) off = Number(idx.readBigUInt64BE(big + (off & 0x7fffffff) * 8));
    out[i] = { oid: idx.toString('hex', oids + i * 20, oids + i * 20 + 20), offset: off, crc: idx.readUInt32BE(crcs + i * 4) };
  }
  return out;
}

interface Raw {
  offset: number;
  typeCode: number;
  baseOffset?: number;
  baseOid?: string;
  data: Buffer;
  crc: number;
}

/**
 * Indexes a pack: every object's oid (deltas resolved), offset and CRC. `external` reads a
 * ref-delta base that is not in the pack (from the repository the pack is added to). Throws
 * GitError GitPackInvalid on a corrupt pack.
 */
export function indexPack(pack: Buffer, external: (oid: string) => GitObject): { idx: Buffer; sha: string; count: number } {
  if (pack.length < 32 || pack.toString('latin1', 0, 4) !== 'PACK') throw new GitError('GitPackInvalid', 'not a packfile (no PACK signature)', {});
  const count = pack.readUInt32BE(8);
  const trailer = pack.subarray(pack.length - 20);
  if (
    !createHash('sha1')
      .update(pack.subarray(0, pack.length - 20))
      .digest()
      .equals(trailer)
  ) {
    throw new GitError('GitPackInvalid', 'packfile checksum mismatch (the pack was cut short or damaged in transit)', {});
  }
  const raws: Raw[] = [];
  const byOffset = new Map<number, Raw>();
  let pos = 12;
  for (let i = 0; i < count; i++) {
    const offset = pos;
    const h = readEntryHeader(pack, offset);
    const { buffer, engine } = inflateSync(pack.subarray(h.dataStart), { info: true, chunkSize: Math.max(64, h.size + 1) }) as unknown as {
      buffer: Buffer;
      engine: { bytesWritten: number };
    };
    pos = h.dataStart + engine.bytesWritten;
    const raw: Raw = { offset, typeCode: h.typeCode, data: buffer, crc: crc32(pack.subarray(offset, pos)) };
    if (h.baseOffset !== undefined) raw.baseOffset = h.baseOffset;
    if (h.baseOid !== undefined) raw.baseOid = h.baseOid;
    raws.push(raw);
    byOffset.set(offset, raw);
  }
  // Resolve: every object's type and content, bases kept while something still needs them.
  const resolved = new Map<number, GitObject>();
  const byOid = new Map<string, number>();
  const entries: IdxEntry[] = [];
  const resolve = (r: Raw): GitObject => {
    const hit = resolved.get(r.offset);
    if (hit) return hit;
    let obj: GitObject;
    if (r.typeCode === OBJ_OFS_DELTA) {
      const base = byOffset.get(r.baseOffset!);
      if (!base) throw new GitError('GitPackInvalid', `the delta at offset ${r.offset} names a base at ${r.baseOffset}, where the pack has no entry`, {});
      const b = resolve(base);
      obj = { type: b.type, data: applyDelta(r.data, b.data) };
    } else if (r.typeCode === OBJ_REF_DELTA) {
      const at = byOid.get(r.baseOid!);
      const b = at !== undefined ? resolved.get(at)! : external(r.baseOid!);
      obj = { type: b.type, data: applyDelta(r.data, b.data) };
    } else {
      obj = { type: typeOfCode(r.typeCode, `offset ${r.offset}`), data: r.data };
    }
    resolved.set(r.offset, obj);
    return obj;
  };
  const add = (r: Raw) => {
    const obj = resolve(r);
    const oid = objectOid(obj.type, obj.data);
    byOid.set(oid, r.offset);
    entries.push({ oid, offset: r.offset, crc: r.crc });
  };
  // Ref-deltas whose base comes later in the pack (or from outside it) wait for one second pass.
  const later: Raw[] = [];
  for (const r of raws) {
    if (r.typeCode === OBJ_REF_DELTA && !byOid.has(r.baseOid!)) later.push(r);
    else add(r);
  }
  for (const r of later) add(r);
  return { idx: buildIdx(entries, Buffer.from(trailer)), sha: trailer.toString('hex'), count };
}
