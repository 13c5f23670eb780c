// git-receive-pack (push), protocol v0/v1: the request (one update command naming the old value,
// then the pack) and the remote's report-status, side-band multiplexed or not. Pure.
import { FLUSH, pkt, pktLines } from './pkt-line.ts';

export const ZERO_OID = '0000000000000000000000000000000000000000';

/** Updates `ref` from `oldOid` (null: create) to `newOid`; never a force. */
export function receivePackRequest(ref: string, oldOid: string | null, newOid: string, caps: string[], pack: Buffer): Buffer {
  return Buffer.concat([pkt(`${oldOid ?? ZERO_OID} ${newOid} ${ref}\0${caps.join(' ')}\n`), FLUSH, pack]);
}

export type PushOutcome = { ok: true } | { ok: false; rejected: true; reason: string };

/** What the remote said about `ref` (reasons as the remote gave them: redact before showing). */
export function parseReceivePackReport(raw: Buffer, ref: string, caps: string[]): PushOutcome {
  let report = raw;
  if (caps.includes('side-band-64k')) {
    const parts: Buffer[] = [];
    let fatal = '';
    for (const line of pktLines(raw)) {
      if (!line?.length) continue;
      if (line[0] === 1) parts.push(line.subarray(1));
      else if (line[0] === 3) fatal += line.subarray(1).toString('utf8');
    }
    if (fatal) return { ok: false, rejected: true, reason: fatal.trim() };
    report = Buffer.concat(parts);
  }
  if (!caps.includes('report-status')) return { ok: true };
  let unpack = '';
  for (const line of pktLines(report)) {
    if (!line) continue;
    const text = line.toString('utf8').replace(/\n$/, '');
    if (text.startsWith('unpack ')) unpack = text.slice(7);
    else if (text.startsWith('ok ') && text.slice(3) === ref) return unpack === 'ok' ? { ok: true } : { ok: false, rejected: true, reason: `unpack ${unpack}` };
    else if (text.startsWith('ng ') && text.slice(3).startsWith(ref + ' ')) return { ok: false, rejected: true, reason: text.slice(4 + ref.length) };
  }
  return { ok: false, rejected: true, reason: `no status for ${ref} in the remote's report (unpack ${unpack || '?'})` };
}
