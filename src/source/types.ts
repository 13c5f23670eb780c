// What every Source hands to the loader (DESIGN §1): the manifest files of one revision, and which
// of them changed since the revision handed out before, so only those are parsed again.
import type { TextProblem } from '../common/text.ts';

export interface ChangedPaths {
  added: string[];
  modified: string[];
  deleted: string[];
}

export interface SourceRevision {
  /** The commit the files come from; null for a local folder that is not a git work tree. */
  commit: string | null;
  /** The branch followed, or null (a pinned tag or commit, or a folder not in git). */
  branch: string | null;
  /** The pinned tag or commit (`--ref`), when one is set. */
  ref: string | null;
  /** Where it came from, without credentials (a remote URL, or the folder's absolute path). */
  url: string;
  /** Manifest files selected by the path and globs, repository-relative path → UTF-8 text. */
  files: Map<string, string>;
  /**
   * Selected files that could not be read as manifests (bytes that are not UTF-8, a symbolic link
   * that leads nowhere), path → why: each is an error diagnostic of its file (revisionProblems).
   */
  problems?: Map<string, TextProblem>;
  /** What changed since `previousCommit` (the revision this source handed out before). */
  changed: ChangedPaths;
  /** The commit of the revision handed out before; null on the first. */
  previousCommit: string | null;
  /** True when this revision is the first one, so every file counts as added. */
  initial: boolean;
}

/** Where a Source tells the daemon what it notices (force pushes, refused revisions). */
export interface SourceLog {
  info(message: string): void;
  warn(message: string): void;
}

export const silentLog: SourceLog = { info: () => {}, warn: () => {} };

export interface Source {
  /** Brings the revision up to date and returns it (the same object when nothing moved). */
  sync(): Promise<SourceRevision>;
  /** The last revision handed out, if any. */
  readonly current: SourceRevision | undefined;
}

/** Default manifest globs, relative to the source path. */
export const DEFAULT_GLOBS = ['**/*.y?(a)ml'];

export function noChanges(): ChangedPaths {
  return { added: [], modified: [], deleted: [] };
}

export function hasChanges(c: ChangedPaths): boolean {
  return c.added.length + c.modified.length + c.deleted.length > 0;
}

/** The revision's files in the loader's shape (`{path, text}`), sorted by path. */
export function revisionFiles(rev: Pick<SourceRevision, 'files'>): { path: string; text: string }[] {
  return [...rev.files.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([path, text]) => ({ path, text }));
}

/** The revision's unreadable files as error diagnostics (the loader's `Diagnostic` shape), sorted by path. */
export function revisionProblems(rev: Pick<SourceRevision, 'problems'>): {
  file: string;
  line: number;
  column: number;
  path: string;
  severity: 'error';
  message: string;
}[] {
  return [...(rev.problems ?? new Map<string, TextProblem>()).entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([file, p]) => ({ file, line: p.line, column: p.column, path: '', severity: 'error' as const, message: p.message }));
}

/** Computes what changed between two file maps (used when no tree diff is possible). */
export function diffFileMaps(before: Map<string, string> | undefined, after: Map<string, string>): ChangedPaths {
  const out = noChanges();
  for (const [p, text] of after) {
    const old = before?.get(p);
    if (old === undefined) out.added.push(p);
    else if (old !== text) out.modified.push(p);
  }
  if (before) for (const p of before.keys()) if (!after.has(p)) out.deleted.push(p);
  for (const list of [out.added, out.modified, out.deleted]) list.sort();
  return out;
}
