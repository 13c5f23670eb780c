// Build real restic repositories whose snapshots hold pod-absolute paths (`/source/data/...`)
// for any host, without touching the real `/`: restic runs in a throw-away chroot that holds a
// copy of the restic binary and its shared libraries, with the files laid out under it
// (`chroot ROOT /bin/restic backup /source/data`). As root a plain chroot is used; otherwise
// `unshare --user --map-root-user chroot …` (needs unprivileged user namespaces).
// Used by the tests (test/support/restic-repo.ts) and by the demo to seed its sandbox.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants as fsc } from 'node:fs';
import { access, chmod, copyFile, cp, link, mkdir, mkdtemp, readdir, realpath, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, posix } from 'node:path';
import { promisify } from 'node:util';
import { ResticError } from 'restore-controller/restic/errors';
import { useFastKdf } from './fast-kdf.ts';

const run = promisify(execFile);

/** A file's content, or `{content, mode, mtime}`; a path ending with '/' is an empty directory. */
export type SeedFile = string | Uint8Array | { content: string | Uint8Array; mode?: number; mtime?: Date };

export interface SeedSnapshot {
  /** restic's `--host` for the snapshot. */
  host: string;
  /** Absolute snapshot path → content. Keys ending with '/' make empty directories. */
  files: Record<string, SeedFile>;
  /**
   * Writes further files straight under `root` (the chroot, standing for `/`), for volumes too
   * big to hold in memory (bench/agent.ts). Top-level folders it uses must be listed in `paths`.
   */
  populate?: (root: string) => Promise<void>;
  /** The paths given to `restic backup`; default: the deepest directory holding every file. */
  paths?: string[];
  tags?: string[];
  /** Snapshot time (restic `--time`); default now. Decides which snapshot is `latest`. */
  time?: Date;
}

export interface SeedOptions {
  /** The repository folder; created (restic init) when it does not exist yet. */
  repoPath: string;
  /** RESTIC_PASSWORD for the repository. Never put on a command line. */
  password: string;
  snapshots: SeedSnapshot[];
  /** restic binary; default `restic` from PATH. */
  restic?: string;
  /**
   * Rewrap the new repository's key with cheap scrypt parameters (see fast-kdf.ts) so every
   * restic command opens it in ~1 ms instead of ~0.5 s. INSECURE: tests and the demo only.
   */
  fastKdf?: boolean;
  /** Force a confinement instead of detecting one (tests of the unshare path). */
  confinement?: Confinement;
}

export interface SeedResult {
  repoPath: string;
  /** Full snapshot ids, one per `snapshots` entry, in order. */
  snapshotIds: string[];
  /** How restic was confined: 'chroot' (root) or 'unshare' (user namespace). */
  confinement: Confinement;
}

export type Confinement = 'chroot' | 'unshare';

/** Locate an executable on PATH (like `command -v`). */
export async function whichExecutable(name: string): Promise<string | undefined> {
  if (name.includes('/')) return name;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, fsc.X_OK);
      const s = await stat(candidate);
      if (s.isFile()) return candidate;
    } catch {
      /* next */
    }
  }
  return undefined;
}

/** The shared libraries `ldd` lists for a binary (absolute paths); [] for a static binary. */
const libraryCache = new Map<string, Promise<string[]>>();
function sharedLibraries(binary: string): Promise<string[]> {
  let libs = libraryCache.get(binary);
  if (!libs) {
    libs = lddLibraries(binary);
    libraryCache.set(binary, libs);
  }
  return libs;
}

async function lddLibraries(binary: string): Promise<string[]> {
  try {
    const { stdout } = await run('ldd', [binary]);
    const libs = new Set<string>();
    for (const line of stdout.split('\n')) {
      const m = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
      if (m?.[1]) libs.add(m[1]);
    }
    return [...libs];
  } catch {
    return []; // "not a dynamic executable" exits non-zero
  }
}

