// Multi-document YAML with positions, read as kubectl reads it, with bounded resources.
//
// One parser (the `yaml` package), one parse per file, one schema for every file: YAML 1.1 as
// go-yaml v2 resolves it (kubectl reads manifests through sigs.k8s.io/yaml, which is go-yaml):
// `yes`/`on`/`y` are booleans, `1_000` and `0o17` and `012` are integers, and timestamps and
// sexagesimal numbers (`2024-06-01`, `1:20`) stay strings. test/manifests/kubectl-values.test.ts
// compares the values with kubectl's.
//
// Values are built by our own walk over the syntax tree instead of `toJS`: aliases are expanded
// into copies (the result is a plain finite tree, nothing shared, nothing cyclic), the expanded
// size and the depth are capped, and every problem (an alias to no anchor, a recursive anchor, an
// alias bomb, a document too big or too deep) is a diagnostic at its position for that document,
// never a throw. A compact index of positions is kept for diagnostics later (no re-parse).
import { Composer, Document, LineCounter, Parser, isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { Alias, CST, Node, Scalar, ScalarTag, Tags } from 'yaml';
import type { FieldPath } from '../api/openapi.ts';
import type { Diagnostic, Severity } from './diagnostic.ts';
import { LIST, MAPPING, NOT_PLAIN, parsePlainDocuments } from './yaml-plain.ts';

/**
 * What one file may cost. The API server refuses a request body over 3 MiB, so no object bigger
 * than that can ever be applied: that is the cap for a document's source and for its value once
 * aliases are expanded (measured as the length of its JSON). Real manifests nest fewer than 30
 * levels; 256 keeps every recursive stage after the loader far from the stack limit. A file may
 * hold many documents, each applied on its own: 16 MiB of text bounds the parse's memory.
 */
export const YAML_LIMITS = {
  fileBytes: 16 * 1024 * 1024,
  documentBytes: 3 * 1024 * 1024,
  expandedBytes: 3 * 1024 * 1024,
  depth: 256,
} as const;

export interface YamlDocument {
  /** 0-based index of the document in its file. */
  index: number;
  value: unknown;
  /** Finds positions of fields of this document; built from the same parse. */
  positions: DocumentPositions;
}

export interface ParsedYaml {
  documents: YamlDocument[];
  diagnostics: Diagnostic[];
}

export interface Position {
  line: number;
  column: number;
}

/** go-yaml's `0o17` (Go's ParseInt with base 0 reads it); the `yaml` package's YAML 1.1 schema does not. */
const octalO: ScalarTag = {
  identify: (v) => typeof v === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT',
  test: /^[-+]?0o[0-7_]+$/,
  resolve: (s) => {
    const neg = s.startsWith('-');
    const n = parseInt(s.replace(/^[-+]?0o/, '').replace(/_/g, ''), 8);
    return neg ? -n : n;
  },
};

/** An explicit `!!float 1` (no test: used for the explicit tag only, as go-yaml reads it). */
const explicitFloat: ScalarTag = {
  identify: () => false,
  tag: 'tag:yaml.org,2002:float',
  resolve: (s, onError) => {
    const n = Number(s.replace(/_/g, ''));
    if (Number.isNaN(n)) onError(`cannot read ${s} as a !!float`);
    return n;
  },
};

/** YAML 1.1 without what go-yaml does not resolve for an untyped value: timestamps and base 60. */
function kubectlTags(tags: Tags): Tags {
  const kept = tags.filter((t) => typeof t === 'string' || (t.tag !== 'tag:yaml.org,2002:timestamp' && (t as ScalarTag).format !== 'TIME'));
  return [octalO, ...kept, explicitFloat];
}

const PARSE_OPTIONS = { schema: 'yaml-1.1', customTags: kubectlTags, uniqueKeys: false, prettyErrors: false, merge: true } as const;

/** The one schema's tags that resolve a plain scalar by its text, in the order the composer tries them. */
const SCHEMA_DOCUMENT = new Document(null, PARSE_OPTIONS);
const PLAIN_TAGS = SCHEMA_DOCUMENT.schema.tags.filter((t): t is ScalarTag => t.default === true && !!(t as ScalarTag).test);
const resolved = new Map<string, unknown>();

/**
 * A plain scalar's value, as the composer and ValueWalk.scalar make it; NOT_PLAIN for what the
 * full parser reports (a resolve error, a number JSON cannot hold) or keeps in another form.
 */
function resolvePlain(source: string): unknown {
  const known = resolved.get(source);
  if (known !== undefined || resolved.has(source)) return known;
  if (resolved.size >= 10000) resolved.clear();
  const tag = PLAIN_TAGS.find((t) => t.test!.test(source));
  let v: unknown = source;
  if (tag) {
    let failed = false;
    v = tag.resolve(source, () => (failed = true), SCHEMA_DOCUMENT.options);
    if (isScalar(v)) v = v.value;
    if (failed || (typeof v === 'number' && !Number.isFinite(v))) v = NOT_PLAIN;
    else if (typeof v === 'bigint') v = Number(v);
    else if (typeof v === 'object' && v !== null) v = NOT_PLAIN;
  }
  resolved.set(source, v);
  return v;
}

/** Whether the plain fast path reads `text` (for tests: the full parser reads the rest). */
export function readsAsPlain(text: string): boolean {
  return parsePlainDocuments(text, resolvePlain) !== undefined;
}

/** Thrown inside the walk only, caught by parseYamlFile: a problem at a node of one document. */
class DocumentProblem {
  readonly offset: number;
  readonly message: string;
  constructor(offset: number, message: string) {
    this.offset = offset;
    this.message = message;
  }
}

/**
 * The documents of a file with their values and positions, and its problems as diagnostics.
 * Most files are read by the plain fast path (yaml-plain.ts); `fullParser` skips it (for tests
 * comparing the two).
 */
export function parseYamlFile(file: string, text: string, opts: { fullParser?: boolean } = {}): ParsedYaml {
  const documents: YamlDocument[] = [];
  const diagnostics: Diagnostic[] = [];
  const lineCounter = new LineCounter();
  const at = (offset: number, severity: Severity, message: string): Diagnostic => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, column: pos.col, path: '', severity, message };
  };
  if (text.length > YAML_LIMITS.fileBytes) {
    return {
      documents,
      diagnostics: [
        {
          file,
          line: 1,
          column: 1,
          path: '',
          severity: 'error',
          message: `file too big: ${mib(text.length)} of text, the limit is ${mib(YAML_LIMITS.fileBytes)}; split it into several files`,
        },
      ],
    };
  }
  const plain = opts.fullParser ? undefined : parsePlainDocuments(text, resolvePlain);
  if (plain) {
    // The line starts the parser would have reported.
    lineCounter.addNewLine(0);
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineCounter.addNewLine(i + 1);
    plain.forEach((d, index) => {
      documents.push({ index, value: d.value, positions: new DocumentPositions(Int32Array.from(d.enc), d.keys, d.root, d.rootAt, lineCounter) });
    });
    return { documents, diagnostics };
  }
  let docs: { doc: Document.Parsed; index: number }[];
  try {
    docs = composeDocuments(
      text,
      lineCounter,
      (offset) => diagnostics.push(at(offset, 'error', `YAML: ${TOO_DEEP_HERE}`)),
      (offset, message) => diagnostics.push(at(offset, 'error', `YAML: ${firstLine(message)}`)),
    );
  } catch (e) {
    // A net: the parser reports what it finds as errors, and nesting is measured before composing.
    const why = e instanceof RangeError ? TOO_DEEP : (e as Error).message;
    return { documents, diagnostics: [{ file, line: 1, column: 1, path: '', severity: 'error', message: `YAML: cannot be read: ${why}` }] };
  }
  docs.forEach(({ doc, index }) => {
    for (const [list, severity] of [
      [doc.errors, 'error'],
      [doc.warnings, 'warning'],
    ] as const) {
      for (const e of list.slice(0, MAX_YAML_PROBLEMS)) diagnostics.push(at(e.pos[0], severity, `YAML: ${firstLine(e.message)}`));
      if (list.length > MAX_YAML_PROBLEMS)
        diagnostics.push(at(list[MAX_YAML_PROBLEMS]!.pos[0], severity, `YAML: ${list.length - MAX_YAML_PROBLEMS} more ${severity}s in this document`));
    }
    if (doc.errors.length > 0) return; // a broken document is reported, never half-applied
    const size = doc.range[1] - doc.range[0];
    if (size > YAML_LIMITS.documentBytes) {
      diagnostics.push(
        at(doc.range[0], 'error', `YAML: document too big: ${mib(size)}, the API server accepts at most ${mib(YAML_LIMITS.documentBytes)}; split it`),
      );
      return;
    }
    const walk = new ValueWalk();
    try {
      const value = walk.value(doc.contents as Node | null, 0, true);
      const rootAt = (doc.contents as Node | null)?.range?.[0] ?? doc.range[0];
      documents.push({ index, value, positions: positionsFrom(walk, rootAt, lineCounter) });
    } catch (e) {
      // Whatever goes wrong stays this document's problem: the file's other documents still load.
      if (e instanceof DocumentProblem) diagnostics.push(at(e.offset, 'error', `YAML: ${e.message}`));
      else diagnostics.push(at(doc.range[0], 'error', `YAML: cannot be read: ${e instanceof RangeError ? TOO_DEEP : (e as Error).message}`));
    }
  });
  return { documents, diagnostics };
}

