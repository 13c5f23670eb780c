// Pushing one ref over smart HTTP or SSH (git-receive-pack, protocol v0/v1) with a pack we built: the
// ref advertisement tells the remote's current value and capabilities, then one POST carries the
// update command and the pack. Never forced: the command names the old value we built on, and the
// remote refuses it if the branch moved meanwhile.
import { agreedCapabilities } from '../wire/advertisement.ts';
import type { Advertisement } from '../wire/advertisement.ts';
import { parseReceivePackReport, receivePackRequest } from '../wire/receive-pack.ts';
import type { PushOutcome } from '../wire/receive-pack.ts';
import type { GitRemote } from './remote.ts';

export interface RefUpdate {
  ref: string;
  /** The value the update was built on; null: the ref is created. */
  oldOid: string | null;
  newOid: string;
  /** Every object `newOid` needs that the remote may not have. */
  pack: Buffer;
}

/**
 * Updates `u.ref` from `u.oldOid` to `u.newOid`. A refusal by the remote (the branch moved, a hook
 * said no) comes back as `{ok: false}` with the remote's reason, redacted; `what` says why, for errors.
 */
export async function pushPack(remote: GitRemote, u: RefUpdate, advertised: Advertisement, what = 'pushing to'): Promise<PushOutcome> {
  const current = advertised.refs.get(u.ref) ?? null;
  if (current !== u.oldOid)
    return { ok: false, rejected: true, reason: `the branch is at ${current?.slice(0, 7) ?? 'nothing'}, not ${u.oldOid?.slice(0, 7) ?? 'nothing'}` };
  const caps = agreedCapabilities(advertised, ['report-status', 'side-band-64k']);
  const raw = await remote.request('git-receive-pack', receivePackRequest(u.ref, u.oldOid, u.newOid, caps, u.pack), what);
  const outcome = parseReceivePackReport(raw, u.ref, caps);
  return outcome.ok ? outcome : { ...outcome, reason: remote.redact(outcome.reason) };
}
