// Git's delta format (the body of ofs-delta and ref-delta pack entries): base size, result size,
// then copy-from-base and insert instructions. Pure.
import { GitError } from '../errors.ts';

function readVarint(buf: Buffer, pos: number): [number, number] {
  let result = 0;
  let shift = 0;
  let c: number;
  do {
    c = buf[pos++]!;
    result += (c & 0x7f) * 2 ** shift;
    shift += 7;
  } while (c & 0x80);
  return [result, pos];
}

/** The object `delta` makes of `base`. Throws GitError GitObjectInvalid on a malformed delta. */
export function applyDelta(delta: Buffer, base: Buffer): Buffer {
  const [, afterBaseSize] = readVarint(delta, 0);
  let [size, pos] = readVarint(delta, afterBaseSize);
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  while (pos < delta.length) {
    const op = delta[pos++]!;
    if (op & 0x80) {
      let off = 0;
      let len = 0;
      for (let i = 0; i < 4; i++) if (op & (1 << i)) off |= delta[pos++]! << (8 * i);
      for (let i = 0; i < 3; i++) if (op & (0x10 << i)) len |= delta[pos++]! << (8 * i);
      if (len === 0) len = 0x10000;
      base.copy(out, o, off >>> 0, (off >>> 0) + len);
      o += len;
    } else if (op) {
      delta.copy(out, o, pos, pos + op);
      o += op;
      pos += op;
    } else throw new GitError('GitObjectInvalid', 'a delta holds the reserved instruction 0; the pack is damaged', {});
  }
  if (o !== size)
    throw new GitError(
      'GitObjectInvalid',
      `a delta produced ${o} bytes where it declares ${size}; the pack is damaged or the base is not the right object`,
      {},
    );
  return out;
}
