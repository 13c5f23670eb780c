// restic's include/exclude semantics for `restic restore`, ported from restic 0.14
// (internal/filter/filter.go, cmd/restic/cmd_restore.go, internal/restorer/restorer.go) and Go's
// path/filepath (Match, Clean, go1.19). Pure and synchronous: used by the planner to preview what a
// rule restores, and by the agent to compute how many bytes a filtered restore will write.
//
// What restic 0.14 does, in short:
// - A pattern and a path are split on '/'; each component is matched with Go filepath.Match
//   (`*`, `?`, `[...]` with `^` as the only negation, `\` escape); `*` does match a leading dot.
// - A component that is exactly `**` matches zero or more components.
// - The pattern goes through filepath.Clean: a trailing '/' is ignored, `./a` is `a`.
// - A leading '/' anchors at the snapshot root and matches a *prefix* of the path
//   (`/source/data` matches `/source/data/x/y`). An unanchored pattern matches any run of whole
//   components anywhere (`data` matches `/source/data/a.json`; `*.json` matches a directory
//   `x.json` and so everything below it). `foo` never matches `foobar`.
// - A pattern starting with `!` cancels earlier matches in the same list.
// - `restore` walks the snapshot tree from the root. With --exclude, an excluded node is not
//   restored and an excluded directory is not entered. With --include, a node is restored when it
//   matches; a directory is entered when it matches or a child may match (ChildMatch: always for
//   an unanchored pattern, for an anchored one when the path is a prefix of the pattern).
//   Directories on the way to a restored node are created (with their metadata) even when they
//   are not selected themselves; a selected directory is created even when it ends up empty.
// - restic 0.14 refuses --include together with --exclude ("exclude and include patterns are
//   mutually exclusive", exit 1); so does every restic up to 0.17.
// - An empty pattern is ignored, but still counts as "--include given": `--include ''` restores
//   nothing.
// - An invalid pattern (`[`, `a\`) makes restore fail before it touches anything.
import { RestoreError } from '../common/errors.ts';
import { ResticError } from './errors.ts';

const SEP = 0x2f; // '/'
const BACKSLASH = 0x5c;
const STAR = 0x2a;
const QUESTION = 0x3f;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const RUNE_ERROR = 0xfffd;

const encoder = new TextEncoder();

/** Go's filepath.ErrBadPattern, thrown inside the matcher; callers rethrow it as ResticError naming the pattern. */
class BadPattern extends RestoreError<'BadPattern', Record<string, never>> {
  constructor() {
    super('BadPattern', 'syntax error in pattern', {});
  }
}

// ---------------------------------------------------------------------------------------------
// Go's path/filepath.Match (Unix, go1.16+: a syntax error anywhere in the pattern is reported),
// on UTF-8 bytes with indices instead of slices (no allocation per step).

// Side results, to avoid allocating tuples in the hot loop.
let runeSize = 0;
let escNext = 0;
let scanStar = false;
let scanChunkStart = 0;

/** Go utf8.DecodeRune of b[i:end]; sets runeSize (0 for empty, 1 for invalid → RuneError). */
function decodeRune(b: Uint8Array, i: number, end: number): number {
  const n = end - i;
  if (n <= 0) {
    runeSize = 0;
    return RUNE_ERROR;
  }
  const b0 = b[i]!;
  if (b0 < 0x80) {
    runeSize = 1;
    return b0;
  }
  const cont = (k: number, lo = 0x80, hi = 0xbf) => k < end && b[k]! >= lo && b[k]! <= hi;
  runeSize = 1;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    if (!cont(i + 1)) return RUNE_ERROR;
    runeSize = 2;
    return ((b0 & 0x1f) << 6) | (b[i + 1]! & 0x3f);
  }
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (!cont(i + 1, b0 === 0xe0 ? 0xa0 : 0x80, b0 === 0xed ? 0x9f : 0xbf) || !cont(i + 2)) return RUNE_ERROR;
    runeSize = 3;
    return ((b0 & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f);
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (!cont(i + 1, b0 === 0xf0 ? 0x90 : 0x80, b0 === 0xf4 ? 0x8f : 0xbf) || !cont(i + 2) || !cont(i + 3)) return RUNE_ERROR;
    runeSize = 4;
    return ((b0 & 0x07) << 18) | ((b[i + 1]! & 0x3f) << 12) | ((b[i + 2]! & 0x3f) << 6) | (b[i + 3]! & 0x3f);
  }
  return RUNE_ERROR;
}

