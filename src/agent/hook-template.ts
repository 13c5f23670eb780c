// Go templates in hooks, as Stash renders them (stashed/apimachinery pkg/hooks: text/template with
// sprig's functions, missingkey=default, the output trimmed) over Stash's hook summary. Our own
// interpreter of the subset hooks use: text and {{- -}} trimming, comments, fields (.Status.Phase),
// variables ($msg := …), string/number/bool literals, parenthesised pipelines and `|`, if/else
// if/else/end, and the functions below. Anything else (range, with, define, an unknown function)
// is an error that names it, never a silently wrong text. Pure.
import { RestoreError } from '../common/errors.ts';

export class HookTemplateError extends RestoreError<'HookTemplateInvalid', { at: number }> {
  constructor(message: string, at: number) {
    super('HookTemplateInvalid', message, { at });
  }
}

/** A struct of the summary: fields by their Go names; missing fields are errors, as in Go. */
export type TemplateStruct = { readonly [field: string]: TemplateValue };
export type TemplateValue = string | number | boolean | null | undefined | TemplateStruct | Map<string, TemplateValue> | TemplateValue[];

type Node =
  | { kind: 'text'; text: string }
  | { kind: 'action'; pipe: Pipeline; at: number }
  | { kind: 'if'; branches: { cond: Pipeline; body: Node[] }[]; otherwise: Node[] };

interface Pipeline {
  decl?: { name: string; assign: boolean };
  commands: Term[][];
  at: number;
}

type Term =
  | { t: 'field'; base: 'dot' | string; path: string[]; at: number }
  | { t: 'ident'; name: string; at: number }
  | { t: 'lit'; value: TemplateValue }
  | { t: 'paren'; pipe: Pipeline; path: string[] };

export const TEMPLATE_FUNCTIONS = [
  'and',
  'default',
  'dict',
  'eq',
  'ge',
  'gt',
  'le',
  'len',
  'lower',
  'lt',
  'ne',
  'not',
  'or',
  'print',
  'printf',
  'println',
  'quote',
  'toJson',
  'trim',
  'upper',
];
const UNSUPPORTED_KEYWORDS = ['range', 'with', 'define', 'template', 'block', 'break', 'continue'];

/** Renders `text` with `data` as `.`, then trims it (Stash does strings.TrimSpace). */
export function renderHookTemplate(text: string, data: TemplateValue): string {
  const nodes = parse(text);
  const vars = new Map<string, TemplateValue>([['$', data]]);
  return execute(nodes, data, vars).trim();
}

// ---- lexing and parsing ----

interface Action {
  body: string;
  at: number;
}

/** Splits the text into texts and actions, applying the `{{- ` and ` -}}` trim markers. */
function split(text: string): (string | Action)[] {
  const out: (string | Action)[] = [];
  let i = 0;
  let trimNext = false;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    let chunk = open === -1 ? text.slice(i) : text.slice(i, open);
    if (trimNext) chunk = chunk.replace(/^\s+/, '');
    if (open === -1) {
      if (chunk) out.push(chunk);
      break;
    }
    let start = open + 2;
    if (/^-\s/.test(text.slice(start, start + 2))) {
      chunk = chunk.replace(/\s+$/, '');
      start += 1;
    }
    if (chunk) out.push(chunk);
    const close = findClose(text, start);
    if (close === -1) throw new HookTemplateError(`unclosed action at offset ${open}: a {{ without its }}`, open);
    let end = close;
    trimNext = false;
    if (/\s-$/.test(text.slice(close - 2, close))) {
      end = close - 1;
      trimNext = true;
    }
    out.push({ body: text.slice(start, end).trim(), at: open });
    i = close + 2;
  }
  return out;
}

/** The `}}` closing an action that starts at `from`, skipping quoted strings. */
function findClose(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '`') {
      i = text.indexOf('`', i + 1);
      if (i === -1) return -1;
    } else if (c === '}' && text[i + 1] === '}') return i;
  }
  return -1;
}

