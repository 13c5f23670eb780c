// A fast path for the YAML manifests are almost always written in (issue 16: the `yaml` package's
// lexer, parser and composer were 80% of validating 10,000 manifests).
//
// It reads only a plain subset: block mappings and sequences, one value per line, single-line
// plain and quoted scalars without escapes, single-line flow collections, comments, `---`
// between documents, printable ASCII. Anything else (tabs, anchors, aliases, tags, block scalars,
// multi-line values, escapes, empty values, a duplicate key, a non-ASCII character…) makes it
// answer undefined, and the file is parsed by the full parser instead: the fast path never
// reports a problem, so every diagnostic comes from the one full parser. Where it answers, its
// values and positions are those of the full parser (plain scalars are resolved by the same
// schema's tags); test/manifests/yaml-plain.test.ts compares the two on every manifest of the
// repository, generated variants and mutations of them.

/** Kinds of containers in a position index (see ValueWalk in yaml-source.ts). */
export const MAPPING = 0;
export const LIST = 1;

/** A plain scalar's value as the full parser resolves it, or NOT_PLAIN if it would not be plain data. */
export type ResolvePlain = (source: string) => unknown;
export const NOT_PLAIN: unique symbol = Symbol('not plain');

export interface PlainDocument {
  value: unknown;
  /** The position index, laid out as ValueWalk lays it out. */
  enc: number[];
  keys: string[];
  root: number;
  rootAt: number;
}

/**
 * Documents bigger than this take the full parser, which alone checks the size limits: a plain
 * document's value is at most 4.4× its text (`[1e20, …]`), so this one stays under the expanded
 * size limit (YAML_LIMITS.expandedBytes, 3 MiB) and the document size limit.
 */
const MAX_DOCUMENT = 512 * 1024;
const MAX_TEXT = 16 * 1024 * 1024;
const MAX_DEPTH = 64;
const MAX_KEY = 1000;

class Bail {}
const BAIL = new Bail();

/** Where a container is, its entries' positions and their containers, before it is encoded. */
interface Box {
  kind: number;
  at: number;
  keys: string[] | undefined;
  keyAts: number[] | undefined;
  valueAts: number[];
  kids: (Box | undefined)[];
}

const SPACE = 0x20;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;

// Character classes as tables of the 128 ASCII codes.
function table(chars: string): Uint8Array {
  const t = new Uint8Array(128);
  for (const c of chars) t[c.charCodeAt(0)] = 1;
  return t;
}
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** A plain key: letters, digits and `_ . / -`, not starting with `-`. */
const KEY_START = table(`${ALNUM}_./`);
const KEY_CHAR = table(`${ALNUM}_./-`);
/** The first character of a plain value (a `-` needs one of these after it). */
const PLAIN_START = table(`${ALNUM}_./~+(=^$`);
/** The characters of a plain value inside a flow collection (and spaces between words). */
const FLOW_CHAR = table(`${ALNUM}_./~+()=^$@%-`);

/** The documents of `text`, or undefined when it is not all in the plain subset. */
export function parsePlainDocuments(text: string, resolve: ResolvePlain): PlainDocument[] | undefined {
  if (text.length > MAX_TEXT || !/^[\n\x20-\x7e]*$/.test(text)) return undefined;
  try {
    return new PlainReader(text, resolve).documents();
  } catch (e) {
    if (e === BAIL) return undefined;
    throw e;
  }
}

class PlainReader {
  private readonly text: string;
  private readonly resolve: ResolvePlain;
  // The current document's content lines (not blank, not a comment): start, end, indent.
  private starts: number[] = [];
  private ends: number[] = [];
  private indents: number[] = [];
  private i = 0;

  constructor(text: string, resolve: ResolvePlain) {
    this.text = text;
    this.resolve = resolve;
  }

