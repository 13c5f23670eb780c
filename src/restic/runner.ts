// Runs restic: resolves `latest`, measures what a restore will write, restores with progress,
// stops on abort, and turns failures into short redacted messages.
//
// restic 0.14 facts this relies on (checked against the installed 0.14.0):
// - `snapshots --json --host H --path P latest` prints `[]` and exits 0 when nothing matches
//   (stderr: `Ignoring "latest", no snapshot matched given filter`).
// - `stats --json --mode restore-size <id>` prints {total_size, total_file_count (dirs too),
//   snapshots_count}; an unknown id exits 0 with snapshots_count 0.
// - `restore` has no progress output; it fallocate()s each file to its full size before writing,
//   so file sizes on disk say nothing about progress. Progress here is the restic process's
//   `wchar` from /proc/<pid>/io (bytes passed to write(2); the cache adds a little), clamped to
//   the total; without /proc there is no intermediate progress.
// - restic handles SIGINT (removes its lock, exits 130) but not SIGTERM (dies, leaving a stale
//   lock), so an abort sends SIGINT, then SIGKILL after a grace period.
// - exit 1 is any fatal error (wrong password: "Fatal: wrong password or no key found"; latest not
//   found: "latest snapshot for criteria not found"); restore exits 1 on "There were N errors"
//   after writing what it could.
// - `restore` names the snapshot it restores on stdout once it has resolved it and loaded the
//   index, before it writes: `restoring <Snapshot 1a2b3c4d of [/data] at 2024-… by u@h> to /t`
//   (the short id only; `--quiet` drops the line).
import { spawn } from 'node:child_process';
import { setPriority } from 'node:os';
import { readFile } from 'node:fs/promises';
import type { CommandContext, RestoreStep } from './commands.ts';
import { latestSnapshotArgv, lsArgv, resticArgv, snapshotsArgv, statsArgv, withSnapshot } from './commands.ts';
import { ResticError } from './errors.ts';
import { makeSelector } from './pattern.ts';
import type { RestoreFilter } from './pattern.ts';
import { nullLogger } from '../common/log.ts';
import type { Logger } from '../common/log.ts';
import { Redactor } from '../common/redact.ts';

export interface RunnerOptions {
  /** Everything a command line needs: binary, scratch/cache, Repository flags, nice/ionice. */
  ctx: CommandContext;
  /** Environment from the backend (RESTIC_REPOSITORY, RESTIC_PASSWORD, cloud keys). */
  env: Readonly<Record<string, string>>;
  /** Values to redact from every message (ResticBackend.secrets). */
  secrets: readonly string[];
  /** Inherited environment; default process.env. RESTIC_* variables in it are dropped. */
  baseEnv?: NodeJS.ProcessEnv;
  /** Wait this long after SIGINT before SIGKILL (default 10 s). */
  killGraceMs?: number;
  /** Each restic command line and how it ended, at debug level (argv holds no secret: they travel in env). */
  log?: Logger;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Called with each complete stdout line (then stdout is not kept). */
  onStdoutLine?: (line: string) => void;
  onSpawn?: (pid: number) => void;
}

export interface RunResult {
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  /** Redacted stderr (at most the last 64 KiB). */
  stderr: string;
  /** True when the run was stopped through the AbortSignal. */
  aborted: boolean;
}

export interface SnapshotInfo {
  id: string;
  shortId: string;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
}

export interface RestoreProgress {
  bytesDone?: number;
  bytesTotal?: number;
  filesDone?: number;
  filesTotal?: number;
}

export type RestoreOutcome = 'Succeeded' | 'Failed' | 'Interrupted';

export interface RestoreResult {
  outcome: RestoreOutcome;
  /** The snapshot id restored (`latest` resolved), when known. */
  snapshot?: string;
  /** The short id `restic restore` said it restored (restoringSnapshot), when it said so. */
  named?: string;
  progress: RestoreProgress;
  /** Short, redacted: restic's stderr tail or what went wrong before it ran. */
  error?: string;
  exitCode?: number | null;
  durationMs: number;
}

