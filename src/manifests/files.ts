// Finding and reading manifest files from paths on disk.
import { readFileSync } from 'node:fs';
import { readdir, readlink, realpath, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Diagnostic } from './diagnostic.ts';
import { errorMessage } from '../common/errors.ts';

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

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A manifest file's text from its bytes, as kubectl reads files: UTF-8 (a byte order mark
 * dropped), or UTF-16 when it starts with a UTF-16 byte order mark. Bytes that are not valid
 * UTF-8 are an error naming the line and byte offset, never replaced silently (the replacement
 * character would then be applied as part of a value).
 */
export function decodeManifest(path: string, bytes: Uint8Array): SourceFile | Diagnostic {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { path, text: new TextDecoder('utf-16le').decode(bytes.subarray(2)) };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { path, text: new TextDecoder('utf-16be').decode(bytes.subarray(2)) };
  try {
    return { path, text: utf8.decode(bytes) }; // TextDecoder drops a leading UTF-8 BOM
  } catch {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at; i++) {
      if (bytes[i] !== 0x0a) continue;
      line++;
      lineStart = i + 1;
    }
    const column = Buffer.from(bytes.subarray(lineStart, at)).toString('utf8').length + 1;
    const hex = bytes[at]!.toString(16).padStart(2, '0');
    return {
      file: path,
      line,
      column,
      path: '',
      severity: 'error',
      message: `not valid UTF-8 at byte ${at} (0x${hex}): save the file as UTF-8 (kubectl reads UTF-8 or UTF-16 with a byte order mark)`,
    };
  }
}

/** The offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    // The continuation bytes a lead byte announces, and the smallest code point it may encode.
    const [n, min] = c >= 0xc2 && c <= 0xdf ? [1, 0x80] : c >= 0xe0 && c <= 0xef ? [2, 0x800] : c >= 0xf0 && c <= 0xf4 ? [3, 0x10000] : [0, 0];
    if (n === 0) return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}
