// Finding and reading manifest files from paths on disk.
import { readFileSync } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Diagnostic } from './diagnostic.ts';
import { errorMessage } from '../common/errors.ts';

export interface SourceFile {
  /** As shown in diagnostics: relative to where the user pointed, or as given. */
  path: string;
  text: string;
}

const MANIFEST = /\.ya?ml$/i;

/** Every `*.yaml`/`*.yml` under a folder (hidden folders and node_modules skipped), sorted. */
export async function listManifestFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && MANIFEST.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

/**
 * Reads the manifests named by paths (files or folders). A path that cannot be read becomes a
 * diagnostic; the others are still read.
 */
export async function readManifestPaths(paths: string[], opts: { relativeTo?: string } = {}): Promise<{ files: SourceFile[]; diagnostics: Diagnostic[] }> {
  const files: SourceFile[] = [];
  const diagnostics: Diagnostic[] = [];
  const show = (p: string) => (opts.relativeTo ? relative(opts.relativeTo, p) || p : p);
  for (const p of paths) {
    let names: string[];
    try {
      names = (await stat(p)).isDirectory() ? await listManifestFiles(p) : [p];
    } catch (e) {
      diagnostics.push({ file: show(p), line: 0, column: 0, path: '', severity: 'error', message: `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : errorMessage(e)}` });
      continue;
    }
    // Synchronous reads: for thousands of small files, fs/promises' open/stat/read/close round
    // trips through the thread pool cost 3× more than reading them one after another.
    for (const name of names) {
      try {
        files.push({ path: show(name), text: readFileSync(name, 'utf8') });
      } catch (e) {
        diagnostics.push({ file: show(name), line: 0, column: 0, path: '', severity: 'error', message: `cannot read: ${errorMessage(e)}` });
      }
    }
  }
  return { files, diagnostics };
}