/** A restore step pinned to a concrete snapshot, with its totals measured. */
export interface PreparedRestore {
  step: RestoreStep;
  snapshot: string;
  bytesTotal?: number;
  filesTotal?: number;
}

export interface RestoreOptions {
  signal?: AbortSignal;
  onProgress?: (p: RestoreProgress) => void;
  /** How often onProgress is called while restic runs (default 2000 ms). */
  progressIntervalMs?: number;
  /** Called once with the short id `restic restore` names as it starts writing (restoringSnapshot). */
  onRestoring?: (shortId: string) => void;
  /**
   * How the total is measured: 'filtered' (default) lists the snapshot (`restic ls --json`) and
   * counts what include/exclude select; 'stats' uses `restic stats --mode restore-size` (the
   * whole snapshot, cheaper); 'none' skips it.
   */
  total?: 'filtered' | 'stats' | 'none';
}

const STDERR_KEEP = 64 * 1024;
/** The niceness of a total measured beside a restore (the lowest priority). */
const BACKGROUND_NICE = 19;

/** A line of `restic ls --json`: the snapshot first, then one node per line. */
interface LsLine {
  struct_type?: string;
  path?: string;
  type?: string;
  size?: number;
  id?: string;
  short_id?: string;
  time?: string;
  hostname?: string;
  paths?: string[];
  tags?: string[] | null;
}

function snapshotInfo(s: Pick<LsLine, 'id' | 'short_id' | 'time' | 'hostname' | 'paths' | 'tags'>): SnapshotInfo {
  const id = s.id ?? '';
  return { id, shortId: s.short_id ?? id.slice(0, 8), time: s.time ?? '', hostname: s.hostname ?? '', paths: s.paths ?? [], tags: s.tags ?? [] };
}

/** Puts a process at the lowest CPU priority (best effort: it may be gone already). */
function lowerPriority(pid: number): void {
  try {
    setPriority(pid, BACKGROUND_NICE);
  } catch {
    // gone, or not allowed: it runs at normal priority
  }
}

/** SnapshotNotFound for a step: `latest` of its host (and path), or its id. */
export function notFound(sel: { snapshot: string; host?: string; path?: string }): ResticError {
  if (sel.snapshot !== 'latest') return new ResticError('SnapshotNotFound', `snapshot ${sel.snapshot} not found`, { snapshot: sel.snapshot });
  const what = [sel.host !== undefined ? `host ${sel.host}` : '', sel.path !== undefined ? `path ${sel.path}` : ''].filter(Boolean).join(' and ');
  return new ResticError('SnapshotNotFound', `no snapshot${what ? ` for ${what}` : ''} in the repository`, { host: sel.host, path: sel.path });
}

/** The last `maxLines` non-empty lines of `text` (at most `maxChars`): what a restic failure's message quotes of its stderr. */
export function tail(text: string, maxLines = 10, maxChars = 2000): string {
  const lines = text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '');
  let out = lines.slice(-maxLines).join('\n');
  if (out.length > maxChars) out = '…' + out.slice(-maxChars);
  return out;
}

/**
 * The short id of the snapshot a `restic restore` stdout line says it restores (0.14:
 * `restoring <Snapshot 1a2b3c4d of [...] at ... by ...> to ...`; a `restoring snapshot 1a2b3c4d
 * of ...` wording is read too), or undefined.
 */
export function restoringSnapshot(line: string): string | undefined {
  return /^restoring (?:<Snapshot |snapshot )([0-9a-f]{8,64}) of /.exec(line)?.[1];
}

