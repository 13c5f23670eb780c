// Fetching over smart HTTP (git-upload-pack, protocol v0/v1, stateless): one POST with our wants
// and haves, the pack demultiplexed from side-band 1, indexed here (pack-index.ts) and stored in
// the cache repository. isomorphic-git's fetch does the same but indexes with an async inflate per
// object: 10 s against git's 1.3 s for a 10,000-file, 1,000-commit repository on this machine.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ObjectReader } from './object-reader.ts';
import { indexPack } from './pack-index.ts';
import type { GitRemote } from './remote.ts';
import { FLUSH, pkt, post } from './smart-http.ts';
import type { Advertisement } from './smart-http.ts';

export interface FetchedPack {
  /** Objects received (0 when the remote had nothing new). */
  objects: number;
  bytes: number;
}

export async function fetchPack(remote: GitRemote, gitdir: string, wants: string[], haves: string[], advertised: Advertisement): Promise<FetchedPack> {
  const what = 'fetching from';
  const caps = ['side-band-64k', 'ofs-delta', 'no-progress'].filter((c) => advertised.capabilities.has(c));
  caps.push('agent=restore-controller');
  const body = Buffer.concat([
    pkt(`want ${wants[0]} ${caps.join(' ')}\n`),
    ...wants.slice(1).map((w) => pkt(`want ${w}\n`)),
    FLUSH,
    ...[...new Set(haves)].map((h) => pkt(`have ${h}\n`)),
    pkt('done\n'),
  ]);
  const raw = await post(remote, 'git-upload-pack', body, what);

  const sideband = caps.includes('side-band-64k');
  const parts: Buffer[] = [];
  let pos = 0;
  let error = '';
  while (pos + 4 <= raw.length) {
    const len = parseInt(raw.toString('latin1', pos, pos + 4), 16);
    if (Number.isNaN(len)) break;
    if (len === 0) { pos += 4; continue; }
    const line = raw.subarray(pos + 4, pos + len);
    const text = line.toString('latin1', 0, 4);
    if (text.startsWith('NAK') || text.startsWith('ACK')) { pos += len; continue; }
    if (text.startsWith('ERR ')) { error = line.toString('utf8').slice(4).trim(); break; }
    if (!sideband) { parts.push(raw.subarray(pos)); break; }
    if (line[0] === 1) parts.push(line.subarray(1));
    else if (line[0] === 3) { error = line.subarray(1).toString('utf8').trim(); break; }
    pos += len;
  }
  if (error) throw remote.explain(new Error(`the remote refused the fetch: ${error}`), what);
  const pack = Buffer.concat(parts);
  if (pack.length < 32) return { objects: 0, bytes: pack.length };
  const reader = new ObjectReader(gitdir);
  let indexed;
  try {
    indexed = indexPack(pack, (oid) => reader.read(oid));
  } catch (e) {
    throw remote.explain(new Error(`the pack received is unusable (${(e as Error).message})`), what);
  }
  const dir = join(gitdir, 'objects', 'pack');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `pack-${indexed.sha}.pack`), pack);
  writeFileSync(join(dir, `pack-${indexed.sha}.idx`), indexed.idx);
  return { objects: indexed.count, bytes: pack.length };
}
