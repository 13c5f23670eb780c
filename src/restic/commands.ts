// A matched rule → the restic command lines the SPEC lists (section "restic"). Pure.
//
// Per host, commands run one after another; the first failure stops the host:
// - `snapshots` given: per id `restic restore <id> --target <root> [--include p]… [--exclude p]…`
//   (`latest` in `snapshots` becomes `restore latest --host <sourceHost>`: resolved for the source
//   host, not the newest snapshot of any host);
// - `paths` given: per path `restic restore latest --path <p> --host <sourceHost> --target <root> …`;
// - neither: nothing runs.
// Every restic command also gets `--cache-dir <scratch>/restic-cache` (or `--no-cache`) and the
// Repository's flags (`--cacert`, `--insecure-tls`, `--option …`); `target.args` come last;
// nice/ionice wrap the whole command: `ionice -c C -n D nice -n N restic …`.
// The repository and password travel in the environment (backend.ts), never in argv.
import type { ContainerRuntimeSettings, Rule, TempDirSettings } from '../api/restoresession.ts';
import { ResticError } from './errors.ts';
import { invalidPatterns } from './pattern.ts';

export const CACHE_DIR_NAME = 'restic-cache';

export interface CommandContext {
  /** restic binary (default `restic`). */
  restic?: string;
  /** The agent's scratch folder (tempDir); the cache lives in `<scratch>/restic-cache`. */
  scratchDir: string;
  tempDir?: TempDirSettings;
  /** Global flags from the Repository (ResticBackend.globalArgs). */
  backendArgs?: readonly string[];
  nice?: ContainerRuntimeSettings['nice'];
  ionice?: ContainerRuntimeSettings['ionice'];
}

export interface RestoreInput {
  /** The host being restored (used when the rule's sourceHost is empty). */
  host: string;
  rule: Pick<Rule, 'sourceHost' | 'snapshots' | 'paths' | 'include' | 'exclude'>;
  /** Restore root: `/` in a pod, the pod's folder in the sandbox. */
  target: string;
  /** `target.args`: extra arguments appended to `restic restore`. */
  args?: readonly string[];
}

/** One `restic restore` to run. */
export interface RestoreStep {
  /** A snapshot id, or `latest` (then `host` and maybe `path` select it). */
  snapshot: string;
  /** The source host `latest` is resolved for. */
  host?: string;
  /** The snapshot path `latest` is resolved for (paths rules). */
  path?: string;
  include: string[];
  exclude: string[];
  /** The full command line, wrapper included: argv[0] is ionice, nice or restic. */
  argv: string[];
}

const SNAPSHOT_ID = /^[0-9a-f]{4,64}$/;

/** `<scratch>/restic-cache`: restic's cache directory of a command context (unless tempDir.disableCaching). */
export function cacheDir(ctx: Pick<CommandContext, 'scratchDir'>): string {
  return `${ctx.scratchDir.replace(/\/+$/, '')}/${CACHE_DIR_NAME}`;
}

/** `--cache-dir <scratch>/restic-cache` or `--no-cache`. */
export function cacheArgs(ctx: CommandContext): string[] {
  if (ctx.tempDir?.disableCaching) return ['--no-cache'];
  return ['--cache-dir', cacheDir(ctx)];
}

/** `ionice -c C [-n D] nice -n N` (either part only when set), or nothing. */
export function wrapperArgv(ctx: Pick<CommandContext, 'nice' | 'ionice'>): string[] {
  const out: string[] = [];
  const io = ctx.ionice;
  if (io && (io.class !== undefined || io.classData !== undefined)) {
    out.push('ionice', '-c', String(io.class ?? 2));
    if (io.classData !== undefined) out.push('-n', String(io.classData));
  }
  if (ctx.nice?.adjustment !== undefined) out.push('nice', '-n', String(ctx.nice.adjustment));
  return out;
}

/** A full command line for any restic subcommand with the common flags. */
export function resticArgv(ctx: CommandContext, subcommand: readonly string[], extra: readonly string[] = []): string[] {
  return [...wrapperArgv(ctx), ctx.restic ?? 'restic', ...subcommand, ...cacheArgs(ctx), ...(ctx.backendArgs ?? []), ...extra];
}

function checkPatterns(flag: string, patterns: readonly string[]): void {
  const bad = invalidPatterns(patterns);
  if (bad.length > 0) {
    throw new ResticError('BadPattern', `${flag}: invalid pattern(s) ${bad.map((b) => JSON.stringify(b)).join(', ')} (restic would refuse them)`, {
      flag,
      patterns: bad,
    });
  }
}

/**
 * The restores a matched rule runs, in order. Throws ResticError CommandInvalid for a rule with
 * both snapshots and paths, a malformed snapshot id or a relative path; BadPattern for a pattern
 * restic would reject; IncludeExcludeExclusive when both include and exclude are set (restic 0.14
 * refuses that combination, so running it could only fail).
 */
