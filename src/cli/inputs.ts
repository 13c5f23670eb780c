// Reading the CLI's inputs: a source folder (and its git commit) and a cluster-state file or folder.
import * as fs from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import git from 'isomorphic-git';
import type { KubeObject } from '../api/meta.ts';
import { ClusterState, loadObjects, readManifestPaths } from '../manifests/index.ts';
import type { Diagnostic, SourceFile } from '../manifests/index.ts';
import { UsageError } from './command.ts';
import { errorMessage } from '../common/errors.ts';

export async function readSourceDir(dir: string, flag = '--source'): Promise<{ files: SourceFile[]; diagnostics: Diagnostic[] }> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory())
    throw new UsageError(`${flag} ${dir}: not a folder. Point it at the folder holding the RestoreSession and Repository manifests.`, { flag });
  return readManifestPaths([dir]);
}

/**
 * The manifests of `baseDir` named as the same files under `sourceDir` (`--base-dir` is the same
 * folder at another revision), so a file is compared with itself.
 */
export async function readBaseDir(baseDir: string, sourceDir: string): Promise<{ files: SourceFile[]; diagnostics: Diagnostic[] }> {
  const read = await readSourceDir(baseDir, '--base-dir');
  return { files: read.files.map((f) => ({ ...f, path: join(sourceDir, relative(baseDir, f.path)) })), diagnostics: read.diagnostics };
}

/** The first line of a password file (as restic's --password-file reads it). */
export async function readPasswordFile(path: string, flag: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag} ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? errorMessage(e)})`, { flag }, { cause: e });
  }
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line) throw new UsageError(`${flag} ${path}: the file is empty; its first line should be the restic password`, { flag });
  return line;
}

/**
 * The HEAD commit when `dir` is inside a git work tree, else null. A linked work tree (`git
 * worktree add`, whose `.git` is a file naming its git dir) is followed too.
 */
export async function headCommitOf(dir: string): Promise<string | null> {
  try {
    const root = await git.findRoot({ fs, filepath: dir });
    return await git.resolveRef({ fs, dir: root, ref: 'HEAD' });
  } catch {
    return linkedWorkTreeHead(dir);
  }
}

async function linkedWorkTreeHead(dir: string): Promise<string | null> {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const dotGit = join(d, '.git');
    const st = await stat(dotGit).catch(() => undefined);
    if (st?.isFile()) {
      try {
        const gitdir = resolve(d, /^gitdir:\s*(.+)$/m.exec(await readFile(dotGit, 'utf8'))![1]!.trim());
        const head = (await readFile(join(gitdir, 'HEAD'), 'utf8')).trim();
        if (/^[0-9a-f]{40}$/.test(head)) return head;
        const common = resolve(gitdir, (await readFile(join(gitdir, 'commondir'), 'utf8').catch(() => '.')).trim());
        return await git.resolveRef({ fs, gitdir: common, ref: head.replace(/^ref:\s*/, '') });
      } catch {
        return null;
      }
    }
    if (st || dirname(d) === d) return null;
  }
}

export async function readClusterState(path: string): Promise<{ cluster: ClusterState; objects: KubeObject[]; diagnostics: Diagnostic[] }> {
  const st = await stat(path).catch(() => undefined);
  if (!st)
    throw new UsageError(
      `--cluster-state ${path}: no such file or folder. Give a YAML file or folder of Kubernetes objects (e.g. from \`kubectl get sts,deploy,ds,pvc,repositories,nodes -A -o yaml\`).`,
      { flag: '--cluster-state' },
    );
  const read = await readManifestPaths([path]);
  const loaded = loadObjects(read.files);
  const all = loaded.manifests.map((m) => m.object);
  // `objects` is for building another ClusterState (with more objects): Secrets left out entirely.
  return { cluster: new ClusterState(all), objects: all.filter((o) => o.kind !== 'Secret'), diagnostics: [...read.diagnostics, ...loaded.diagnostics] };
}