function parse(text: string): Node[] {
  const parts = split(text);
  let pos = 0;
  const block = (inIf: boolean): { nodes: Node[]; end?: Action & { word: string; rest: string } } => {
    const nodes: Node[] = [];
    while (pos < parts.length) {
      const p = parts[pos++]!;
      if (typeof p === 'string') {
        nodes.push({ kind: 'text', text: p });
        continue;
      }
      if (p.body.startsWith('/*')) {
        if (!p.body.endsWith('*/')) throw new HookTemplateError(`unclosed comment at offset ${p.at}`, p.at);
        continue;
      }
      const word = /^[A-Za-z]+/.exec(p.body)?.[0] ?? '';
      const rest = p.body.slice(word.length).trim();
      if (UNSUPPORTED_KEYWORDS.includes(word))
        throw new HookTemplateError(
          `{{${word}}} at offset ${p.at} is not supported in hook templates (supported: fields, variables, if/else, functions ${TEMPLATE_FUNCTIONS.join(', ')})`,
          p.at,
        );
      if (word === 'end' || word === 'else') {
        if (!inIf) throw new HookTemplateError(`{{${word}}} at offset ${p.at} has no {{if}}`, p.at);
        return { nodes, end: { ...p, word, rest } };
      }
      if (word === 'if') {
        nodes.push(parseIf(rest, p.at));
        continue;
      }
      nodes.push({ kind: 'action', pipe: parsePipeline(p.body, p.at), at: p.at });
    }
    if (inIf) throw new HookTemplateError('an {{if}} has no {{end}}', text.length);
    return { nodes };
  };
  const parseIf = (cond: string, at: number): Node => {
    if (!cond) throw new HookTemplateError(`{{if}} at offset ${at} has no condition`, at);
    const branches: { cond: Pipeline; body: Node[] }[] = [];
    let current = parsePipeline(cond, at);
    for (;;) {
      const { nodes, end } = block(true);
      branches.push({ cond: current, body: nodes });
      if (end!.word === 'end') return { kind: 'if', branches, otherwise: [] };
      if (end!.rest.startsWith('if ')) {
        current = parsePipeline(end!.rest.slice(3), end!.at);
        continue;
      }
      if (end!.rest) throw new HookTemplateError(`{{else ${end!.rest}}} at offset ${end!.at} is not supported: use {{else}} or {{else if …}}`, end!.at);
      const tail = block(true);
      if (tail.end!.word !== 'end') throw new HookTemplateError(`a second {{else}} at offset ${tail.end!.at}`, tail.end!.at);
      return { kind: 'if', branches, otherwise: tail.nodes };
    }
  };
  return block(false).nodes;
}

function parsePipeline(src: string, at: number): Pipeline {
  const lex = new Lexer(src, at);
  const p = pipeline(lex);
  if (!lex.done()) throw lex.error(`unexpected "${lex.rest()}"`);
  return p;
}

class Lexer {
  i = 0;
  readonly src: string;
  readonly at: number;
  constructor(src: string, at: number) {
    this.src = src;
    this.at = at;
  }
  done(): boolean {
    this.skip();
    return this.i >= this.src.length;
  }
  rest(): string {
    return this.src.slice(this.i);
  }
  skip(): void {
    while (this.i < this.src.length && /\s/.test(this.src[this.i]!)) this.i++;
  }
  peek(): string {
    this.skip();
    return this.src[this.i] ?? '';
  }
  error(message: string): HookTemplateError {
    return new HookTemplateError(`hook template, action at offset ${this.at} ("{{${this.src}}}"): ${message}`, this.at);
  }
  match(re: RegExp): string | undefined {
    this.skip();
    const m = re.exec(this.src.slice(this.i));
    if (!m) return undefined;
    this.i += m[0].length;
    return m[0];
  }
}

function pipeline(lex: Lexer): Pipeline {
  const p: Pipeline = { commands: [], at: lex.at };
  const decl = lex.match(/^\$[A-Za-z0-9_]*\s*:?=(?!=)/);
  if (decl) {
    const assign = !decl.includes(':=');
    p.decl = { name: decl.replace(/\s*:?=$/, ''), assign };
  }
  for (;;) {
    const cmd: Term[] = [];
    while (!lex.done() && lex.peek() !== '|' && lex.peek() !== ')') cmd.push(term(lex));
    if (!cmd.length) throw lex.error('an empty command');
    p.commands.push(cmd);
    if (lex.peek() !== '|') break;
    lex.i++;
  }
  return p;
}

const FIELDS = /^(\.[A-Za-z_][A-Za-z0-9_]*)+/;

