// pkt-lines (git's protocol framing): a 4-hex-digit length (itself included) and the payload;
// `0000` is a flush packet. Pure.

export function pkt(line: string): Buffer {
  const body = Buffer.from(line, 'utf8');
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0'), 'latin1'), body]);
}

export const FLUSH = Buffer.from('0000', 'latin1');

/** Splits pkt-lines; a flush packet is returned as null. */
export function* pktLines(buf: Buffer, from = 0): Generator<Buffer | null> {
  let pos = from;
  while (pos + 4 <= buf.length) {
    const len = parseInt(buf.toString('latin1', pos, pos + 4), 16);
    if (Number.isNaN(len)) return;
    if (len === 0) {
      yield null;
      pos += 4;
      continue;
    }
    if (len < 4) {
      pos += 4;
      continue;
    }
    yield buf.subarray(pos + 4, pos + len);
    pos += len;
  }
}
