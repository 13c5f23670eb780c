// Reading the CLI's inputs: a source folder (and its git commit) and a cluster-state file or folder.
import * as fs from 'node:fs';
import { stat } from 'node:fs/promises';
import git from 'isomorphic-git';
import { ClusterState, loadObjects, readManifestPaths } from '../manifests/index.ts';
import type { Diagnostic, SourceFile } from '../manifests/index.ts';
import { UsageError } from './command.ts';

export async function readSourceDir(dir: string): Promise<{ files: SourceFile[]; diagnostics: Diagnostic[] }> {
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new UsageError(`--source ${dir}: not a folder. Point it at the folder holding the RestoreSession and Repository manifests.`);
  return readManifestPaths([dir]);
}

/** The HEAD commit when `dir` is inside a git work tree, else null. */
export async function headCommitOf(dir: string): Promise<string | null> {
  try {
    const root = await git.findRoot({ fs, filepath: dir });
    return await git.resolveRef({ fs, dir: root, ref: 'HEAD' });
  } catch {
    return null;
  }
}

export async function readClusterState(path: string): Promise<{ cluster: ClusterState; diagnostics: Diagnostic[] }> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new UsageError(`--cluster-state ${path}: no such file or folder. Give a YAML file or folder of Kubernetes objects (e.g. from \`kubectl get sts,deploy,ds,pvc,repositories,nodes -A -o yaml\`).`);
  const read = await readManifestPaths([path]);
  const loaded = loadObjects(read.files);
  return { cluster: new ClusterState(loaded.manifests.map((m) => m.object)), diagnostics: [...read.diagnostics, ...loaded.diagnostics] };
}
