// Finding and reading manifest files from paths on disk.
import { readFileSync } from 'node:fs';
import { readdir, readlink, realpath, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Diagnostic } from './diagnostic.ts';
import { errorMessage } from '../common/errors.ts';
import { decodeManifestText } from '../common/text.ts';

export interface SourceFile {
  /** As shown in diagnostics: relative to where the user pointed, or as given. */
  path: string;
  text: string;
}

const MANIFEST = /\.ya?ml$/i;

/**
 * Every `*.yaml`/`*.yml` under a folder (hidden folders and node_modules skipped), sorted.
 * Symbolic links are followed (to files and folders, each real folder walked once); a link that
 * leads nowhere is still listed, so reading it reports it.
 */
export async function listManifestFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walked = new Set<string>();
  const walk = async (d: string): Promise<void> => {
    const real = await realpath(d).catch(() => d);
    if (walked.has(real)) return;
    walked.add(real);
    const entries = await readdir(d, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const p = join(d, e.name);
      let isDir = e.isDirectory();
      let isFile = e.isFile();
      if (e.isSymbolicLink()) {
        const target = await stat(p).catch(() => undefined);
        isDir = !!target?.isDirectory();
        isFile = !target || target.isFile();
      }
      if (isDir) await walk(p);
      else if (isFile && MANIFEST.test(e.name)) out.push(p);
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
      diagnostics.push({
        file: show(p),
        line: 0,
        column: 0,
        path: '',
        severity: 'error',
        message: `cannot read: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or folder' : errorMessage(e)}`,
      });
      continue;
    }
    // Synchronous reads: for thousands of small files, fs/promises' open/stat/read/close round
    // trips through the thread pool cost 3× more than reading them one after another.
    for (const name of names) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(name);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const link = err.code === 'ENOENT' ? await readlink(name).catch(() => undefined) : undefined;
        const message = link !== undefined ? `cannot read: a symbolic link to ${link}, which does not exist` : `cannot read: ${errorMessage(e)}`;
        diagnostics.push({ file: show(name), line: 0, column: 0, path: '', severity: 'error', message });
        continue;
      }
      const decoded = decodeManifest(show(name), bytes);
      if ('text' in decoded) files.push(decoded);
      else diagnostics.push(decoded);
    }
  }
  return { files, diagnostics };
}

/**
 * A manifest file's text from its bytes, as kubectl reads files (src/common/text.ts): UTF-8 or
 * UTF-16 with a byte order mark; bytes that are not valid UTF-8 are an error diagnostic naming
 * the line and byte offset, never replaced silently.
 */
export function decodeManifest(path: string, bytes: Uint8Array): SourceFile | Diagnostic {
  const decoded = decodeManifestText(bytes);
  if ('text' in decoded) return { path, text: decoded.text };
  return { file: path, line: decoded.line, column: decoded.column, path: '', severity: 'error', message: decoded.message };
}
