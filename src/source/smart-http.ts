// The pieces of git's smart HTTP protocol (v0/v1) that the Source and the StatusWriter speak
// directly: pkt-lines, side-band demultiplexing and the ref advertisement.
import type { GitRemote } from './remote.ts';

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
    if (len === 0) { yield null; pos += 4; continue; }
    if (len < 4) { pos += 4; continue; }
    yield buf.subarray(pos + 4, pos + len);
    pos += len;
  }
}

export async function collect(body: AsyncIterable<Uint8Array> | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  if (body) for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

export interface Advertisement {
  refs: Map<string, string>;
  /** `HEAD`'s target branch when the server says (symref capability). */
  head?: string;
  capabilities: Set<string>;
}

export type Service = 'git-upload-pack' | 'git-receive-pack';

/** GET info/refs?service=…: the remote's refs and capabilities. */
export async function advertise(remote: GitRemote, service: Service, what: string): Promise<Advertisement> {
  const url = `${remote.url.replace(/\/$/, '')}/info/refs?service=${service}`;
  let res;
  try {
    res = await remote.http.request({ url, method: 'GET', headers: { ...remote.headers, Accept: `application/x-${service}-advertisement` } });
  } catch (e) {
    throw remote.explain(e, what);
  }
  const body = await collect(res.body);
  if (res.statusCode !== 200) throw remote.explain({ code: 'HttpError', message: `HTTP ${res.statusCode}`, data: { statusCode: res.statusCode, statusMessage: res.statusMessage } }, what);
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
  const symref = [...capabilities].find((c) => c.startsWith('symref=HEAD:'));
  return { refs, capabilities, ...(symref ? { head: symref.slice('symref=HEAD:'.length) } : {}) };
}

/** A POST to the service with `body`; returns the response bytes (HTTP errors explained). */
export async function post(remote: GitRemote, service: Service, body: Buffer, what: string): Promise<Buffer> {
  let res;
  try {
    res = await remote.http.request({
      url: `${remote.url.replace(/\/$/, '')}/${service}`,
      method: 'POST',
      headers: { ...remote.headers, 'Content-Type': `application/x-${service}-request`, Accept: `application/x-${service}-result`, 'Content-Length': String(body.length) },
      body: [body] as unknown as AsyncIterableIterator<Uint8Array>,
    });
  } catch (e) {
    throw remote.explain(e, what);
  }
  const raw = await collect(res.body);
  if (res.statusCode !== 200) throw remote.explain({ code: 'HttpError', message: `HTTP ${res.statusCode}`, data: { statusCode: res.statusCode, statusMessage: res.statusMessage } }, what);
  return raw;
}
