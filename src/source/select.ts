// Which files of a tree are manifests: those under the source path that match the globs.
import { minimatch } from 'minimatch';
import type { ObjectReader } from '../git/index.ts';
import { decodeManifestText } from '../common/text.ts';
import type { TextProblem } from '../common/text.ts';
import { DEFAULT_GLOBS } from './types.ts';

export class PathSelector {
  /** Normalised source path: no leading/trailing slash, '' for the repository root. */
  readonly prefix: string;
  private readonly globs: string[];

  constructor(path = '', globs: string[] = DEFAULT_GLOBS) {
    this.prefix = path
      .replace(/^\.?\/+/, '')
      .replace(/\/+$/, '')
      .replace(/^\.$/, '');
    this.globs = globs.length ? globs : DEFAULT_GLOBS;
  }

  /** Whether a directory may hold selected files (so a walk descends into it). */
  descends(dir: string): boolean {
    if (!this.prefix || dir === '.') return true;
    return dir === this.prefix || dir.startsWith(this.prefix + '/') || this.prefix.startsWith(dir + '/');
  }

  /** Whether a file (repository-relative path) is a selected manifest. */
  selects(file: string): boolean {
    let rel = file;
    if (this.prefix) {
      if (!file.startsWith(this.prefix + '/')) return false;
      rel = file.slice(this.prefix.length + 1);
    }
    return this.globs.some((g) => minimatch(rel, g));
  }
}

/** A commit's selected manifests: their text, and the files that could not be read as manifests. */
export interface SelectedFiles {
  files: Map<string, string>;
  problems: Map<string, TextProblem>;
  /** Whether a symbolic link was followed (an incremental read cannot tell when its target changes). */
  followedLinks: boolean;
}

const LINK_MODE = '120000';
/** Links followed in a row before giving up (as the kernel's ELOOP). */
const MAX_LINK_HOPS = 40;

/**
 * The selected files of a commit's tree, path → text, sorted by path, read as a folder source
 * reads files on disk (the same decoding, src/common/text.ts): bytes that are not UTF-8 are a
 * problem with their line and offset, never replaced; symbolic links are followed within the
 * commit (to files and folders, a folder cycle walked once), and one that leads nowhere or out of
 * the repository is a problem naming its target.
 */
export function readSelectedFiles(reader: ObjectReader, commit: string, sel: PathSelector): SelectedFiles {
  const root = reader.treeOf(commit);
  const files = new Map<string, string>();
  const problems = new Map<string, TextProblem>();
  let followedLinks = false;
  const read = (path: string, oid: string) => {
    const decoded = decodeManifestText(reader.read(oid).data);
    if ('text' in decoded) files.set(path, decoded.text);
    else problems.set(path, decoded);
  };
  const walk = (tree: string, prefix: string, stack: readonly string[]) => {
    for (const e of reader.readTree(tree)) {
      const path = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.type === 'tree') {
        if (sel.descends(path)) walk(e.oid, path, [...stack, e.oid]);
        continue;
      }
      if (e.type !== 'blob') continue; // a submodule's commit
      if (e.mode !== LINK_MODE) {
        if (sel.selects(path)) read(path, e.oid);
        continue;
      }
      if (!sel.selects(path) && !sel.descends(path)) continue;
      followedLinks = true;
      const target = followLink(reader, root, path, linkText(reader, e.oid));
      if ('problem' in target) {
        if (sel.selects(path)) problems.set(path, { line: 0, column: 0, message: target.problem });
      } else if (target.type === 'tree') {
        if (sel.descends(path) && !stack.includes(target.oid)) walk(target.oid, path, [...stack, target.oid]);
      } else if (sel.selects(path)) {
        read(path, target.oid);
      }
    }
  };
  walk(root, '', [root]);
  const sorted = <T>(m: Map<string, T>) => new Map([...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
  return { files: sorted(files), problems: sorted(problems), followedLinks };
}

const linkText = (reader: ObjectReader, oid: string) => Buffer.from(reader.read(oid).data).toString('utf8');

/**
 * Where a symbolic link at `linkPath` (its text `target`) leads inside the commit's tree: the entry
 * it names, following further links, or why it leads nowhere (the message a folder source gives).
 */
function followLink(reader: ObjectReader, root: string, linkPath: string, target: string): { type: string; oid: string } | { problem: string } {
  const nowhere = { problem: `cannot read: a symbolic link to ${target}, which does not exist` };
  const outside = {
    problem: `cannot read: a symbolic link to ${target}, outside the repository (a git source reads only the commit's files: commit the file itself)`,
  };
  let pending = [...(target.startsWith('/') ? [] : linkPath.split('/').slice(0, -1)), ...target.split('/')];
  if (target.startsWith('/')) return outside;
  let hops = 0;
  let tree = root;
  let at: string[] = [];
  let entry: { type: string; oid: string; mode: string } = { type: 'tree', oid: root, mode: '040000' };
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (!at.length) return outside;
      // Back to the root and down again: trees have no parent pointers.
      pending = [...at.slice(0, -1), ...pending];
      at = [];
      tree = root;
      entry = { type: 'tree', oid: root, mode: '040000' };
      continue;
    }
    if (entry.type !== 'tree') return nowhere;
    const found = reader.readTree(tree).find((e) => e.name === part);
    if (!found) return nowhere;
    if (found.mode === LINK_MODE) {
      if (++hops > MAX_LINK_HOPS) return { problem: `cannot read: a symbolic link to ${target}: too many levels of symbolic links` };
      const next = linkText(reader, found.oid);
      if (next.startsWith('/')) return outside;
      pending = [...at, ...next.split('/'), ...pending];
      at = [];
      tree = root;
      entry = { type: 'tree', oid: root, mode: '040000' };
      continue;
    }
    at.push(part);
    entry = found;
    if (found.type === 'tree') tree = found.oid;
  }
  return { type: entry.type, oid: entry.oid };
}
