// Issue 16: the plain fast path (src/manifests/yaml-plain.ts) gives what the full parser gives.
// Every YAML file of the repository, the manifests the benches generate, generated documents
// full of the cases where YAML is subtle (YAML 1.1 scalars, keys that are not strings, comments,
// indentation, flow collections, quotes) and random edits of all of them are read both ways: the
// values, the diagnostics and the position index (and every field's position) must be the same.
// FUZZ_INPUTS=n and FUZZ_SEED=s change the run; a failure names the input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { listManifestFiles } from '../../src/manifests/files.ts';
import { parseYamlFile, readsAsPlain } from '../../src/manifests/yaml-source.ts';
import type { DocumentPositions, ParsedYaml } from '../../src/manifests/yaml-source.ts';
import { rng } from '../support/rng.ts';

const INPUTS = Number(process.env['FUZZ_INPUTS'] ?? 3000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261216);
const ROOT = join(import.meta.dirname, '..', '..');

const SCALARS = [
  'restore-1',
  'apps/v1',
  'StatefulSet',
  '/var/lib/data',
  'nginx:1.25',
  'http://x.y/z?a=b',
  's3.amazonaws.com',
  '30m',
  'a:b',
  'a,b',
  'x[0]',
  'x{y}',
  'a#b',
  "don't",
  'say "hi"',
  'a & b',
  'a * b',
  'a!b',
  'a|b',
  'a>b',
  'a%b',
  'a@b',
  'a`b',
  'a?b',
  'two words',
  '-foo',
  '-1',
  '+1',
  '0',
  '-0',
  '1',
  '012',
  '09',
  '0o17',
  '-0o17',
  '0x1F',
  '0b101',
  '1_000',
  '1.5',
  '.5',
  '1.',
  '1e3',
  '1.5e-3',
  '.inf',
  '-.Inf',
  '.nan',
  '1:20',
  '190:20:30',
  '2024-06-01',
  '2024-06-01T10:00:00Z',
  '12345678901234567890',
  'yes',
  'No',
  'on',
  'OFF',
  'y',
  'n',
  'Y',
  'true',
  'False',
  'null',
  'Null',
  '~',
  '"x"',
  "'x'",
  '""',
  "''",
  '"it\'s"',
  '\'say "hi"\'',
  "'it''s'",
  '"a\\nb"',
  '"a # b"',
  "'a: b'",
  '"yes"',
  "'1'",
  '!!str 1',
  '!!int "3"',
  '&a x',
  '*a',
  '|',
  '>',
  '@x',
  '`x',
  '%x',
  '?x',
  '? x',
  ': x',
  '-',
  '--',
  '---',
  'a: b',
  'a:',
  'a :b',
  'a #b',
  'é',
  '[a, b]',
  '[]',
  '{}',
  '[ ]',
  '{a: 1, b: [x, y]}',
  '[a,b]',
  '[a, b,]',
  '[ a , b ]',
  '{a: 1,}',
  '["x", \'y\']',
  '{a:1}',
  '{"a": 1}',
  '[a: 1]',
  '[[1, 2], [3]]',
  '{a: {b: c}}',
  '[a b, c]',
  '[-1, +2, .5]',
  '{a: b, a: c}',
  '[yes, on, ~]',
  '[a #c]',
  '[a, #c]',
  '{a: [b}',
  '[*a]',
  '{x: }',
  '{? a: b}',
];
const KEYS = [
  'name',
  'namespace',
  'spec',
  'app.kubernetes.io/name',
  'x-y',
  'a_b',
  '1',
  '012',
  '0o17',
  'yes',
  'on',
  'n',
  'true',
  'null',
  '~',
  '1.5',
  '.inf',
  '1:20',
  '2024-06-01',
  '__proto__',
  'a b',
  '"q"',
  "'q'",
  '<<',
  '-k',
  '?k',
  'k:',
  'name',
];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

// The scalars and keys the fast path reads on their own, so that whole documents of them are read by it too.
const PLAIN_SCALARS = SCALARS.filter((s) => readsAsPlain(`a: ${s}\n`));
const PLAIN_KEYS = KEYS.filter((k) => readsAsPlain(`${k}: a\n`));

/**
 * A random block document: mappings and sequences at random indentation, comments, blank lines,
 * trailing spaces. `plain`: only what the fast path reads alone, so that most such documents are
 * read by it (and edits of them probe its borders).
 */
