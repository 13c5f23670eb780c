// git-upload-pack (fetch), protocol v0/v1, stateless: the request (wants, haves, done) and the
// response (NAK/ACK lines, then the pack, side-band multiplexed or raw). Pure.
import { FLUSH, pkt } from './pkt-line.ts';

/** The request body: the first want carries the capabilities; never shallow. */
export function uploadPackRequest(wants: string[], haves: string[], caps: string[]): Buffer {
  return Buffer.concat([
    pkt(`want ${wants[0]} ${caps.join(' ')}\n`),
    ...wants.slice(1).map((w) => pkt(`want ${w}\n`)),
    FLUSH,
    ...[...new Set(haves)].map((h) => pkt(`have ${h}\n`)),
    pkt('done\n'),
  ]);
}

/**
 * The pack out of an upload-pack response (side-band 1 when `sideband`, else everything after the
 * acknowledgements), or the remote's error (an `ERR` line or side-band 3).
 */
export function parseUploadPackResponse(raw: Buffer, sideband: boolean): { pack: Buffer; error?: string } {
  const parts: Buffer[] = [];
  let pos = 0;
  let error = '';
  while (pos + 4 <= raw.length) {
    // Without side-band the pack follows the acknowledgements as it is, not in pkt-lines.
    if (!sideband && raw.toString('latin1', pos, pos + 4) === 'PACK') {
      parts.push(raw.subarray(pos));
      break;
    }
    const len = parseInt(raw.toString('latin1', pos, pos + 4), 16);
    if (Number.isNaN(len)) break;
    if (len === 0) {
      pos += 4;
      continue;
    }
    const line = raw.subarray(pos + 4, pos + len);
    const text = line.toString('latin1', 0, 4);
    if (text.startsWith('NAK') || text.startsWith('ACK')) {
      pos += len;
      continue;
    }
    if (text.startsWith('ERR ')) {
      error = line.toString('utf8').slice(4).trim();
      break;
    }
    if (line[0] === 1) parts.push(line.subarray(1));
    else if (line[0] === 3) {
      error = line.subarray(1).toString('utf8').trim();
      break;
    }
    pos += len;
  }
  return error ? { pack: Buffer.concat(parts), error } : { pack: Buffer.concat(parts) };
}