/**
 * Parses like parseAllDocuments (lexer, parser, composer), but measures each document's nesting
 * on the parser's tokens first (iteratively) and composes only documents within the depth limit:
 * the composer recurses per level, and a regular expression that V8 compiles near the end of the
 * stack aborts the process (no exception to catch). Documents keep their index in the file.
 */
function composeDocuments(
  text: string,
  lines: LineCounter,
  tooDeep: (offset: number) => void,
  onStreamError: (offset: number, message: string) => void = () => {},
): { doc: Document.Parsed; index: number }[] {
  const parser = new Parser(lines.addNewLine);
  const composer = new Composer(PARSE_OPTIONS);
  const out: { doc: Document.Parsed; index: number }[] = [];
  const order: number[] = [];
  const take = (docs: Iterable<Document.Parsed>) => {
    for (const doc of docs) out.push({ doc, index: order[out.length]! });
  };
  let n = 0;
  let skipping = false;
  for (const token of parser.parse(text)) {
    if (token.type === 'document') {
      const index = n++;
      const deep = deeperThan(token, YAML_LIMITS.depth);
      skipping = deep !== undefined;
      if (skipping) {
        tooDeep(deep!);
        continue;
      }
      order.push(index);
    } else if (token.type === 'doc-end' && skipping) {
      continue;
    }
    take(composer.next(token));
  }
  take(composer.end());
  // Errors outside any document (a stream of nothing but a stray token) belong to no document.
  if (!out.length) for (const e of composer.streamInfo().errors) onStreamError(e.pos[0], e.message);
  return out;
}

