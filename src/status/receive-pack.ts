// Pushing one ref over smart HTTP (git-receive-pack, protocol v0/v1) with a pack we built: the
// ref advertisement tells the remote's current value and capabilities, then one POST carries the
// update command and the pack. Never forced: the command names the old value we built on, and the
// remote refuses it if the branch moved meanwhile.
import type { GitRemote } from '../source/remote.ts';
import { FLUSH, advertise, pkt, pktLines, post } from '../source/smart-http.ts';
import type { Advertisement } from '../source/smart-http.ts';

export type { Advertisement };

const ZERO = '0000000000000000000000000000000000000000';

export type PushOutcome = { ok: true } | { ok: false; rejected: true; reason: string };

/** GET info/refs?service=git-receive-pack. */
export function advertiseReceivePack(remote: GitRemote): Promise<Advertisement> {
  return advertise(remote, 'git-receive-pack', 'pushing the status branch to');
}

/**
 * Updates `ref` from `oldOid` (null: create) to `newOid`, sending `pack`. A refusal by the remote
 * (the branch moved, a hook said no) comes back as `{ok: false}` with the remote's reason.
 */
export async function pushPack(remote: GitRemote, ref: string, oldOid: string | null, newOid: string, pack: Buffer, advertised: Advertisement): Promise<PushOutcome> {
  const current = advertised.refs.get(ref) ?? null;
  if (current !== oldOid) return { ok: false, rejected: true, reason: `the branch is at ${current?.slice(0, 7) ?? 'nothing'}, not ${oldOid?.slice(0, 7) ?? 'nothing'}` };
  const caps = ['report-status', 'side-band-64k'].filter((c) => advertised.capabilities.has(c));
  caps.push('agent=restore-controller');
  const body = Buffer.concat([pkt(`${oldOid ?? ZERO} ${newOid} ${ref}\0${caps.join(' ')}\n`), FLUSH, pack]);
  const raw = await post(remote, 'git-receive-pack', body, 'pushing the status branch to');

  let report = raw;
  if (caps.includes('side-band-64k')) {
    const parts: Buffer[] = [];
    let fatal = '';
    for (const line of pktLines(raw)) {
      if (!line || !line.length) continue;
      if (line[0] === 1) parts.push(line.subarray(1));
      else if (line[0] === 3) fatal += line.subarray(1).toString('utf8');
    }
    if (fatal) return { ok: false, rejected: true, reason: remote.scrub(fatal.trim()) };
    report = Buffer.concat(parts);
  }
  if (!caps.includes('report-status')) return { ok: true };
  let unpack = '';
  for (const line of pktLines(report)) {
    if (!line) continue;
    const text = line.toString('utf8').replace(/\n$/, '');
    if (text.startsWith('unpack ')) unpack = text.slice(7);
    else if (text.startsWith('ok ') && text.slice(3) === ref) return unpack === 'ok' ? { ok: true } : { ok: false, rejected: true, reason: `unpack ${unpack}` };
    else if (text.startsWith('ng ') && text.slice(3).startsWith(ref + ' ')) return { ok: false, rejected: true, reason: remote.scrub(text.slice(4 + ref.length)) };
  }
  return { ok: false, rejected: true, reason: `no status for ${ref} in the remote's report (unpack ${unpack || '?'})` };
}