/** Bytes the process has passed to write(2) so far (Linux /proc/<pid>/io `wchar`), or undefined. */
export async function processWrittenBytes(pid: number): Promise<number | undefined> {
  try {
    const io = await readFile(`/proc/${pid}/io`, 'utf8');
    const m = /^wchar:\s*(\d+)/m.exec(io);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples a running restic's written bytes every progressIntervalMs into `progress` (bounded by
 * its total, never going back) and reports each sample; a sample that returns after stop() is dropped.
 */
function writeSampler(
  progress: RestoreProgress,
  opts: Pick<RestoreOptions, 'onProgress' | 'progressIntervalMs'>,
): { start: (pid: number) => void; stop: () => void } {
  let pid: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let finished = false;
  const sample = async () => {
    if (pid === undefined || finished) return;
    const w = await processWrittenBytes(pid);
    if (w === undefined || finished) return;
    const next = progress.bytesTotal !== undefined ? Math.min(w, progress.bytesTotal) : w;
    if (next > (progress.bytesDone ?? 0)) progress.bytesDone = next;
    opts.onProgress?.({ ...progress });
  };
  return {
    start: (p) => {
      pid = p;
      timer = setInterval(() => void sample(), opts.progressIntervalMs ?? 2000);
      timer.unref();
    },
    stop: () => {
      finished = true;
      if (timer) clearInterval(timer);
    },
  };
}

export class ResticRunner {
  readonly ctx: CommandContext;
  readonly #env: NodeJS.ProcessEnv;
  /** Masks the backend's secret values (and every credential shape) in all the runner shows. */
  readonly redactor: Redactor;
  readonly #killGraceMs: number;
  readonly #log: Logger;

  constructor(opts: RunnerOptions) {
    this.ctx = opts.ctx;
    const base: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(opts.baseEnv ?? process.env)) if (!k.startsWith('RESTIC_')) base[k] = v;
    this.#env = { ...base, ...opts.env };
    this.redactor = new Redactor([
      ...opts.secrets,
      ...Object.entries(opts.env)
        .filter(([k]) => /PASSWORD|KEY|SECRET|TOKEN|SAS/.test(k))
        .map(([, v]) => v),
    ]);
    this.#killGraceMs = opts.killGraceMs ?? 10_000;
    this.#log = opts.log ?? nullLogger;
  }

  /** Mask every secret value in `text`. */
  redact(text: string): string {
    return this.redactor.text(text);
  }

  /** Run one command line (argv[0] is restic, or ionice/nice wrapping it). Never throws for a non-zero exit. */
  run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) {
        resolve({ code: null, signal: null, stdout: '', stderr: '', aborted: true });
        return;
      }
      const child = spawn(argv[0]!, argv.slice(1), { env: this.#env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let partial = '';
      let stderr = '';
      let aborted = false;
      let killTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        aborted = true;
        child.kill('SIGINT');
        killTimer = setTimeout(() => child.kill('SIGKILL'), this.#killGraceMs);
        killTimer.unref();
      };
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.setEncoding('utf8');
      child.stderr.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        if (!opts.onStdoutLine) {
          stdout += chunk;
          return;
        }
        partial += chunk;
        const lines = partial.split('\n');
        partial = lines.pop()!;
        for (const line of lines) opts.onStdoutLine(line);
      });
      child.stderr.on('data', (chunk: string) => {
        stderr += chunk;
        if (stderr.length > 2 * STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
      });
      const started = Date.now();
      const command = this.redact(argv.join(' '));
      child.once('spawn', () => {
        this.#log.debug(`started ${command}`, { pid: child.pid });
        opts.onSpawn?.(child.pid!);
      });
      child.once('error', (e: NodeJS.ErrnoException) => {
        opts.signal?.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        reject(new ResticError('ResticNotStarted', `cannot start ${argv[0]}: ${e.code ?? e.message}`, { command: argv[0] }, { cause: e }));
      });
      child.once('close', (code, signal) => {
        this.#log.debug(`${argv[0]} ended: ${code !== null ? `exit ${code}` : `signal ${signal}`}${aborted ? ' (aborted)' : ''}`, {
          pid: child.pid,
          exitCode: code,
          signal,
          ms: Date.now() - started,
        });
        opts.signal?.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        if (opts.onStdoutLine && partial) opts.onStdoutLine(partial);
        resolve({ code, signal, stdout, stderr: this.redact(stderr.slice(-STDERR_KEEP)), aborted });
      });
    });
  }

  #failure(what: string, r: RunResult): ResticError {
    if (r.aborted) return new ResticError('Interrupted', `${what}: interrupted`, {});
    const how = r.code !== null ? `exit ${r.code}` : `signal ${r.signal}`;
    const msg = tail(r.stderr) || '(no output)';
    return new ResticError('ResticFailed', `${what} failed (${how}): ${msg}`, { exitCode: r.code, signal: r.signal });
  }

  /**
   * The snapshot `latest` means for host/path (restic's own choice: newest by time). `background`
   * runs it at the lowest CPU priority (a check beside a restore).
   */
  async resolveLatest(sel: { host?: string; path?: string }, signal?: AbortSignal, opts: { background?: boolean } = {}): Promise<SnapshotInfo> {
    const r = await this.run(latestSnapshotArgv(this.ctx, sel), { signal, ...(opts.background ? { onSpawn: lowerPriority } : {}) });
    if (r.code !== 0 || r.aborted) throw this.#failure('restic snapshots', r);
    const list = JSON.parse(r.stdout || '[]') as { id: string; short_id: string; time: string; hostname: string; paths?: string[]; tags?: string[] }[];
    const s = list[0];
    if (!s) throw notFound({ snapshot: 'latest', ...sel });
    return snapshotInfo(s);
  }

  /** Every snapshot of the repository, all hosts (snapshotsArgv). `background` runs it at the lowest CPU priority. */
  async snapshots(signal?: AbortSignal, opts: { background?: boolean } = {}): Promise<SnapshotInfo[]> {
    const r = await this.run(snapshotsArgv(this.ctx), { signal, ...(opts.background ? { onSpawn: lowerPriority } : {}) });
    if (r.code !== 0 || r.aborted) throw this.#failure('restic snapshots', r);
    const list = JSON.parse(r.stdout || '[]') as Parameters<typeof snapshotInfo>[0][] | null;
    return (list ?? []).map(snapshotInfo);
  }

  /** `restic stats --mode restore-size`: bytes and nodes (files and directories) of the whole snapshot. */
  async snapshotSize(id: string, signal?: AbortSignal): Promise<{ bytes: number; files: number }> {
    const r = await this.run(statsArgv(this.ctx, id), { signal });
    if (r.code !== 0 || r.aborted) throw this.#failure('restic stats', r);
    const s = JSON.parse(r.stdout) as { total_size: number; total_file_count: number; snapshots_count?: number };
    if (s.snapshots_count === 0) throw new ResticError('SnapshotNotFound', `snapshot ${id} not found`, { snapshot: id });
    return { bytes: s.total_size, files: s.total_file_count };
  }

  /**
   * What a restore of `id` under include/exclude writes: bytes and number of regular files, from
   * `restic ls --json` and restic's own selection rules (pattern.ts).
   */
  async plannedSize(id: string, filter: RestoreFilter, signal?: AbortSignal): Promise<{ bytes: number; files: number }> {
    const { bytes, files } = await this.listSnapshot({ snapshot: id, include: [...(filter.include ?? [])], exclude: [...(filter.exclude ?? [])] }, { signal });
    return { bytes, files };
  }

  /**
   * One `restic ls --json` stream of a step's snapshot (`latest` selected by the step's host and
   * path, as `restic restore latest` would): its first line is the snapshot, reported through
   * `onSnapshot` as soon as restic prints it (the pin, before the listing goes on); the rest is
   * counted as the restore's total under include/exclude. `background` lowers the listing's CPU
   * priority once the snapshot is known (or at once for a concrete id, or with 'always': a
   * `latest` listed beside a restore that resolves it itself), so a total measured beside a
   * restore takes only what the restore leaves. Throws SnapshotNotFound when nothing matches.
   */
  async listSnapshot(
    step: Pick<RestoreStep, 'snapshot' | 'host' | 'path' | 'include' | 'exclude'>,
    opts: { signal?: AbortSignal; onSnapshot?: (s: SnapshotInfo) => void; background?: boolean | 'always' } = {},
  ): Promise<{ snapshot: SnapshotInfo; bytes: number; files: number }> {
    const selector = makeSelector({ include: step.include, exclude: step.exclude });
    if (selector.error) throw selector.error;
    const descend = new Map<string, boolean>([['/', true]]);
    let bytes = 0;
    let files = 0;
    let snapshot: SnapshotInfo | undefined;
    let pid: number | undefined;
    const lower = () => {
      if (opts.background && pid !== undefined) lowerPriority(pid);
    };
    const r = await this.run(lsArgv(this.ctx, step.snapshot, { host: step.host, path: step.path }), {
      signal: opts.signal,
      onSpawn: (p) => {
        pid = p;
        if (step.snapshot !== 'latest' || opts.background === 'always') lower();
      },
      onStdoutLine: (line) => {
        if (!line.startsWith('{')) return;
        const n = JSON.parse(line) as LsLine;
        if (n.struct_type === 'snapshot') {
          if (snapshot) return; // restic lists one snapshot per argument: there is one
          snapshot = snapshotInfo(n);
          if (step.snapshot === 'latest') lower();
          opts.onSnapshot?.(snapshot);
          return;
        }
        if (n.struct_type !== 'node' || !n.path) return;
        const parent = n.path.slice(0, n.path.lastIndexOf('/')) || '/';
        // `ls` lists parents before children, so the parent's decision is known
        const isDir = n.type === 'dir';
        const sel = descend.get(parent) ? selector.select(n.path, isDir) : { selected: false, descend: false };
        if (isDir) descend.set(n.path, sel.descend);
        else if (sel.selected && n.type === 'file') {
          bytes += n.size ?? 0;
          files++;
        }
      },
    });
    if (r.code !== 0 || r.aborted) throw this.#failure('restic ls', r);
    if (!snapshot) throw notFound(step);
    return { snapshot, bytes, files };
  }

  /** The step with `latest` resolved to a concrete snapshot id (its command line pinned to it). */
  async pin(step: RestoreStep, signal?: AbortSignal): Promise<RestoreStep> {
    if (step.snapshot !== 'latest') return step;
    const s = await this.resolveLatest({ host: step.host, path: step.path }, signal);
    return withSnapshot(step, s.id);
  }

  /** What restoring a (pinned) step writes, measured as `mode` says. */
  async total(step: RestoreStep, mode: 'filtered' | 'stats' = 'filtered', signal?: AbortSignal): Promise<{ bytes: number; files: number }> {
    return mode === 'stats'
      ? this.snapshotSize(step.snapshot, signal)
      : this.plannedSize(step.snapshot, { include: step.include, exclude: step.exclude }, signal);
  }

  /**
   * Resolve `latest` to a concrete snapshot id (the step's command line is pinned to it) and
   * measure what the restore will write. Throws ResticError (SnapshotNotFound, ResticFailed,
   * Interrupted, …) with redacted messages.
   */
  async prepare(step: RestoreStep, opts: Pick<RestoreOptions, 'signal' | 'total'> = {}): Promise<PreparedRestore> {
    const pinned = await this.pin(step, opts.signal);
    const mode = opts.total ?? 'filtered';
    if (mode === 'none') return { step: pinned, snapshot: pinned.snapshot };
    const t = await this.total(pinned, mode, opts.signal);
    return { step: pinned, snapshot: pinned.snapshot, bytesTotal: t.bytes, filesTotal: t.files };
  }

  /**
   * Run one restore step: `prepare` it (unless already prepared), then `restic restore <id> …`
   * with progress. Never throws for restic failures: the result says Failed (with a redacted
   * message) or Interrupted.
   */
  async restore(step: RestoreStep | PreparedRestore, opts: RestoreOptions = {}): Promise<RestoreResult> {
    const started = Date.now();
    const progress: RestoreProgress = {};
    let snapshot: string | undefined = 'argv' in step ? (step.snapshot === 'latest' ? undefined : step.snapshot) : step.snapshot;
    let named: string | undefined;
    const done = (outcome: RestoreOutcome, extra: Partial<RestoreResult> = {}): RestoreResult => ({
      outcome,
      snapshot,
      ...(named !== undefined ? { named } : {}),
      progress: { ...progress },
      durationMs: Date.now() - started,
      ...extra,
    });
    const fail = (e: unknown): RestoreResult => {
      if (e instanceof ResticError) {
        if (e.code === 'Interrupted') return done('Interrupted', { error: 'interrupted' });
        return done('Failed', { error: this.redact(e.message), exitCode: (e.data.exitCode as number | undefined) ?? undefined });
      }
      throw e;
    };
    let prepared: PreparedRestore;
    try {
      prepared = 'argv' in step ? await this.prepare(step, opts) : step;
    } catch (e) {
      return fail(e);
    }
    snapshot = prepared.snapshot;
    if (prepared.bytesTotal !== undefined) progress.bytesTotal = prepared.bytesTotal;
    if (prepared.filesTotal !== undefined) progress.filesTotal = prepared.filesTotal;
    if (opts.signal?.aborted) return done('Interrupted', { error: 'interrupted' });
    progress.bytesDone = 0;
    opts.onProgress?.({ ...progress });
    const sampler = writeSampler(progress, opts);
    let r: RunResult;
    const onStdoutLine = (line: string) => {
      if (named !== undefined) return;
      named = restoringSnapshot(line);
      if (named !== undefined) opts.onRestoring?.(named);
    };
    try {
      r = await this.run(prepared.step.argv, { signal: opts.signal, onSpawn: sampler.start, onStdoutLine });
    } catch (e) {
      return fail(e);
    } finally {
      sampler.stop();
    }
    if (r.aborted) {
      await this.removeStaleLocks();
      return done('Interrupted', { error: 'interrupted', exitCode: r.code });
    }
    if (r.code !== 0) return fail(this.#failure('restic restore', r));
    if (progress.bytesTotal !== undefined) progress.bytesDone = progress.bytesTotal;
    if (progress.filesTotal !== undefined) progress.filesDone = progress.filesTotal;
    opts.onProgress?.({ ...progress });
    return done('Succeeded', { exitCode: 0 });
  }

  /**
   * `restic unlock`: removes the locks restic itself calls stale (this host's, whose process is
   * gone; or older than 30 min), never a live one. restic 0.14 writes its lock file, waits 200 ms
   * and only then registers it for removal on SIGINT, so a restore interrupted right after it
   * started leaves its lock behind (test/agent/interrupt.test.ts caught it), and that lock blocks
   * prune/forget until someone unlocks. Best effort, bounded to 10 s.
   */
  async removeStaleLocks(): Promise<void> {
    await this.run(resticArgv(this.ctx, ['unlock']), { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
  }

  /** Run steps one after another; the first failure (or interruption) stops the rest. */
  async restoreAll(steps: readonly (RestoreStep | PreparedRestore)[], opts: RestoreOptions = {}): Promise<RestoreResult[]> {
    const results: RestoreResult[] = [];
    for (const step of steps) {
      const r = await this.restore(step, opts);
      results.push(r);
      if (r.outcome !== 'Succeeded') break;
    }
    return results;
  }
}