/** The offset of the first collection nested deeper than `limit` in a document's tokens, if any. */
function deeperThan(doc: CST.Document, limit: number): number | undefined {
  const stack: [CST.Token | undefined, number][] = [[doc.value, 0]];
  while (stack.length) {
    const [t, d] = stack.pop()!;
    if (!t) continue;
    if (t.type === 'block-map' || t.type === 'block-seq' || t.type === 'flow-collection') {
      if (d >= limit) return t.offset;
      for (const item of t.items) {
        const it = item as { key?: CST.Token | null; value?: CST.Token };
        if (it.key) stack.push([it.key, d + 1]);
        if (it.value) stack.push([it.value, d + 1]);
      }
    }
  }
  return undefined;
}

/** Parse errors and warnings reported per document; a mangled document can produce thousands. */
const MAX_YAML_PROBLEMS = 10;
const TOO_DEEP = `nested too deeply (the limit is ${YAML_LIMITS.depth} levels)`;
const TOO_DEEP_HERE = `nested more than ${YAML_LIMITS.depth} levels deep: flatten it`;

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

function firstLine(message: string): string {
  if (/Maximum call stack size exceeded/.test(message)) return TOO_DEEP;
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

/**
 * Where a document's containers and their parts are, kept from the parse instead of the syntax
 * tree, flat (about 1 KiB for a typical manifest; the tree, or one object per container, costs
 * 8× that). A container at index c of `enc`: [kind (0 mapping, 1 list), entries, offset], then 4
 * numbers per entry: [index of the key in `keys` (-1 in a list), key offset, value offset, index
 * of the value's own container (-1: not a container)]. -1 as an offset: no position.
 */

/**
 * Builds a document's value: fresh objects for every node and every alias use, so the result is a
 * tree. `cost` approximates the length of the value as JSON; it is what the expanded-size cap
 * measures, and it bounds the walk's time and memory whatever the aliases multiply. Positions are
 * recorded for the document's own nodes, not for the copies aliases make (a field reached through
 * an alias is located at the alias).
 */
class ValueWalk {
  private readonly anchors = new Map<string, Node>();
  private readonly resolved = new Map<Alias, Node>();
  private readonly expanding = new Set<Node>();
  /** Index in `enc` of the container value() just built when recording, else -1. */
  made = -1;
  /** How many alias expansions the walk is inside. */
  private copying = 0;
  readonly enc: number[] = [];
  readonly keys: string[] = [];
  cost = 0;

  value(node: Node | null | undefined, depth: number, record: boolean): unknown {
    this.made = -1;
    if (!node) return null;
    if (depth > YAML_LIMITS.depth) throw new DocumentProblem(start(node), TOO_DEEP_HERE);
    if (isAlias(node)) {
      const v = this.alias(node, depth);
      this.made = -1;
      return v;
    }
    // Anchors are defined where they stand in the text, not again in the copies aliases make.
    if (node.anchor && this.copying === 0) this.anchors.set(node.anchor, node);
    this.expanding.add(node);
    try {
      if (isMap(node)) return this.map(node, depth, record);
      if (isSeq(node)) return this.seq(node, depth, record);
      if (isScalar(node)) return this.scalar(node);
      throw new DocumentProblem(start(node), 'unsupported node');
    } finally {
      this.expanding.delete(node);
    }
  }

  private alias(node: Alias, depth: number): unknown {
    let target = this.resolved.get(node);
    if (!target) {
      target = this.anchors.get(node.source);
      if (!target) {
        const hint = /[.*?[\]]/.test(node.source)
          ? `: quote the value ('*${node.source}') — an unquoted * starts a YAML alias`
          : `: define &${node.source} before using it, or quote the value ('*${node.source}') if it is text — an unquoted * starts a YAML alias`;
        throw new DocumentProblem(start(node), `alias *${node.source} refers to no anchor${hint}`);
      }
      this.resolved.set(node, target);
    }
    if (this.expanding.has(target)) {
      throw new DocumentProblem(
        start(node),
        `alias *${node.source} is inside the node its anchor &${node.source} names, so the value would be infinite: remove the alias`,
      );
    }
    this.copying++;
    try {
      return this.value(target, depth, false);
    } finally {
      this.copying--;
    }
  }

  private seq(node: Node, depth: number, record: boolean): unknown[] {
    const items = (node as unknown as { items: (Node | null)[] }).items;
    const c = record ? this.open(LIST, node, items.length) : -1;
    this.charge(node, 2);
    const out: unknown[] = [];
    for (const item of items) {
      this.charge(node, 1);
      out.push(this.value(item, depth + 1, record));
      if (c >= 0) this.entry(c, -1, -1, item?.range?.[0] ?? -1);
    }
    this.made = c;
    return out;
  }

  /** Reserves a container's slots in `enc`; entries are filled in as its children are built. */
  private open(kind: number, node: Node, capacity: number): number {
    const c = this.enc.length;
    this.enc.push(kind, 0, start(node));
    for (let i = 0; i < capacity * 4; i++) this.enc.push(-1);
    return c;
  }

  private entry(c: number, key: number, keyAt: number, valueAt: number): void {
    const e = c + 3 + this.enc[c + 1]! * 4;
    this.enc[c + 1]!++;
    this.enc[e] = key;
    this.enc[e + 1] = keyAt;
    this.enc[e + 2] = valueAt;
    this.enc[e + 3] = this.made;
  }

  private map(node: Node, depth: number, record: boolean): Record<string, unknown> {
    const items = (node as unknown as { items: { key: Node | null; value: Node | null }[] }).items;
    const out: Record<string, unknown> = {};
    const own = new Set<string>();
    const c = record ? this.open(MAPPING, node, items.length) : -1;
    this.charge(node, 2);
    for (const pair of items) {
      const keyNode = pair.key;
      if (isScalar(keyNode) && keyNode.source === '<<' && keyNode.type === 'PLAIN') {
        // A merge key, as go-yaml applies it: in document order, so a key after it overrides
        // it and a key before it is overridden; of a list of mappings, the first wins.
        const v = this.value(pair.value, depth + 1, false);
        const maps = Array.isArray(v) ? [...v].reverse() : [v];
        for (const m of maps) {
          if (typeof m !== 'object' || m === null || Array.isArray(m))
            throw new DocumentProblem(start(pair.value ?? keyNode), 'a merge key (<<) needs a mapping or a list of mappings');
          for (const [k, x] of Object.entries(m)) set(out, k, x);
        }
        continue;
      }
      const key = this.key(keyNode, depth);
      // Checked here, not by the parser: its check compares every key with every other (a
      // mapping of 40,000 keys took 25 s).
      if (own.has(key)) throw new DocumentProblem(start(keyNode ?? node), `Map keys must be unique: "${key}" is set twice in this mapping; keep one`);
      own.add(key);
      this.charge(node, key.length + 4);
      set(out, key, this.value(pair.value, depth + 1, record));
      if (c >= 0) this.entry(c, this.keys.push(key) - 1, keyNode?.range?.[0] ?? -1, pair.value?.range?.[0] ?? -1);
    }
    this.made = c;
    return out;
  }

  private key(node: Node | null, depth: number): string {
    if (!node) return 'null';
    const v = isAlias(node) ? this.alias(node, depth) : isScalar(node) ? this.scalar(node) : undefined;
    if (v !== undefined && (typeof v !== 'object' || v === null)) return String(v);
    throw new DocumentProblem(start(node), 'a mapping key must be a plain value (a string or number), not a mapping or a list');
  }

  private scalar(node: Scalar): unknown {
    let v = node.value;
    if (v instanceof Uint8Array)
      v = Buffer.from(v).toString('utf8'); // !!binary, as go-yaml decodes it
    else if (typeof v === 'number' && !Number.isFinite(v)) {
      throw new DocumentProblem(start(node), `${node.source} is not a number JSON can hold (kubectl refuses it): quote it if it is text`);
    } else if (typeof v === 'bigint') v = Number(v);
    else if (v !== null && typeof v === 'object') v = String(node.source); // a tag we do not resolve stays its text
    this.charge(node, typeof v === 'string' ? v.length + 2 : String(v).length);
    this.made = -1;
    return v;
  }

  private charge(node: Node, n: number): void {
    this.cost += n;
    if (this.cost > YAML_LIMITS.expandedBytes) {
      throw new DocumentProblem(
        start(node),
        `the document expands to more than ${mib(YAML_LIMITS.expandedBytes)} (the API server's limit for an object), most likely through aliases (*name) that repeat large anchors: write the values out or remove the aliases`,
      );
    }
  }
}

function set(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  else o[key] = value;
}

const start = (node: Node): number => node.range?.[0] ?? 0;

/**
 * A file's line starts as kept with its positions: a LineCounter's array of numbers and its two
 * closures cost about three times as much, kept for every cached file. One per file.
 */
class LineStarts {
  private readonly starts: Int32Array;
  constructor(lines: LineCounter) {
    this.starts = Int32Array.from(lines.lineStarts);
  }

  /** LineCounter.linePos: the 1-based line and column of `offset`. */
  linePos(offset: number): { line: number; col: number } {
    const starts = this.starts;
    let low = 0;
    let high = starts.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (starts[mid]! < offset) low = mid + 1;
      else high = mid;
    }
    if (starts[low] === offset) return { line: low + 1, col: 1 };
    if (low === 0) return { line: 0, col: offset };
    return { line: low, col: offset - starts[low - 1]! + 1 };
  }
}