function generate(r: () => number, plain: boolean): string {
  const SCALARS_ = plain ? PLAIN_SCALARS : SCALARS;
  const KEYS_ = plain ? PLAIN_KEYS : KEYS;
  const lines: string[] = [];
  const trail = () => (r() < 0.1 ? pick(r, plain ? [' ', '  ', ' # c', '  #c', ' #'] : [' ', '  ', ' # c', '  #c', '#c', ' #']) : '');
  const noise = (indent: number) => {
    if (r() < 0.08) lines.push(r() < 0.5 ? '' : ' '.repeat(Math.floor(r() * (indent + 3))) + pick(r, ['# c', '#', '#: x', '# - y']));
  };
  const block = (indent: number, depth: number, first?: string, mappingOnly = false) => {
    const asSeq = !mappingOnly && r() < 0.35;
    const used = new Set<string>();
    const n = 1 + Math.floor(r() * 4);
    const step = pick(r, [1, 2, 2, 2, 3, 4]);
    for (let i = 0; i < n; i++) {
      noise(indent);
      const lead = i === 0 && first !== undefined ? first : ' '.repeat(indent);
      const nested = depth < 4 && r() < 0.35;
      if (asSeq) {
        const dash = `-${' '.repeat(pick(r, [1, 1, 1, 2, 3]))}`;
        if (nested && r() < 0.7) block(indent + dash.length, depth + 1, lead + dash, plain);
        else if (nested && !plain) {
          lines.push(lead + '-' + trail());
          block(indent + step, depth + 1);
        } else lines.push(lead + dash + pick(r, SCALARS_) + trail());
      } else {
        let key = r() < 0.8 ? pick(r, KEYS_.slice(0, 6)) + (r() < 0.3 ? String(i) : '') : pick(r, KEYS_);
        if (plain && used.has(key)) key = `k${i}`;
        used.add(key);
        if (nested) {
          lines.push(`${lead + key}:${trail()}`);
          const same = r() < 0.3;
          if (same && r() < 0.8) {
            // a sequence at the key's own column
            const m = 1 + Math.floor(r() * 3);
            for (let j = 0; j < m; j++) lines.push(`${' '.repeat(indent)}- ${pick(r, SCALARS_)}${trail()}`);
          } else block(indent + step, depth + 1);
        } else if (!plain && r() < 0.03) lines.push(`${lead + key}:${trail()}`);
        else lines.push(`${lead + key}:${pick(r, plain ? [' ', ' ', '  '] : [' ', ' ', ' ', '  ', ''])}${pick(r, SCALARS_)}${trail()}`);
      }
    }
  };
  const docs = 1 + Math.floor(r() * 3);
  if (r() < 0.3) lines.push(pick(r, plain ? ['---', '# head'] : ['---', '# head', '--- # x', '%YAML 1.1\n---']));
  for (let d = 0; d < docs; d++) {
    if (d > 0) lines.push(plain ? '---' : pick(r, ['---', '---', '---', '--- ', '...\n---']));
    block(r() < 0.1 ? 2 : 0, 0);
  }
  if (!plain && r() < 0.1) lines.push('---');
  return lines.join('\n') + (r() < 0.9 ? '\n' : '');
}

const EDIT_CHARS = [' ', ' ', ':', '-', '#', "'", '"', '[', ']', '{', '}', ',', '\n', '&', '*', '!', '|', '>', '?', '%', '@', '\\', 'a', '1', '\t'];
function mutate(r: () => number, text: string): string {
  let t = text;
  const edits = 1 + Math.floor(r() * 3);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(r() * (t.length + 1));
    const k = r();
    if (k < 0.4) t = t.slice(0, at) + pick(r, EDIT_CHARS) + t.slice(at);
    else if (k < 0.7) t = t.slice(0, at) + t.slice(at + 1);
    else t = t.slice(0, at) + pick(r, EDIT_CHARS) + t.slice(at + 1);
  }
  return t;
}

