// Pushing one ref over smart HTTP (git-receive-pack, protocol v0/v1) with a pack we built: the
// ref advertisement tells the remote's current value and capabilities, then one POST carries the
// update command and the pack. Never forced: the command names the old value we built on, and the
// remote refuses it if the branch moved meanwhile.
import type { GitRemote } from '../source/remote.ts';

const ZERO = '0000000000000000000000000000000000000000';

export type PushOutcome = { ok: true } | { ok: false; rejected: true; reason: string };

function pkt(line: string): Buffer {
  const body = Buffer.from(line, 'utf8');
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0'), 'latin1'), body]);
}

/** Splits pkt-lines; a flush packet is returned as null. */
function* pktLines(buf: Buffer): Generator<Buffer | null> {
  let pos = 0;
  while (pos + 4 <= buf.length) {
    const len = parseInt(buf.subarray(pos, pos + 4).toString('latin1'), 16);
    if (Number.isNaN(len)) return;
    if (len === 0) { yield null; pos += 4; continue; }
    if (len < 4) { pos += 4; continue; }
    yield buf.subarray(pos + 4, pos + len);
    pos += len;
  }
}

async function collect(body: AsyncIterable<Uint8Array> | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  if (body) for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

export interface Advertisement {
  refs: Map<string, string>;
  capabilities: Set<string>;
}

/** GET info/refs?service=git-receive-pack. */
export async function advertiseReceivePack(remote: GitRemote): Promise<Advertisement> {
  const url = `${remote.url.replace(/\/$/, '')}/info/refs?service=git-receive-pack`;
  let res;
  try {
    res = await remote.http.request({ url, method: 'GET', headers: { ...remote.headers, Accept: 'application/x-git-receive-pack-advertisement' } });
  } catch (e) {
    throw remote.explain(e, 'pushing the status branch to');
  }
  const body = await collect(res.body);
  if (res.statusCode !== 200) throw remote.explain({ code: 'HttpError', message: `HTTP ${res.statusCode}`, data: { statusCode: res.statusCode, statusMessage: res.statusMessage } }, 'pushing the status branch to');
  const refs = new Map<string, string>();
  const capabilities = new Set<string>();
  let first = true;
  for (const line of pktLines(body)) {
    if (!line) continue;
    const text = line.toString('utf8').replace(/\n$/, '');
    if (text.startsWith('# service=')) continue;
    let refPart = text;
    if (first) {
      const nul = text.indexOf('\0');
      if (nul >= 0) {
        for (const c of text.slice(nul + 1).split(' ')) if (c) capabilities.add(c);
        refPart = text.slice(0, nul);
      }
      first = false;
    }
    const [oid, name] = refPart.split(' ');
    if (oid && name && name !== 'capabilities^{}') refs.set(name, oid);
  }
  return { refs, capabilities };
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
  const body = Buffer.concat([pkt(`${oldOid ?? ZERO} ${newOid} ${ref}\0${caps.join(' ')}\n`), Buffer.from('0000', 'latin1'), pack]);
  let res;
  try {
    res = await remote.http.request({
      url: `${remote.url.replace(/\/$/, '')}/git-receive-pack`,
      method: 'POST',
      headers: { ...remote.headers, 'Content-Type': 'application/x-git-receive-pack-request', Accept: 'application/x-git-receive-pack-result', 'Content-Length': String(body.length) },
      body: (async function* () { yield body; })(),
    });
  } catch (e) {
    throw remote.explain(e, 'pushing the status branch to');
  }
  const raw = await collect(res.body);
  if (res.statusCode !== 200) throw remote.explain({ code: 'HttpError', message: `HTTP ${res.statusCode}`, data: { statusCode: res.statusCode, statusMessage: res.statusMessage } }, 'pushing the status branch to');

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