  documents(): PlainDocument[] {
    const text = this.text;
    const out: PlainDocument[] = [];
    let separators = 0;
    let pos = 0;
    while (pos <= text.length) {
      let end = text.indexOf('\n', pos);
      if (end < 0) end = text.length;
      let p = pos;
      while (p < end && text.charCodeAt(p) === SPACE) p++;
      if (p < end && text.charCodeAt(p) !== HASH) {
        if (p === pos && (text.startsWith('---', pos) || text.startsWith('...', pos) || text.charCodeAt(pos) === 0x25)) {
          if (end !== pos + 3 || text.charCodeAt(pos) !== DASH) throw BAIL; // `--- x`, `...`, a directive
          // `---` before anything opens the first document; any other separates two.
          if (this.starts.length) out.push(this.document());
          else if (out.length || separators) throw BAIL; // an empty document
          separators++;
        } else {
          this.starts.push(pos);
          this.ends.push(end);
          this.indents.push(p - pos);
        }
      }
      pos = end + 1;
    }
    if (this.starts.length) out.push(this.document());
    else throw BAIL; // no document, or an empty last one
    return out;
  }

  private document(): PlainDocument {
    if (this.ends[this.ends.length - 1]! - this.starts[0]! > MAX_DOCUMENT) throw BAIL;
    this.i = 0;
    const box: { b?: Box } = {};
    const value = this.block(0, box);
    if (this.i < this.starts.length) throw BAIL; // something after the root, less indented
    const enc: number[] = [];
    const keys: string[] = [];
    const root = box.b ? encode(box.b, enc, keys) : -1;
    const rootAt = box.b ? box.b.at : -1;
    this.starts = [];
    this.ends = [];
    this.indents = [];
    return { value, enc, keys, root, rootAt };
  }

  /** The block collection starting on the current line (a sequence or a mapping). */
  private block(depth: number, out: { b?: Box }): unknown {
    if (depth > MAX_DEPTH) throw BAIL;
    const start = this.starts[this.i]!;
    const n = this.indents[this.i]!;
    const col = start + n;
    if (this.isItem(col)) return this.sequence(n, depth, out);
    if (this.keyEnd(col) >= 0) return this.mapping(n, col, depth, out);
    throw BAIL;
  }

  private isItem(p: number): boolean {
    const end = this.ends[this.i]!;
    return this.text.charCodeAt(p) === DASH && (p + 1 === end || this.text.charCodeAt(p + 1) === SPACE);
  }

  /** The offset of the `:` ending a plain key at p on the current line, or -1. */
  private keyEnd(p: number): number {
    const text = this.text;
    const end = this.ends[this.i]!;
    if (p >= end || !KEY_START[text.charCodeAt(p)]) return -1;
    let q = p + 1;
    while (q < end && KEY_CHAR[text.charCodeAt(q)]) q++;
    if (q >= end || text.charCodeAt(q) !== COLON) return -1;
    if (q + 1 < end && text.charCodeAt(q + 1) !== SPACE) return -1;
    if (q - p > MAX_KEY) throw BAIL; // YAML limits an implicit key to 1024 characters: the parser reports it
    return q;
  }

  /** A block mapping whose keys stand at column n; the first one at offset `first` (maybe mid-line, after `- `). */
  private mapping(n: number, first: number, depth: number, out: { b?: Box }): Record<string, unknown> {
    const text = this.text;
    const value: Record<string, unknown> = {};
    const box: Box = { kind: MAPPING, at: first, keys: [], keyAts: [], valueAts: [], kids: [] };
    out.b = box;
    let p = first;
    for (;;) {
      const end = this.ends[this.i]!;
      const colon = this.keyEnd(p);
      if (colon < 0) throw BAIL;
      const key = this.keyString(text.slice(p, colon));
      if (key === '__proto__' || Object.hasOwn(value, key)) throw BAIL;
      let v = colon + 1;
      while (v < end && text.charCodeAt(v) === SPACE) v++;
      const kid: { b?: Box } = {};
      let valueAt: number;
      if (v === end || text.charCodeAt(v) === HASH) {
        // The value is the block on the next lines: more indented, or a sequence at this column.
        this.i++;
        if (this.i >= this.starts.length) throw BAIL;
        const m = this.indents[this.i]!;
        const col = this.starts[this.i]! + m;
        if (m > n) value[key] = this.block(depth + 1, kid);
        else if (m === n && this.isItem(col)) value[key] = this.sequence(n, depth + 1, kid);
        else throw BAIL; // an empty value
        valueAt = kid.b!.at;
      } else {
        valueAt = v;
        value[key] = this.inline(v, depth + 1, kid);
        this.i++;
      }
      box.keys!.push(key);
      box.keyAts!.push(p);
      box.valueAts.push(valueAt);
      box.kids.push(kid.b);
      if (this.i >= this.starts.length) return value;
      const m = this.indents[this.i]!;
      if (m < n) return value;
      if (m > n) throw BAIL;
      p = this.starts[this.i]! + m;
      if (this.isItem(p)) throw BAIL;
    }
  }

