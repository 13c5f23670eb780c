// Which files of a tree are manifests: those under the source path that match the globs.
import { minimatch } from 'minimatch';
import type { ObjectReader } from '../git/index.ts';
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

const decoder = new TextDecoder('utf-8');

/** The selected files of a commit's tree (symlinks left out), path → UTF-8 text, sorted by path. */
export function readSelectedFiles(reader: ObjectReader, commit: string, sel: PathSelector): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (tree: string, prefix: string) => {
    for (const e of reader.readTree(tree)) {
      const path = prefix ? `${prefix}/${e.name}` : e.name;
      if (e.type === 'tree') {
        if (sel.descends(path)) walk(e.oid, path);
      } else if (e.type === 'blob' && e.mode !== '120000' && sel.selects(path)) {
        files.set(path, decoder.decode(reader.read(e.oid).data));
      }
    }
  };
  walk(reader.treeOf(commit), '');
  return new Map([...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1)));
}
