// Real restic repositories for tests: a thin face over src/restic/seed.ts (which the demo uses too).
// Snapshots hold pod-absolute paths (`/source/data/...`) for any host; the real `/` is never touched.
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isResticError } from '../../src/restic/errors.ts';
import { detectConfinement, seedRepository } from '@restore-controller/devkit/seed';
import type { SeedResult, SeedSnapshot } from '@restore-controller/devkit/seed';

export type { SeedSnapshot } from '@restore-controller/devkit/seed';

export interface MakeRepoOptions {
  /** Folder that will hold the repository (as `<dir>/repo` unless repoPath is given). */
  dir: string;
  password: string;
  snapshots: SeedSnapshot[];
  repoPath?: string;
  /** Cheap scrypt parameters so restic opens the repository fast (default true; test repositories only). */
  fastKdf?: boolean;
}

/** Make a restic repository holding the given snapshots; see seedRepository. */
export async function makeRepo(opts: MakeRepoOptions): Promise<SeedResult> {
  return seedRepository({
    repoPath: opts.repoPath ?? join(opts.dir, 'repo'),
    password: opts.password,
    snapshots: opts.snapshots,
    fastKdf: opts.fastKdf ?? true,
  });
}

/**
 * Call in a mocha `before`: skips the suite, with the reason, when repositories with
 * pod-absolute paths cannot be built on this machine (no restic, no chroot, no user namespaces).
 */
export async function requireSeeding(ctx: Mocha.Context): Promise<void> {
  try {
    await detectConfinement();
  } catch (e) {
    if (isResticError(e, 'SeedUnavailable')) {
      console.warn(`      skipped: ${e.message}`);
      ctx.skip();
    }
    throw e;
  }
}

/** A fresh temporary folder, removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Everything under `root`, as absolute paths relative to it (`/source/data/a.json`), directories
 * with a trailing '/'; sorted.
 */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const p = `${rel}/${d.name}`;
      if (d.isDirectory()) {
        out.push(p + '/');
        await walk(join(dir, d.name), p);
      } else out.push(p);
    }
  };
  await walk(root, '');
  return out.sort();
}

/**
 * Writes `files` files of `bytes` bytes in all under `<root><dir>` (200 to a folder), for a
 * seedRepository `populate`: an AES-CTR keystream, so the content is incompressible, unique per
 * file (restic's dedup finds nothing) and cheap to make. Never held in memory as a whole.
 */
export async function writeRandomFiles(root: string, dir: string, files: number, bytes: number): Promise<void> {
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const base = Math.floor(bytes / files);
  const last = base + (bytes - base * files);
  const zeros = Buffer.alloc(last);
  const folder = (i: number) => join(root, dir, `d${String(Math.floor(i / 200)).padStart(4, '0')}`);
  for (let i = 0; i < files; i += 200) await mkdir(folder(i), { recursive: true });
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < files; i = next++) {
      await writeFile(join(folder(i), `f${String(i).padStart(6, '0')}.bin`), cipher.update(zeros.subarray(0, i === files - 1 ? last : base)));
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}