  /** A block sequence whose `-` stand at column n. */
  private sequence(n: number, depth: number, out: { b?: Box }): unknown[] {
    const text = this.text;
    const value: unknown[] = [];
    const box: Box = { kind: LIST, at: this.starts[this.i]! + n, keys: undefined, keyAts: undefined, valueAts: [], kids: [] };
    out.b = box;
    for (;;) {
      const start = this.starts[this.i]!;
      const end = this.ends[this.i]!;
      let p = start + n + 1;
      while (p < end && text.charCodeAt(p) === SPACE) p++;
      if (p === end || text.charCodeAt(p) === HASH) throw BAIL; // the item is a block on the next lines
      const kid: { b?: Box } = {};
      if (this.keyEnd(p) >= 0) {
        value.push(this.mapping(p - start, p, depth + 1, kid));
      } else {
        value.push(this.inline(p, depth + 1, kid));
        this.i++;
      }
      box.valueAts.push(p);
      box.kids.push(kid.b);
      if (this.i >= this.starts.length) return value;
      const m = this.indents[this.i]!;
      if (m < n) return value;
      if (m > n) throw BAIL;
      if (!this.isItem(this.starts[this.i]! + m)) return value; // the mapping around it goes on
    }
  }

  /** A value on the rest of the current line: a scalar or a flow collection, then maybe a comment. */
  private inline(p: number, depth: number, out: { b?: Box }): unknown {
    const text = this.text;
    const end = this.ends[this.i]!;
    const c = text.charCodeAt(p);
    let value: unknown;
    let q: number;
    if (c === 0x22 || c === 0x27) {
      q = this.quoted(p, end);
      value = text.slice(p + 1, q - 1);
    } else if (c === 0x5b || c === 0x7b) {
      const r = { end: 0 };
      value = this.flow(p, end, depth, out, r);
      q = r.end;
    } else {
      if (!this.plainStart(p, end)) throw BAIL;
      let e = p + 1;
      while (e < end && !(text.charCodeAt(e) === HASH && text.charCodeAt(e - 1) === SPACE)) e++; // up to a comment
      while (text.charCodeAt(e - 1) === SPACE) e--;
      const source = text.slice(p, e);
      if (source.includes(': ') || source.endsWith(':')) throw BAIL;
      return this.scalar(source);
    }
    let s = q;
    while (s < end && text.charCodeAt(s) === SPACE) s++;
    if (s < end && (text.charCodeAt(s) !== HASH || s === q)) throw BAIL;
    return value;
  }

  /** The end (after the closing quote) of a quoted scalar without escapes on this line. */
  private quoted(p: number, end: number): number {
    const text = this.text;
    const quote = text[p]!;
    const q = text.indexOf(quote, p + 1);
    // An escaped quote ('' in single quotes) ends the scalar early here, and what follows it is refused.
    if (q < 0 || q >= end || (quote === '"' && text.slice(p + 1, q).includes('\\'))) throw BAIL;
    return q + 1;
  }

  private plainStart(p: number, end: number): boolean {
    const c = this.text.charCodeAt(p);
    if (c === DASH) return p + 1 < end && PLAIN_START[this.text.charCodeAt(p + 1)] === 1;
    return PLAIN_START[c] === 1;
  }