/** Hard-link (cheap, same file system) or copy; symlinks are resolved so the real file lands at dest. */
async function linkOrCopy(src: string, dest: string): Promise<void> {
  try {
    await link(await realpath(src), dest);
  } catch {
    await copyFile(src, dest);
  }
}

async function prepareRoot(root: string, restic: string): Promise<void> {
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true, mode: 0o1777 });
  await linkOrCopy(restic, join(root, 'bin', 'restic'));
  for (const lib of await sharedLibraries(restic)) {
    const dest = join(root, lib);
    await mkdir(dirname(dest), { recursive: true });
    await linkOrCopy(lib, dest);
  }
}

const confinementCache = new Map<string, Confinement | ResticError>();

/** chroot and unshare live in sbin on many systems, which a non-root PATH may lack. */
async function systemTool(name: string): Promise<string> {
  const found = await whichExecutable(name);
  if (found) return found;
  for (const dir of ['/usr/sbin', '/sbin', '/usr/bin', '/bin']) {
    const candidate = join(dir, name);
    try {
      await access(candidate, fsc.X_OK);
      return candidate;
    } catch {
      /* next */
    }
  }
  return name;
}

async function chrootArgv(confinement: Confinement, root: string, args: string[]): Promise<[string, string[]]> {
  const chroot = await systemTool('chroot');
  if (confinement === 'chroot') return [chroot, [root, '/bin/restic', ...args]];
  return [await systemTool('unshare'), ['--user', '--map-root-user', chroot, root, '/bin/restic', ...args]];
}

function chrootEnv(password: string): NodeJS.ProcessEnv {
  return { PATH: '/bin', HOME: '/tmp', TMPDIR: '/tmp', RESTIC_PASSWORD: password, LANG: 'C.UTF-8' };
}