const compactLines = new WeakMap<LineCounter, LineStarts>();

function lineStarts(lines: LineCounter): LineStarts {
  let compact = compactLines.get(lines);
  if (!compact) compactLines.set(lines, (compact = new LineStarts(lines)));
  return compact;
}

/** Where a document's fields are, from its file's one parse: positions without parsing again. */
export class DocumentPositions {
  private readonly enc: Int32Array;
  private readonly keys: string[];
  private readonly root: number;
  private readonly rootAt: number;
  private readonly lines: LineStarts;
  constructor(enc: Int32Array, keys: string[], root: number, rootAt: number, lines: LineCounter) {
    this.enc = enc;
    this.keys = keys;
    this.root = root;
    this.rootAt = rootAt;
    this.lines = lineStarts(lines);
  }

  /**
   * The position of a field: the value's position, or with `at: 'key'` the key's. A path that does
   * not exist (a missing required field) resolves to the deepest part of it that does.
   */
  locate(path: FieldPath, at: 'key' | 'value' = 'value'): Position {
    const enc = this.enc;
    let c = this.root;
    let best = this.rootAt;
    for (let i = 0; i < path.length && c >= 0; i++) {
      const seg = path[i]!;
      const last = i === path.length - 1;
      const n = enc[c + 1]!;
      let e = -1;
      if (enc[c] === MAPPING) {
        const want = String(seg);
        for (let j = 0; j < n; j++) if (this.keys[enc[c + 3 + j * 4]!] === want) e = c + 3 + j * 4;
        if (e < 0) break;
        const k = enc[e + 1]!;
        const v = enc[e + 2]!;
        best = (last && at === 'key') || v < 0 ? (k >= 0 ? k : best) : v;
      } else if (typeof seg === 'number' && seg >= 0 && seg < n) {
        e = c + 3 + seg * 4;
        if (enc[e + 2]! >= 0) best = enc[e + 2]!;
      } else {
        break;
      }
      c = enc[e + 3]!;
    }
    const pos = this.lines.linePos(best);
    return { line: pos.line, column: pos.col };
  }
}