function term(lex: Lexer): Term {
  const c = lex.peek();
  const at = lex.at;
  if (c === '(') {
    lex.i++;
    const pipe = pipeline(lex);
    if (lex.peek() !== ')') throw lex.error('a ( without its )');
    lex.i++;
    const chain = lex.src.slice(lex.i).match(FIELDS)?.[0];
    if (chain) lex.i += chain.length;
    return { t: 'paren', pipe, path: chain ? chain.slice(1).split('.') : [] };
  }
  if (c === '"') {
    const s = lex.match(/^"(?:[^"\\]|\\.)*"/);
    if (!s) throw lex.error('an unterminated string');
    return { t: 'lit', value: JSON.parse(s.replace(/\\'/g, "'")) as string };
  }
  if (c === '`') {
    const s = lex.match(/^`[^`]*`/);
    if (!s) throw lex.error('an unterminated raw string');
    return { t: 'lit', value: s.slice(1, -1) };
  }
  const num = lex.match(/^-?[0-9]+(\.[0-9]+)?(?![A-Za-z0-9_.])/);
  if (num) return { t: 'lit', value: Number(num) };
  const fields = lex.match(FIELDS);
  if (fields) return { t: 'field', base: 'dot', path: fields.slice(1).split('.'), at };
  if (lex.match(/^\.(?![A-Za-z_])/)) return { t: 'field', base: 'dot', path: [], at };
  const variable = lex.match(/^\$[A-Za-z0-9_]*/);
  if (variable) {
    const chain = lex.src.slice(lex.i).match(FIELDS)?.[0];
    if (chain) lex.i += chain.length;
    return { t: 'field', base: variable, path: chain ? chain.slice(1).split('.') : [], at };
  }
  const ident = lex.match(/^[A-Za-z_][A-Za-z0-9_]*/);
  if (ident === 'true' || ident === 'false') return { t: 'lit', value: ident === 'true' };
  if (ident === 'nil') return { t: 'lit', value: null };
  if (ident) return { t: 'ident', name: ident, at };
  throw lex.error(`unexpected "${lex.rest()}"`);
}

// ---- execution ----

function execute(nodes: Node[], dot: TemplateValue, vars: Map<string, TemplateValue>): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'action') {
      const v = run(n.pipe, dot, vars);
      if (!n.pipe.decl) out += show(v);
    } else {
      const branch = n.branches.find((b) => truthy(run(b.cond, dot, vars)));
      out += execute(branch ? branch.body : n.otherwise, dot, vars);
    }
  }
  return out;
}

function run(p: Pipeline, dot: TemplateValue, vars: Map<string, TemplateValue>): TemplateValue {
  let value: TemplateValue;
  let piped = false;
  for (const cmd of p.commands) {
    value = command(cmd, dot, vars, piped ? [value] : [], p.at);
    piped = true;
  }
  if (p.decl) {
    if (p.decl.assign && !vars.has(p.decl.name)) throw new HookTemplateError(`hook template: ${p.decl.name} is assigned before it is declared (use :=)`, p.at);
    vars.set(p.decl.name, value);
  }
  return value;
}

function command(cmd: Term[], dot: TemplateValue, vars: Map<string, TemplateValue>, piped: TemplateValue[], at: number): TemplateValue {
  const [head, ...args] = cmd;
  if (head!.t === 'ident') {
    const fn = FUNCTIONS[head!.name];
    if (!fn)
      throw new HookTemplateError(
        `hook template: function "${head!.name}" at offset ${head!.at} is not supported (supported: ${TEMPLATE_FUNCTIONS.join(', ')})`,
        head!.at,
      );
    return fn([...args.map((a) => evaluate(a, dot, vars)), ...piped], at);
  }
  if (args.length || piped.length) throw new HookTemplateError(`hook template at offset ${at}: only a function can take arguments`, at);
  return evaluate(head!, dot, vars);
}

function evaluate(t: Term, dot: TemplateValue, vars: Map<string, TemplateValue>): TemplateValue {
  switch (t.t) {
    case 'lit':
      return t.value;
    case 'ident':
      return command([t], dot, vars, [], t.at);
    case 'paren':
      return walk(run(t.pipe, dot, vars), t.path, t.pipe.at);
    case 'field': {
      if (t.base === 'dot') return walk(dot, t.path, t.at);
      if (!vars.has(t.base)) throw new HookTemplateError(`hook template: variable ${t.base} is not defined`, t.at);
      return walk(vars.get(t.base), t.path, t.at);
    }
  }
}

function walk(v: TemplateValue, path: string[], at: number): TemplateValue {
  let cur = v;
  const seen: string[] = [];
  for (const f of path) {
    seen.push(f);
    if (cur instanceof Map) cur = cur.get(f);
    else if (cur && typeof cur === 'object' && !Array.isArray(cur)) {
      if (!(f in cur))
        throw new HookTemplateError(
          `hook template: .${seen.join('.')} does not exist (there are ${Object.keys(cur)
            .map((k) => `.${[...seen.slice(0, -1), k].join('.')}`)
            .join(', ')})`,
          at,
        );
      cur = cur[f];
    } else if (cur === undefined || cur === null) return undefined;
    else throw new HookTemplateError(`hook template: .${seen.join('.')}: ${JSON.stringify(cur)} has no fields`, at);
  }
  return cur;
}

function truthy(v: TemplateValue): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  return true;
}

/** As Go's fmt %v. */
function show(v: TemplateValue): string {
  if (v === undefined || v === null) return '<no value>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map(show).join(' ')}]`;
  if (v instanceof Map)
    return `map[${[...v.keys()]
      .sort()
      .map((k) => `${k}:${show(v.get(k))}`)
      .join(' ')}]`;
  return `{${Object.values(v).map(show).join(' ')}}`;
}

/** Go's json.Marshal: map keys sorted, struct fields by their JSON names, <, > and & escaped. */
function toJson(v: TemplateValue): string {
  const plain = (x: TemplateValue): unknown => {
    if (x === undefined) return null;
    if (x instanceof Map) return Object.fromEntries([...x.keys()].sort().map((k) => [k, plain(x.get(k))]));
    if (Array.isArray(x)) return x.map(plain);
    if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, y]) => [jsonName(k), plain(y)]));
    return x;
  };
  return JSON.stringify(plain(v))
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