export function restoreSteps(input: RestoreInput, ctx: CommandContext): RestoreStep[] {
  const { rule } = input;
  const sourceHost = rule.sourceHost || input.host;
  const include = [...(rule.include ?? [])];
  const exclude = [...(rule.exclude ?? [])];
  const snapshots = rule.snapshots ?? [];
  const paths = rule.paths ?? [];
  if (snapshots.length > 0 && paths.length > 0) {
    throw new ResticError('CommandInvalid', 'a rule may not have both snapshots and paths', { host: input.host });
  }
  checkPatterns('--include', include);
  checkPatterns('--exclude', exclude);
  if (include.length > 0 && exclude.length > 0) {
    throw new ResticError(
      'IncludeExcludeExclusive',
      'restic restore refuses --include together with --exclude ("exclude and include patterns are mutually exclusive"); use one of them in the rule',
      { host: input.host },
    );
  }
  if (!input.target) throw new ResticError('CommandInvalid', 'no restore target', {});
  const filterArgs = [...include.flatMap((p) => ['--include', p]), ...exclude.flatMap((p) => ['--exclude', p])];
  const tailArgs = [...cacheArgs(ctx), ...(ctx.backendArgs ?? []), ...(input.args ?? [])];
  const restic = ctx.restic ?? 'restic';
  const wrap = wrapperArgv(ctx);
  const steps: RestoreStep[] = [];
  for (const id of snapshots) {
    if (id === 'latest') {
      steps.push({
        snapshot: 'latest',
        host: sourceHost,
        include,
        exclude,
        argv: [...wrap, restic, 'restore', 'latest', '--host', sourceHost, '--target', input.target, ...filterArgs, ...tailArgs],
      });
    } else if (SNAPSHOT_ID.test(id)) {
      steps.push({ snapshot: id, include, exclude, argv: [...wrap, restic, 'restore', id, '--target', input.target, ...filterArgs, ...tailArgs] });
    } else {
      throw new ResticError('CommandInvalid', `snapshot ${JSON.stringify(id)} is neither a snapshot id (hex) nor latest`, { snapshot: id });
    }
  }
  for (const path of paths) {
    if (!path.startsWith('/')) throw new ResticError('CommandInvalid', `path ${JSON.stringify(path)} is not absolute`, { path });
    steps.push({
      snapshot: 'latest',
      host: sourceHost,
      path,
      include,
      exclude,
      argv: [...wrap, restic, 'restore', 'latest', '--path', path, '--host', sourceHost, '--target', input.target, ...filterArgs, ...tailArgs],
    });
  }
  return steps;
}

/** The step's command line restoring a concrete snapshot id instead of `latest`. */
export function withSnapshot(step: RestoreStep, id: string): RestoreStep {
  if (!SNAPSHOT_ID.test(id)) throw new ResticError('CommandInvalid', `not a snapshot id: ${JSON.stringify(id)}`, { snapshot: id });
  const i = step.argv.indexOf('restore');
  const argv = [...step.argv];
  if (argv[i + 1] === step.snapshot) argv[i + 1] = id;
  return { ...step, snapshot: id, argv };
}

/** `restic snapshots --json --host H [--path P] latest`: the snapshot `latest` means for a step. */
export function latestSnapshotArgv(ctx: CommandContext, sel: { host?: string; path?: string }): string[] {
  const filter = [...(sel.host !== undefined ? ['--host', sel.host] : []), ...(sel.path !== undefined ? ['--path', sel.path] : [])];
  return resticArgv(ctx, ['snapshots', '--json', ...filter, 'latest']);
}

/**
 * `restic snapshots --json --no-lock`: every snapshot of the repository, all hosts (what
 * dumpedSnapshot matches a dump's cache against; read-only, so no lock of its own).
 */
export function snapshotsArgv(ctx: CommandContext): string[] {
  return resticArgv(ctx, ['snapshots', '--json'], ['--no-lock']);
}

/**
 * `restic dump [--host H] <id> /<file>`: for `latest`, restic resolves it itself with the host
 * filter (its own choice: the newest of the host), as Stash's addons run it.
 */
export function dumpArgv(ctx: CommandContext, id: string, file: string, sel: { host?: string } = {}): string[] {
  const filter = id === 'latest' && sel.host !== undefined ? ['--host', sel.host] : [];
  return resticArgv(ctx, ['dump', ...filter, id, file]);
}

// The totals are measured beside the restore and stopped with it; without a lock of their own
// (`--no-lock`: they only read, and a total is only an estimate) an interrupted measurement can
// never leave a stale lock that blocks the next restore.

/** `restic stats --json --mode restore-size <id> --no-lock`: bytes and files of the whole snapshot. */
export function statsArgv(ctx: CommandContext, id: string): string[] {
  return resticArgv(ctx, ['stats', '--json', '--mode', 'restore-size', id], ['--no-lock']);
}

/**
 * `restic ls --json <id> --no-lock`: every node of the snapshot (for include/exclude-aware totals).
 * For `latest`, `--host H [--path P]` select the snapshot as `restic restore latest` does, and
 * the stream's first line (the snapshot) pins it: one command resolves and measures.
 */
export function lsArgv(ctx: CommandContext, id: string, sel: { host?: string; path?: string } = {}): string[] {
  const filter = id === 'latest' ? [...(sel.host !== undefined ? ['--host', sel.host] : []), ...(sel.path !== undefined ? ['--path', sel.path] : [])] : [];
  return resticArgv(ctx, ['ls', '--json', id, ...filter], ['--no-lock']);
}
