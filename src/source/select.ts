// Which files of a tree are manifests: those under the source path that match the globs.
import { minimatch } from 'minimatch';
import { DEFAULT_GLOBS } from './types.ts';

export class PathSelector {
  /** Normalised source path: no leading/trailing slash, '' for the repository root. */
  readonly prefix: string;
  private readonly globs: string[];

  constructor(path = '', globs: string[] = DEFAULT_GLOBS) {
    this.prefix = path.replace(/^\.?\/+/, '').replace(/\/+$/, '').replace(/^\.$/, '');
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