/** Next chunk of p[start:end]: sets scanStar and scanChunkStart, returns the chunk's end. */
function scanChunk(p: Uint8Array, start: number, end: number): number {
  let i = start;
  let star = false;
  while (i < end && p[i] === STAR) {
    i++;
    star = true;
  }
  scanStar = star;
  scanChunkStart = i;
  let inrange = false;
  for (; i < end; i++) {
    const c = p[i];
    if (c === BACKSLASH) {
      if (i + 1 < end) i++;
    } else if (c === LBRACKET) inrange = true;
    else if (c === RBRACKET) inrange = false;
    else if (c === STAR && !inrange) break;
  }
  return i;
}

/** A possibly escaped character of a class in p[i:end]; sets escNext. Throws BadPattern. */
function getEsc(p: Uint8Array, i: number, end: number): number {
  if (i >= end || p[i] === DASH || p[i] === RBRACKET) throw new BadPattern();
  if (p[i] === BACKSLASH) {
    i++;
    if (i >= end) throw new BadPattern();
  }
  const r = decodeRune(p, i, end);
  if (r === RUNE_ERROR && runeSize === 1) throw new BadPattern();
  i += runeSize;
  if (i >= end) throw new BadPattern();
  escNext = i;
  return r;
}

/** Does chunk p[cs:ce] match the start of s[si:se]? The index after the match, or -1. */
function matchChunk(p: Uint8Array, cs: number, ce: number, s: Uint8Array, si: number, se: number): number {
  let failed = false;
  let c = cs;
  while (c < ce) {
    if (!failed && si >= se) failed = true;
    const ch = p[c];
    if (ch === LBRACKET) {
      let r = 0;
      if (!failed) {
        r = decodeRune(s, si, se);
        si += runeSize;
      }
      c++;
      let negated = false;
      if (c < ce && p[c] === CARET) {
        negated = true;
        c++;
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (c < ce && p[c] === RBRACKET && nrange > 0) {
          c++;
          break;
        }
        const lo = getEsc(p, c, ce);
        c = escNext;
        let hi = lo;
        if (p[c] === DASH) {
          hi = getEsc(p, c + 1, ce);
          c = escNext;
        }
        if (lo <= r && r <= hi) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (ch === QUESTION) {
      if (!failed) {
        if (s[si] === SEP) failed = true;
        decodeRune(s, si, se);
        si += runeSize;
      }
      c++;
    } else {
      if (ch === BACKSLASH) {
        c++;
        if (c >= ce) throw new BadPattern();
      }
      if (!failed) {
        if (p[c] !== s[si]) failed = true;
        si++;
      }
      c++;
    }
  }
  return failed ? -1 : si;
}

function goMatchBytes(p: Uint8Array, name: Uint8Array): boolean {
  const pe = p.length;
  const ne = name.length;
  let pi = 0;
  let ni = 0;
  outer: while (pi < pe) {
    const ce = scanChunk(p, pi, pe);
    const star = scanStar;
    const cs = scanChunkStart;
    pi = ce;
    if (star && cs === ce) {
      // a trailing * matches the rest unless it has a '/'
      for (let k = ni; k < ne; k++) if (name[k] === SEP) return false;
      return true;
    }
    const t = matchChunk(p, cs, ce, name, ni, ne);
    if (t >= 0 && (t === ne || pi < pe)) {
      ni = t;
      continue;
    }
    if (star) {
      // skip i+1 bytes, never a '/'
      for (let i = ni; i < ne && name[i] !== SEP; i++) {
        const t2 = matchChunk(p, cs, ce, name, i + 1, ne);
        if (t2 >= 0) {
          if (pi === pe && t2 < ne) continue; // the last chunk must use up the name
          ni = t2;
          continue outer;
        }
      }
    }
    // before returning false, check that the rest of the pattern is well-formed
    while (pi < pe) {
      const ce2 = scanChunk(p, pi, pe);
      const cs2 = scanChunkStart;
      pi = ce2;
      matchChunk(p, cs2, ce2, name, ne, ne);
    }
    return false;
  }
  return ni === ne;
}

/**
 * Go's `filepath.Match(pattern, name)` on Unix. Throws ResticError `BadPattern` for a malformed
 * pattern. Strings are compared as UTF-8 bytes, as Go does.
 */
export function goFilepathMatch(pattern: string, name: string): boolean {
  try {
    return goMatchBytes(encoder.encode(pattern), encoder.encode(name));
  } catch (e) {
    if (e instanceof BadPattern) throw new ResticError('BadPattern', `syntax error in pattern ${JSON.stringify(pattern)}`, { pattern });
    throw e;
  }
}

/** Go's `filepath.Clean` on Unix. */
export function goFilepathClean(path: string): string {
  if (path === '') return '.';
  const rooted = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

// ---------------------------------------------------------------------------------------------
// restic internal/filter

interface PatternPart {
  /** "/" for the root of an anchored pattern; "" for `**`. */
  pattern: string;
  isSimple: boolean;
  /** The pattern as UTF-8, for Go's byte-wise matching. */
  bytes: Uint8Array;
}

const STAR_PART: PatternPart = { pattern: '*', isSimple: false, bytes: encoder.encode('*') };

// Path components repeat a lot (`source`, `data`); keep their UTF-8 encoding.
const encoded = new Map<string, Uint8Array>();
function utf8(s: string): Uint8Array {
  let b = encoded.get(s);
  if (!b) {
    if (encoded.size > 50_000) encoded.clear();
    b = encoder.encode(s);
    encoded.set(s, b);
  }
  return b;
}

function matchPart(part: PatternPart, str: string): boolean {
  if (part.isSimple) return part.pattern === str;
  try {
    return goMatchBytes(part.bytes, utf8(str));
  } catch (e) {
    if (e instanceof BadPattern) throw new ResticError('BadPattern', `syntax error in pattern ${JSON.stringify(part.pattern)}`, { pattern: part.pattern });
    throw e;
  }
}

/** A parsed restic filter pattern. */
export interface Pattern {
  original: string;
  parts: PatternPart[];
  isNegated: boolean;
}

function splitPath(p: string): string[] {
  const parts = p.split('/');
  if (parts[0] === '') parts[0] = '/';
  return parts;
}

export function parsePattern(patternStr: string): Pattern {
  let negate = false;
  const original = patternStr;
  if (patternStr.startsWith('!')) {
    negate = true;
    patternStr = patternStr.slice(1);
  }
  const parts = splitPath(goFilepathClean(patternStr)).map((part) => {
    const isSimple = !/[\\[\]*?]/.test(part);
    const pattern = part === '**' ? '' : part;
    return { pattern, isSimple, bytes: encoder.encode(pattern) };
  });
  return { original, parts, isNegated: negate };
}

/** restic filter.ParsePatterns: empty patterns are dropped. */
export function parsePatterns(patterns: readonly string[]): Pattern[] {
  return patterns.filter((p) => p !== '').map(parsePattern);
}

/** restic filter.ValidatePatterns: the patterns restic rejects as invalid (each part matched against itself). */
export function invalidPatterns(patterns: readonly string[]): string[] {
  const bad: string[] = [];
  for (const p of parsePatterns(patterns)) {
    for (const part of p.parts) {
      try {
        goFilepathMatch(part.pattern, part.pattern);
      } catch {
        bad.push(p.original);
        break;
      }
    }
  }
  return bad;
}

function doubleWildcard(parts: PatternPart[]): number {
  return parts.findIndex((p) => p.pattern === '');
}

function matchParts(parts: PatternPart[], strs: string[]): boolean {
  const pos = doubleWildcard(parts);
  if (pos >= 0) {
    // expand `**` into 0, 1, 2, … `*` components
    const prefix = parts.slice(0, pos);
    const suffix = parts.slice(pos + 1);
    for (let i = 0; i <= strs.length - parts.length + 1; i++) {
      const stars: PatternPart[] = Array.from({ length: i }, () => STAR_PART);
      if (matchParts([...prefix, ...stars, ...suffix], strs)) return true;
    }
    return false;
  }
  if (parts.length === 0) return strs.length === 0;
  if (parts.length <= strs.length) {
    let minOffset = 0;
    let maxOffset = strs.length - parts.length;
    if (parts[0]!.pattern === '/') maxOffset = 0;
    else if (strs[0] === '/') minOffset = 1;
    outer: for (let offset = maxOffset; offset >= minOffset; offset--) {
      for (let i = parts.length - 1; i >= 0; i--) {
        if (!matchPart(parts[i]!, strs[offset + i]!)) continue outer;
      }
      return true;
    }
  }
  return false;
}

function childMatchParts(parts: PatternPart[], strs: string[]): boolean {
  if (parts[0]!.pattern !== '/') return true; // a relative pattern can always match further down
  const pos = doubleWildcard(parts);
  if (pos >= 0 && strs.length >= pos) strs = strs.slice(0, pos);
  const l = Math.min(strs.length, parts.length);
  return matchParts(parts.slice(0, l), strs);
}

/** restic filter.Match: does `path` (a snapshot path such as `/source/data/a.json`) match `pattern`? */
export function resticMatch(pattern: string, path: string): boolean {
  if (pattern === '') return true;
  return matchParts(parsePattern(pattern).parts, splitPath(path));
}

/** restic filter.ChildMatch: may a child of `path` match `pattern`? */
export function resticChildMatch(pattern: string, path: string): boolean {
  if (pattern === '') return true;
  return childMatchParts(parsePattern(pattern).parts, splitPath(path));
}

/** restic filter.List / ListWithChild over parsed patterns (with `!` negation). */
export function matchList(patterns: readonly Pattern[], path: string): { matched: boolean; childMayMatch: boolean } {
  if (patterns.length === 0) return { matched: false, childMayMatch: false };
  const strs = splitPath(path);
  const hasNegated = patterns.some((p) => p.isNegated);
  let matched = false;
  let childMayMatch = false;
  for (const pat of patterns) {
    let m: boolean;
    let c: boolean;
    try {
      m = matchParts(pat.parts, strs);
      c = childMatchParts(pat.parts, strs);
    } catch {
      // restic warns and treats the path as not matched; ValidatePatterns normally stops this earlier
      return { matched: false, childMayMatch: false };
    }
    if (pat.isNegated) {
      matched = matched && !m;
      childMayMatch = childMayMatch && !m;
    } else {
      matched = matched || m;
      childMayMatch = childMayMatch || c;
      if (matched && childMayMatch && !hasNegated) break;
    }
  }
  return { matched, childMayMatch };
}

// ---------------------------------------------------------------------------------------------
// restic restore's selection

export interface RestoreFilter {
  include?: readonly string[];
  exclude?: readonly string[];
}

/** How `restic restore` treats one node of the snapshot tree. */
export interface NodeSelection {
  /** The node itself is restored (for a directory: created, even if empty). */
  selected: boolean;
  /** For a directory: restore walks into it. */
  descend: boolean;
}

/** A prepared filter: checks restic would do before starting, then a per-node decision. */
export interface Selector {
  mode: 'all' | 'include' | 'exclude';
  /** Set when restic would refuse to run with this filter; nothing is restored then. */
  error?: ResticError;
  select(path: string, isDir: boolean): NodeSelection;
}

/** Prepare include/exclude the way `restic restore` (0.14) does, including its refusals. */
export function makeSelector(filter: RestoreFilter): Selector {
  const include = filter.include ?? [];
  const exclude = filter.exclude ?? [];
  const nothing: NodeSelection = { selected: false, descend: false };
  const refuse = (error: ResticError): Selector => ({ mode: include.length > 0 ? 'include' : 'exclude', error, select: () => nothing });
  for (const [flag, list] of [
    ['--exclude', exclude],
    ['--include', include],
  ] as const) {
    const bad = invalidPatterns(list);
    if (bad.length > 0) {
      return refuse(
        new ResticError('BadPattern', `${flag}: invalid pattern(s) provided: ${bad.map((b) => JSON.stringify(b)).join(', ')}`, { flag, patterns: bad }),
      );
    }
  }
  if (include.length > 0 && exclude.length > 0) {
    return refuse(
      new ResticError(
        'IncludeExcludeExclusive',
        'exclude and include patterns are mutually exclusive (restic restore refuses --include together with --exclude)',
        {},
      ),
    );
  }
  if (exclude.length > 0) {
    const pats = parsePatterns(exclude);
    return {
      mode: 'exclude',
      select(path, isDir) {
        const selected = !matchList(pats, path).matched;
        return { selected, descend: selected && isDir };
      },
    };
  }
  if (include.length > 0) {
    const pats = parsePatterns(include);
    return {
      mode: 'include',
      select(path, isDir) {
        const { matched, childMayMatch } = matchList(pats, path);
        return { selected: matched, descend: childMayMatch && isDir };
      },
    };
  }
  return { mode: 'all', select: (_path, isDir) => ({ selected: true, descend: isDir }) };
}

function ancestors(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push('/' + parts.slice(0, i).join('/'));
  return out;
}

/**
 * Whether restore writes this file (or, with isDir, selects this directory itself) under the
 * filter. A directory that is not selected is still created when something below it is restored;
 * `previewRestore` accounts for that.
 */
export function isRestored(path: string, filter: RestoreFilter, opts: { isDir?: boolean } = {}): boolean {
  return isSelected(makeSelector(filter), normalizeSnapshotPath(path), opts.isDir ?? false);
}

function isSelected(sel: Selector, path: string, isDir: boolean, descendCache?: Map<string, boolean>): boolean {
  if (sel.error) return false;
  for (const dir of ancestors(path)) {
    let d = descendCache?.get(dir);
    if (d === undefined) {
      d = sel.select(dir, true).descend;
      descendCache?.set(dir, d);
    }
    if (!d) return false;
  }
  return sel.select(path, isDir).selected;
}

/** `/a//b/` → `/a/b`; snapshot paths are absolute. */
function normalizeSnapshotPath(path: string): string {
  const clean = goFilepathClean(path.startsWith('/') ? path : '/' + path);
  return clean;
}

/** One entry of a snapshot: a string is a file unless it ends with '/'. */
export type SnapshotEntry = string | { path: string; type: 'dir' | 'file' | 'symlink' | string };

export interface RestorePreview {
  /** Set when restic would refuse the filter (then nothing is restored). */
  error?: ResticError;
  /** Entries that exist in the target after the restore, in input order, as given. */
  restored: string[];
  /** Entries that are not written. */
  notRestored: string[];
}

/**
 * Which snapshot entries `restic restore` (0.14) writes under include/exclude. Directories are
 * restored when selected themselves or when anything below them is restored (listed or not).
 */
export function previewRestore(entries: readonly SnapshotEntry[], filter: RestoreFilter): RestorePreview {
  const sel = makeSelector(filter);
  const items = entries.map((e) => {
    const raw = typeof e === 'string' ? e : e.path;
    const isDir = typeof e === 'string' ? e.endsWith('/') : e.type === 'dir';
    return { raw, path: normalizeSnapshotPath(raw), isDir };
  });
  if (sel.error) return { error: sel.error, restored: [], notRestored: items.map((i) => i.raw) };
  const written = new Set<string>();
  const descendCache = new Map<string, boolean>();
  for (const item of items) {
    if (!isSelected(sel, item.path, item.isDir, descendCache)) continue;
    written.add(item.path);
    for (const dir of ancestors(item.path)) written.add(dir);
  }
  const restored: string[] = [];
  const notRestored: string[] = [];
  for (const item of items) (written.has(item.path) ? restored : notRestored).push(item.raw);
  return { restored, notRestored };
}