  /** A flow collection on one line, from its `[` or `{` at p; `r.end` is set after its closing bracket. */
  private flow(p: number, end: number, depth: number, out: { b?: Box }, r: { end: number }): unknown {
    if (depth > MAX_DEPTH) throw BAIL;
    const text = this.text;
    const isMap = text.charCodeAt(p) === 0x7b;
    const close = isMap ? 0x7d : 0x5d;
    const box: Box = { kind: isMap ? MAPPING : LIST, at: p, keys: isMap ? [] : undefined, keyAts: isMap ? [] : undefined, valueAts: [], kids: [] };
    out.b = box;
    const list: unknown[] = [];
    const map: Record<string, unknown> = {};
    let q = p + 1;
    const skip = () => {
      while (q < end && text.charCodeAt(q) === SPACE) q++;
    };
    skip();
    if (text.charCodeAt(q) === close) {
      r.end = q + 1;
      return isMap ? map : list;
    }
    for (;;) {
      if (q >= end) throw BAIL;
      let keyAt = -1;
      let key = '';
      if (isMap) {
        keyAt = q;
        const k = this.flowPlain(q, end);
        q = k.end;
        if (text.charCodeAt(q) !== COLON || text.charCodeAt(q + 1) !== SPACE) throw BAIL;
        if (k.source.length > MAX_KEY) throw BAIL;
        key = this.keyString(k.source);
        if (key === '__proto__' || Object.hasOwn(map, key)) throw BAIL;
        q += 2;
        skip();
      }
      const at = q;
      const kid: { b?: Box } = {};
      let v: unknown;
      const c = text.charCodeAt(q);
      if (c === 0x22 || c === 0x27) {
        q = this.quoted(q, end);
        v = text.slice(at + 1, q - 1);
      } else if (c === 0x5b || c === 0x7b) {
        const rr = { end: 0 };
        v = this.flow(q, end, depth + 1, kid, rr);
        q = rr.end;
      } else {
        const s = this.flowPlain(q, end);
        q = s.end;
        v = this.scalar(s.source);
      }
      if (isMap) {
        map[key] = v;
        box.keys!.push(key);
        box.keyAts!.push(keyAt);
      } else list.push(v);
      box.valueAts.push(at);
      box.kids.push(kid.b);
      skip();
      const d = text.charCodeAt(q);
      if (d === close) {
        r.end = q + 1;
        return isMap ? map : list;
      }
      if (d !== 0x2c) throw BAIL;
      q++; // a trailing comma is refused: no value starts with a closing bracket
      skip();
    }
  }

  /** A plain scalar inside a flow collection: its text and the offset after it (and its spaces). */
  private flowPlain(p: number, end: number): { source: string; end: number } {
    const text = this.text;
    if (!this.plainStart(p, end)) throw BAIL;
    let q = p;
    let last = p;
    while (q < end) {
      const c = text.charCodeAt(q);
      if (c === SPACE) q++;
      else if (FLOW_CHAR[c]) last = ++q;
      else break;
    }
    return { source: text.slice(p, last), end: q };
  }

  private scalar(source: string): unknown {
    const v = this.resolve(source);
    if (v === NOT_PLAIN) throw BAIL;
    return v;
  }

  /** A key as ValueWalk makes it: its value as text (`1:` and `yes:` are the keys "1" and "true"). */
  private keyString(source: string): string {
    return String(this.scalar(source));
  }
}

/** Encodes a container and what it holds as ValueWalk does: the container's slots first, then each entry's value. */
function encode(b: Box, enc: number[], keys: string[]): number {
  const c = enc.length;
  const n = b.valueAts.length;
  enc.push(b.kind, 0, b.at);
  for (let i = 0; i < n * 4; i++) enc.push(-1);
  for (let j = 0; j < n; j++) {
    const kid = b.kids[j];
    const made = kid ? encode(kid, enc, keys) : -1;
    const e = c + 3 + j * 4;
    enc[c + 1]!++;
    enc[e] = b.keys ? keys.push(b.keys[j]!) - 1 : -1;
    enc[e + 1] = b.keyAts ? b.keyAts[j]! : -1;
    enc[e + 2] = b.valueAts[j]!;
    enc[e + 3] = made;
  }
  return c;
}