function jsonName(goName: string): string {
  const m = /^[A-Z]+(?=[A-Z][a-z]|$)/.exec(goName);
  return m ? m[0].toLowerCase() + goName.slice(m[0].length) : goName[0]!.toLowerCase() + goName.slice(1);
}

const str = (v: TemplateValue): string => (typeof v === 'string' ? v : show(v));

/** Go's fmt verbs used in hooks: %s %v %d %q %t %%. */
function printf(args: TemplateValue[], at: number): string {
  const [format, ...rest] = args;
  if (typeof format !== 'string') throw new HookTemplateError('hook template: printf needs a format string first', at);
  let i = 0;
  return format.replace(/%([-+# 0-9.]*)([a-zA-Z%])/g, (whole, _flags: string, verb: string) => {
    if (verb === '%') return '%';
    if (i >= rest.length) return `%!${verb}(MISSING)`;
    const v = rest[i++];
    switch (verb) {
      case 's':
      case 'v':
        return show(v);
      case 'd':
        return typeof v === 'number' ? String(Math.trunc(v)) : `%!d(${show(v)})`;
      case 'q':
        return JSON.stringify(str(v));
      case 't':
        return typeof v === 'boolean' ? String(v) : `%!t(${show(v)})`;
      default:
        throw new HookTemplateError(`hook template: printf verb ${whole} is not supported (use %s, %v, %d, %q, %t)`, at);
    }
  });
}

const compare = (name: string, test: (c: number) => boolean) => (args: TemplateValue[], at: number) => {
  const [a, b] = args;
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string'))
    throw new HookTemplateError(`hook template: ${name} compares two numbers or two strings`, at);
  return test(a! < b! ? -1 : a! > b! ? 1 : 0);
};

const FUNCTIONS: Record<string, (args: TemplateValue[], at: number) => TemplateValue> = {
  eq: ([a, ...rest], at) => {
    if (!rest.length) throw new HookTemplateError('hook template: eq needs two arguments', at);
    return rest.some((b) => a === b);
  },
  ne: ([a, b]) => a !== b,
  lt: compare('lt', (c) => c < 0),
  le: compare('le', (c) => c <= 0),
  gt: compare('gt', (c) => c > 0),
  ge: compare('ge', (c) => c >= 0),
  not: ([a]) => !truthy(a),
  and: (args) => args.find((a) => !truthy(a)) ?? args.at(-1),
  or: (args) => args.find((a) => truthy(a)) ?? args.at(-1),
  len: ([a], at) => {
    if (typeof a === 'string' || Array.isArray(a)) return a.length;
    if (a instanceof Map) return a.size;
    throw new HookTemplateError('hook template: len needs a string, a list or a map', at);
  },
  print: (args) => args.map((a, i) => (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string' ? ' ' : '') + show(a)).join(''),
  println: (args) => `${args.map(show).join(' ')}\n`,
  printf,
  dict: (args, at) => {
    if (args.length % 2) throw new HookTemplateError('hook template: dict needs key/value pairs', at);
    const m = new Map<string, TemplateValue>();
    for (let i = 0; i < args.length; i += 2) m.set(str(args[i]), args[i + 1]);
    return m;
  },
  toJson: ([a]) => toJson(a),
  quote: (args) => args.map((a) => JSON.stringify(str(a))).join(' '),
  upper: ([a]) => str(a).toUpperCase(),
  lower: ([a]) => str(a).toLowerCase(),
  trim: ([a]) => str(a).trim(),
  default: ([fallback, given]) => (truthy(given) ? given : fallback),
};