function positionsOf(doc: Document.Parsed, lines: LineCounter): DocumentPositions {
  const walk = new ValueWalk();
  try {
    walk.value(doc.contents as Node | null, 0, true);
  } catch {
    walk.made = walk.enc.length ? 0 : -1; // positions up to the problem are enough
  }
  return positionsFrom(walk, (doc.contents as Node | null)?.range?.[0] ?? doc.range[0], lines);
}

function positionsFrom(walk: ValueWalk, rootAt: number, lines: LineCounter): DocumentPositions {
  return new DocumentPositions(Int32Array.from(walk.enc), walk.keys.slice(), walk.made, rootAt, lines);
}

/**
 * Positions for text that did not come through parseYamlFile (a manifest built by hand): parses
 * it once and remembers the last text, so a run of diagnostics on one manifest parses it once.
 */
let lastText: { text: string; docs: DocumentPositions[] } | undefined;
export function locate(text: string, index: number, path: FieldPath, at: 'key' | 'value' = 'value'): Position {
  if (!text) return { line: 1, column: 1 };
  if (lastText?.text !== text) {
    const lineCounter = new LineCounter();
    const docs: DocumentPositions[] = [];
    try {
      for (const { doc, index } of composeDocuments(text, lineCounter, () => {})) docs[index] = positionsOf(doc, lineCounter);
    } catch {
      // no positions: line 1
    }
    lastText = { text, docs };
  }
  return lastText.docs[index]?.locate(path, at) ?? { line: 1, column: 1 };
}
