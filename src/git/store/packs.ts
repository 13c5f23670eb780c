// Adding a pack (and its index) to a repository's objects/pack, named by its checksum as git does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function storePack(gitdir: string, sha: string, pack: Buffer, idx: Buffer): void {
  const dir = join(gitdir, 'objects', 'pack');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `pack-${sha}.pack`), pack);
  writeFileSync(join(dir, `pack-${sha}.idx`), idx);
}
