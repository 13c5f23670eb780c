// Git packfiles, version 2: the entry headers (type, size, delta base), read and written. Pure.
import { GitError } from '../errors.ts';
import type { GitObjectType } from './objects.ts';

export const OBJ_OFS_DELTA = 6;
export const OBJ_REF_DELTA = 7;
const TYPES: Record<number, GitObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' };
const TYPE_CODE: Record<GitObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 };

/** The object type of a non-delta entry's type code (1–4). */
export function typeOfCode(code: number, where: string): GitObjectType {
  const type = TYPES[code];
  if (!type) throw new GitError('GitPackInvalid', `unknown object type ${code} at ${where}; the pack is damaged`, {});
  return type;
}

export interface EntryHeader {
  typeCode: number;
  /** Inflated size of the entry's data (for a delta: of the delta). */
  size: number;
  /** ofs-delta: the offset of the base entry in the same pack. */
  baseOffset?: number;
  /** ref-delta: the oid of the base. */
  baseOid?: string;
  /** Where the zlib stream of the entry's data starts. */
  dataStart: number;
}

/** Reads the header of the entry at `offset`. */
export function readEntryHeader(pack: Buffer, offset: number): EntryHeader {
  let pos = offset;
  let c = pack[pos++]!;
  const typeCode = (c >> 4) & 7;
  let size = c & 0x0f;
  for (let shift = 4; c & 0x80; shift += 7) {
    c = pack[pos++]!;
    size += (c & 0x7f) * 2 ** shift;
  }
  if (typeCode === OBJ_OFS_DELTA) {
    c = pack[pos++]!;
    let off = c & 0x7f;
    while (c & 0x80) {
      c = pack[pos++]!;
      off = (off + 1) * 128 + (c & 0x7f);
    }
    return { typeCode, size, baseOffset: offset - off, dataStart: pos };
  }
  if (typeCode === OBJ_REF_DELTA) return { typeCode, size, baseOid: pack.toString('hex', pos, pos + 20), dataStart: pos + 20 };
  return { typeCode, size, dataStart: pos };
}

/** The header of a whole (non-delta) entry. */
export function packObjectHeader(type: GitObjectType, size: number): Buffer {
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