/** Find out (once per restic binary) whether chroot or unshare+chroot works here. */
export async function detectConfinement(restic?: string): Promise<Confinement> {
  const binary = await whichExecutable(restic ?? 'restic');
  if (!binary) throw new ResticError('SeedUnavailable', 'restic is not installed (not found on PATH)', {});
  const cached = confinementCache.get(binary);
  if (cached instanceof ResticError) throw cached;
  if (cached) return cached;
  const root = await mkdtemp(join(tmpdir(), 'restic-seed-probe-'));
  const reasons: string[] = [];
  try {
    await prepareRoot(root, binary);
    const candidates: Confinement[] = process.getuid?.() === 0 ? ['chroot', 'unshare'] : ['unshare'];
    for (const c of candidates) {
      const [cmd, argv] = await chrootArgv(c, root, ['version']);
      try {
        await run(cmd, argv, { env: chrootEnv('') });
        confinementCache.set(binary, c);
        return c;
      } catch (e) {
        reasons.push(`${cmd}: ${shortError(e)}`);
      }
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const err = new ResticError(
    'SeedUnavailable',
    `cannot build restic repositories with pod-absolute paths here: neither chroot (needs root) nor ` +
      `unshare --user --map-root-user chroot works (${reasons.join('; ')})`,
    { reasons },
  );
  confinementCache.set(binary, err);
  throw err;
}

function shortError(e: unknown): string {
  const err = e as { stderr?: string; message?: string };
  const text = (err.stderr || err.message || String(e)).trim().split('\n').slice(-2).join(' ');
  return text.length > 300 ? text.slice(-300) : text;
}

const TEMPLATE_PASSWORD = 'restore-controller-seed-template';
const templates = new Map<string, Promise<string>>();

/**
 * An empty repository initialised once per machine, user and restic binary (kept in the temp
 * folder and shared by every process), rewrapped with the fast KDF. Copies share its repository
 * id and master key, which is fine for throw-away test and demo repositories (restic's cache is
 * content-addressed) and nothing else.
 */
function fastTemplate(binary: string, confinement: Confinement): Promise<string> {
  let t = templates.get(binary);
  if (!t) {
    t = (async () => {
      const s = await stat(binary);
      const key = createHash('sha256').update(`${binary}\0${s.size}\0${s.mtimeMs}`).digest('hex').slice(0, 16);
      const shared = join(tmpdir(), `restore-controller-restic-template-${process.getuid?.() ?? 'u'}-${key}`);
      try {
        await access(join(shared, 'config'));
        return shared; // made earlier, by this or another process
      } catch {
        /* make it */
      }
      const root = await mkdtemp(join(tmpdir(), 'restic-seed-template-'));
      try {
        await prepareRoot(root, binary);
        const [cmd, argv] = await chrootArgv(confinement, root, ['-r', '/repo', '--no-cache', 'init']);
        try {
          await run(cmd, argv, { env: chrootEnv(TEMPLATE_PASSWORD) });
        } catch (e) {
          throw new ResticError('ResticFailed', `restic init in seed chroot failed: ${shortError(e)}`, {}, { cause: e });
        }
        await useFastKdf(join(root, 'repo'), TEMPLATE_PASSWORD);
        try {
          await rename(join(root, 'repo'), shared); // atomic: readers see a whole template or none
        } catch (e) {
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e; // another process won the race
        }
        return shared;
      } finally {
        await rm(root, { recursive: true, force: true });
      }
    })();
    t.catch(() => templates.delete(binary));
    templates.set(binary, t);
  }
  return t;
}

/** The deepest directory that contains every file path. */
export function commonDirectory(paths: string[]): string {
  if (paths.length === 0) return '/';
  const split = paths.map((p) =>
    posix
      .dirname(p.endsWith('/') ? p.slice(0, -1) + '/x' : p)
      .split('/')
      .filter(Boolean),
  );
  const first = split[0]!;
  let n = first.length;
  for (const s of split) {
    let i = 0;
    while (i < n && i < s.length && s[i] === first[i]) i++;
    n = i;
  }
  return '/' + first.slice(0, n).join('/');
}

function validateSnapshotPath(p: string, reserved: ReadonlySet<string>): void {
  if (!p.startsWith('/') || p.split('/').some((c) => c === '..' || c === '.')) {
    throw new ResticError('CommandInvalid', `seed path must be absolute and normalised: ${JSON.stringify(p)}`, { path: p });
  }
  const top = p.split('/')[1] ?? '';
  if (top === '' || reserved.has(top)) {
    throw new ResticError('CommandInvalid', `seed path ${JSON.stringify(p)} is inside /${top} (used by the seed chroot)`, { path: p });
  }
}

function checkSnapshotPaths(snap: SeedSnapshot, reserved: ReadonlySet<string>): void {
  const files = Object.keys(snap.files);
  if (files.length === 0 && !(snap.populate && snap.paths?.length)) {
    throw new ResticError('CommandInvalid', `seed snapshot for host ${snap.host} has no files (give files, or populate with paths)`, { host: snap.host });
  }
  for (const p of [...files, ...(snap.paths ?? [])]) validateSnapshotPath(p, reserved);
}

async function layOut(root: string, files: Record<string, SeedFile>): Promise<void> {
  for (const [p, spec] of Object.entries(files)) {
    const dest = join(root, p);
    if (p.endsWith('/')) {
      await mkdir(dest, { recursive: true });
      continue;
    }
    await mkdir(dirname(dest), { recursive: true });
    const content = typeof spec === 'string' || spec instanceof Uint8Array ? spec : spec.content;
    await writeFile(dest, content);
    if (typeof spec === 'object' && !(spec instanceof Uint8Array)) {
      if (spec.mode !== undefined) await chmod(dest, spec.mode);
      if (spec.mtime) await utimes(dest, spec.mtime, spec.mtime);
    }
  }
}

function resticTime(d: Date): string {
  // restic --time takes local "2006-01-02 15:04:05"; the chroot has no zoneinfo, so local = UTC.
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/**
 * Make (or extend) a restic repository at `repoPath` with one snapshot per entry. Each snapshot's
 * files are written fresh (earlier snapshots' files are gone), so a snapshot holds exactly its
 * `files`. The repository is moved into a temporary chroot while restic runs and moved back
 * after, so it must not be in use meanwhile.
 */
export async function seedRepository(opts: SeedOptions): Promise<SeedResult> {
  const binary = await whichExecutable(opts.restic ?? 'restic');
  if (!binary) throw new ResticError('SeedUnavailable', 'restic is not installed (not found on PATH)', {});
  const confinement = opts.confinement ?? (await detectConfinement(binary));
  const parent = dirname(opts.repoPath);
  await mkdir(parent, { recursive: true });
  const root = await mkdtemp(join(parent, '.restic-seed-'));
  const inner = join(root, 'repo');
  let existed = false;
  try {
    await prepareRoot(root, binary);
    // what the chroot itself uses (bin, lib…, tmp, repo) cannot hold snapshot data
    const reserved = new Set([...(await readdir(root)), 'repo', 'proc', 'dev']);
    for (const snap of opts.snapshots) checkSnapshotPaths(snap, reserved);
    try {
      await rename(opts.repoPath, inner);
      existed = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const exec = async (args: string[]) => {
      const [cmd, argv] = await chrootArgv(confinement, root, ['-r', '/repo', '--no-cache', ...args]);
      try {
        return (await run(cmd, argv, { env: chrootEnv(opts.password), maxBuffer: 64 << 20 })).stdout;
      } catch (e) {
        throw new ResticError('ResticFailed', `restic ${args[0]} in seed chroot failed: ${shortError(e)}`, { args: args.slice(0, 1) }, { cause: e });
      }
    };
    if (!existed) {
      if (opts.fastKdf) {
        // `restic init` spends ~3 s calibrating scrypt; copy one initialised repository instead
        await cp(await fastTemplate(binary, confinement), inner, { recursive: true });
        await useFastKdf(inner, TEMPLATE_PASSWORD, opts.password);
      } else {
        await exec(['init']);
      }
    }
    const snapshotIds: string[] = [];
    for (const snap of opts.snapshots) {
      const dataDirs = [...Object.keys(snap.files), ...(snap.paths ?? [])].map((p) => p.split('/')[1]!).filter(Boolean);
      for (const top of new Set(dataDirs)) await rm(join(root, top), { recursive: true, force: true });
      await layOut(root, snap.files);
      await snap.populate?.(root);
      const paths = snap.paths ?? [commonDirectory(Object.keys(snap.files))];
      const args = ['backup', '--json', '--host', snap.host];
      for (const t of snap.tags ?? []) args.push('--tag', t);
      if (snap.time) args.push('--time', resticTime(snap.time));
      args.push('--', ...paths);
      const out = await exec(args);
      const summary = out
        .split('\n')
        .filter((l) => l.includes('"summary"'))
        .map((l) => JSON.parse(l) as { snapshot_id?: string })
        .pop();
      if (!summary?.snapshot_id) throw new ResticError('ResticFailed', 'restic backup printed no snapshot id', {});
      snapshotIds.push(summary.snapshot_id); // restic 0.14 prints the short id here
      for (const top of new Set(dataDirs)) await rm(join(root, top), { recursive: true, force: true });
    }
    const all = JSON.parse(await exec(['--no-lock', 'snapshots', '--json'])) as { id: string; short_id: string }[];
    const full = snapshotIds.map((short) => all.find((s) => s.id.startsWith(short))?.id ?? short);
    await rename(inner, opts.repoPath);
    return { repoPath: opts.repoPath, snapshotIds: full, confinement };
  } catch (e) {
    // put an existing repository back where it was
    await rename(inner, opts.repoPath).catch(() => undefined);
    throw e;
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
