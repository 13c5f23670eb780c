// The local Source (`--source-dir DIR`): the same SourceRevision from a folder, for development
// and the demo. `watch()` re-emits a revision when files change (chokidar, debounced). When the
// folder is inside a git work tree, its HEAD commit and branch are reported.
import * as fs from 'node:fs';
import { readdir, readFile, readlink, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import git from 'isomorphic-git';
import { watch as chokidarWatch } from 'chokidar';
import { decodeManifestText } from '../common/text.ts';
import type { TextProblem } from '../common/text.ts';
import { SourceError } from './errors.ts';
import { PathSelector } from './select.ts';
import { diffFileMaps, hasChanges, noChanges } from './types.ts';
import type { Source, SourceRevision } from './types.ts';

export interface LocalSourceOptions {
  dir: string;
  /** minimatch globs relative to `dir`; default `**\/*.y?(a)ml`. */
  globs?: string[];
}

export class LocalSource implements Source {
  readonly dir: string;
  private readonly selector: PathSelector;
  private rev: SourceRevision | undefined;

  constructor(opts: LocalSourceOptions) {
    this.dir = resolve(opts.dir);
    this.selector = new PathSelector('', opts.globs);
  }

  get current(): SourceRevision | undefined {
    return this.rev;
  }

  async sync(): Promise<SourceRevision> {
    const st = await stat(this.dir).catch(() => undefined);
    if (!st?.isDirectory())
      throw new SourceError('SourceDirNotFound', `--source-dir ${this.dir}: not a folder; point it at the folder holding the manifests (or mount it there)`, {
        path: this.dir,
      });
    const { files, problems } = await this.readAll();
    const { commit, branch } = await this.gitHead();
    const prev = this.rev;
    const changed = diffFileMaps(prev?.files, files);
    const sameProblems = JSON.stringify([...problems]) === JSON.stringify([...(prev?.problems ?? [])]);
    for (const p of problems.keys()) if (!prev?.problems?.has(p) && !changed.added.includes(p)) changed.added.push(p);
    for (const p of prev?.problems?.keys() ?? []) if (!problems.has(p) && !files.has(p)) changed.deleted.push(p);
    if (prev && !hasChanges(changed) && sameProblems && prev.commit === commit) {
      if (!hasChanges(prev.changed) && !prev.initial) return prev;
      return (this.rev = { ...prev, changed: noChanges(), previousCommit: prev.commit, initial: false });
    }
    this.rev = { commit, branch, ref: null, url: this.dir, files, problems, changed, previousCommit: prev?.commit ?? null, initial: !prev };
    return this.rev;
  }

  /**
   * Calls `onRevision` with the first revision, then again after files change and stay quiet for
   * `debounceMs`. Returns a function that stops watching.
   */
  async watch(onRevision: (rev: SourceRevision) => void, opts: { debounceMs?: number; onError?: (e: Error) => void } = {}): Promise<() => Promise<void>> {
    const debounceMs = opts.debounceMs ?? 300;
    const onError = opts.onError ?? (() => {});
    let timer: NodeJS.Timeout | undefined;
    let running = Promise.resolve();
    const emit = () => {
      running = running.then(async () => {
        try {
          const before = this.rev;
          const rev = await this.sync();
          if (rev !== before) onRevision(rev);
        } catch (e) {
          onError(e as Error);
        }
      });
    };
    const watcher = chokidarWatch(this.dir, {
      ignoreInitial: true,
      // Hidden folders (.git included) and node_modules are not sources; a commit that changes no
      // file here is picked up with the next change.
      ignored: (p: string) =>
        relative(this.dir, p)
          .split(sep)
          .some((part) => part === 'node_modules' || (part.startsWith('.') && part !== '..' && part !== '.')),
      awaitWriteFinish: { stabilityThreshold: 50, pollInterval: 20 },
    });
    watcher.on('all', () => {
      clearTimeout(timer);
      timer = setTimeout(emit, debounceMs);
    });
    watcher.on('error', (e) => onError(e as Error));
    await new Promise<void>((r) => watcher.once('ready', () => r()));
    emit();
    await running;
    return async () => {
      clearTimeout(timer);
      await watcher.close();
      await running;
    };
  }

  /**
   * The selected files, read as `restorectl validate` reads a folder (src/common/text.ts): not
   * UTF-8 is a problem, never replaced; symbolic links followed (each real folder walked once),
   * one that leads nowhere is a problem naming its target.
   */
  private async readAll(): Promise<{ files: Map<string, string>; problems: Map<string, TextProblem> }> {
    const out: [string, string][] = [];
    const problems = new Map<string, TextProblem>();
    const walked = new Set<string>();
    const walk = async (d: string): Promise<void> => {
      const real = await realpath(d).catch(() => d);
      if (walked.has(real)) return;
      walked.add(real);
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.name.startsWith('.') || e.name === 'node_modules') continue;
        const p = join(d, e.name);
        const rel = relative(this.dir, p).split(sep).join('/');
        let isDir = e.isDirectory();
        let isFile = e.isFile();
        if (e.isSymbolicLink()) {
          const target = await stat(p).catch(() => undefined);
          isDir = !!target?.isDirectory();
          isFile = !!target?.isFile();
          if (!target && this.selector.selects(rel)) {
            const link = await readlink(p).catch(() => '?');
            problems.set(rel, { line: 0, column: 0, message: `cannot read: a symbolic link to ${link}, which does not exist` });
          }
        }
        if (isDir) await walk(p);
        else if (isFile && this.selector.selects(rel)) {
          const decoded = decodeManifestText(await readFile(p));
          if ('text' in decoded) out.push([rel, decoded.text]);
          else problems.set(rel, decoded);
        }
      }
    };
    await walk(this.dir);
    return { files: new Map(out.sort(([a], [b]) => (a < b ? -1 : 1))), problems };
  }

  private async gitHead(): Promise<{ commit: string | null; branch: string | null }> {
    try {
      const root = await git.findRoot({ fs, filepath: this.dir });
      const commit = await git.resolveRef({ fs, dir: root, ref: 'HEAD' });
      const branch = (await git.currentBranch({ fs, dir: root, test: true })) ?? null;
      return { commit, branch };
    } catch {
      return { commit: null, branch: null };
    }
  }
}