/** Every path in a value (and one missing field under each mapping), for positions. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) paths(x, [...at, i], out);
    out.push([...at, v.length]);
  } else if (typeof v === 'object' && v !== null) {
    for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
    out.push([...at, 'missing', 'deeper']);
  }
  return out;
}

function index(p: DocumentPositions): unknown {
  const o = p as unknown as { enc: Int32Array; keys: string[]; root: number; rootAt: number; lines: { lineStarts: number[] } };
  return { enc: [...o.enc], keys: o.keys, root: o.root, rootAt: o.rootAt, lines: o.lines.lineStarts };
}

function same(name: string, text: string): boolean {
  const fast: ParsedYaml = parseYamlFile(name, text);
  const full: ParsedYaml = parseYamlFile(name, text, { fullParser: true });
  const show = `${name}: ${JSON.stringify(text)}`;
  assert.deepStrictEqual(fast.diagnostics, full.diagnostics, show);
  assert.equal(fast.documents.length, full.documents.length, show);
  fast.documents.forEach((d, i) => {
    const f = full.documents[i]!;
    assert.equal(d.index, f.index, show);
    assert.deepStrictEqual(d.value, f.value, show);
    assert.deepStrictEqual(JSON.stringify(d.value), JSON.stringify(f.value), `${show} (key order)`);
    assert.deepStrictEqual(index(d.positions), index(f.positions), show);
    for (const p of paths(d.value)) {
      for (const at of ['key', 'value'] as const) assert.deepStrictEqual(d.positions.locate(p, at), f.positions.locate(p, at), `${show} at ${p.join('.')}`);
    }
  });
  return readsAsPlain(text);
}

describe('the plain YAML fast path', () => {
  it('reads every YAML file of the repository as the full parser does, and most of them itself', async () => {
    const files = (await Promise.all(['examples', 'deploy', 'test', 'docs'].map((d) => listManifestFiles(join(ROOT, d))))).flat();
    assert.ok(files.length > 40, `${files.length} files`);
    let plain = 0;
    for (const f of files) if (same(f, readFileSync(f, 'utf8'))) plain++;
    assert.ok(plain > files.length / 3, `${plain} of ${files.length} files read by the fast path`);
  });

  it('reads the manifests the benches generate itself, with the same values and positions', () => {
    const session = readFileSync(join(ROOT, 'bench', 'plan.ts'), 'utf8');
    // The bench's templates, filled in: a session with rules and a Repository with a flow mapping.
    const texts = [...session.matchAll(/return `(apiVersion:[^`]*)`;/g)].map((m) => m[1]!.replace(/\$\{[^}]*\}/g, 'x1'));
    assert.equal(texts.length, 2);
    for (const t of texts) assert.ok(same('bench.yaml', t), t);
    assert.ok(same('two.yaml', texts.join('---\n')));
    // bench:plan's errors case: one file of a Repository and 1,000 sessions (0.7 MB).
    const many = [texts[1]!, ...Array.from({ length: 1000 }, (_, i) => texts[0]!.replace(/x1/g, `s${i}`))].join('---\n');
    assert.ok(many.length > 512 * 1024);
    assert.ok(same('many.yaml', many));
  });

  it('reads each odd scalar as the full parser does, as a value, an item, a key and inside flow collections', () => {
    const odd = [
      ...SCALARS,
      '{a b: c}',
      '{ a: b }',
      "{a: 'x', b: -1}",
      '[~, null, yes]',
      '{y: n}',
      'a]',
      'a}',
      'a[',
      'a ,b',
      '-.5',
      '+.5',
      '0.',
      '1_0',
      '0b',
      '0x',
      '1e',
      '=',
      '~x',
      '$x',
      '^x',
      '(x)',
      '+',
      '.',
      '..',
      '/',
      '0:0',
      '1:60',
      '12:30',
      'a=b',
      '[a=b]',
      '[a%b]',
      '[a@b]',
      '[(x)]',
      '[~x]',
      '{~: x}',
      '{null: x}',
      '{1: a}',
      '{0x1: a}',
      '[a  b]',
      '[ [ ] ]',
      '[{}, []]',
      '[{a: b}]',
      '{a: [b, {c: d}]}',
      '" x "',
      "' '",
      '"#"',
      "'#'",
      'a  # c',
      'x:y:z',
      'http://a:80/b',
      '"a":b',
      'a"b',
      '1.0',
      '1.50',
      '-0.0',
      '0o',
      '00',
      '0_1',
      '1__2',
      '12e',
      'e5',
      '.e5',
      '1.2.3',
      '190:20:30.15',
      'TRUE',
      'True',
      'tRue',
      'nULL',
      'Off',
      'oN',
      'Yes',
      'yES',
    ];
    let plain = 0;
    for (const v of odd)
      for (const t of [`a: ${v}\n`, `- ${v}\n`, `a:\n  - ${v}\n  - b: ${v}\n`, `${v}: a\n`, `a: [${v}]\n`, `a: {k: ${v}}\n`]) if (same('odd.yaml', t)) plain++;
    assert.ok(plain > odd.length * 2, `${plain} of ${odd.length * 6} read by the fast path`);
  });

  it('leaves what YAML limits by length to the full parser (an implicit key of more than 1024 characters)', () => {
    for (const n of [1000, 1023, 1024, 1025, 1100]) {
      const k = 'k'.repeat(n);
      for (const t of [`${k}: v\n`, `x:\n  ${k}: v\n`, `- ${k}: v\n`, `- a: b\n  ${k}: v\n`, `a: {${k}: v}\n`, `a: ${k}\n`, `a: [${k}]\n`])
        same(`key-${n}.yaml`, t);
    }
    assert.equal(parseYamlFile('f.yaml', `${'k'.repeat(1100)}: v\n`).diagnostics.length, 1);
  });

  it('agrees with the full parser on generated documents and on random edits of them and of the repository files', async () => {
    const r = rng(SEED);
    const files = (await Promise.all(['examples', 'test/manifests'].map((d) => listManifestFiles(join(ROOT, d))))).flat();
    const corpus = files.map((f) => readFileSync(f, 'utf8')).filter((t) => t.length < 20000);
    let plain = 0;
    for (let i = 0; i < INPUTS; i++) {
      const base = i % 4 === 3 ? pick(r, corpus) : generate(r, i % 4 !== 0);
      const text = i % 4 === 1 ? base : mutate(r, base);
      if (same(`input-${i}`, text)) plain++;
    }
    console.log(`      ${plain} of ${INPUTS} inputs read by the fast path (seed ${SEED})`);
    assert.ok(plain > INPUTS / 10, `${plain} of ${INPUTS} inputs read by the fast path`);
  });
});
