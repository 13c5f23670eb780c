// Issue 17: a property test of the loader over generated YAML. Random structures, anchors and
// aliases (defined, undefined, recursive, multiplying), tags, odd scalars, encodings and byte
// order marks, deep nesting, truncation and stray bytes; each input goes through what the daemon
// and `restorectl plan` do with a file (decode, load, validate, plan, format the diagnostics).
//
// Asserted for every input: no throw escapes; every document that is not empty ends in an object
// or a diagnostic; every object is a plain tree (nothing shared, nothing cyclic) of at most
// YAML_LIMITS.expandedBytes nodes. Timings and heap are printed, not asserted.
// FUZZ_INPUTS=n and FUZZ_SEED=s change the run; a failure prints the seed and the input.
import assert from 'node:assert/strict';
import { ClusterState, formatDiagnostic, loadObjects, validateSource } from '../../src/manifests/index.ts';
import { decodeManifest } from '../../src/manifests/files.ts';
import { YAML_LIMITS, parseYamlFile } from '../../src/manifests/yaml-source.ts';
import { planRestores } from '../../src/plan/index.ts';
import { rng } from '../support/rng.ts';

const INPUTS = Number(process.env['FUZZ_INPUTS'] ?? 1500);
const SEED = Number(process.env['FUZZ_SEED'] ?? 20261201);

const ODD_SCALARS = [
  'yes',
  'no',
  'on',
  'off',
  'y',
  'n',
  '~',
  'null',
  'NULL',
  '',
  '""',
  "''",
  '0o17',
  '012',
  '09',
  '1_000',
  '0x1F',
  '0b101',
  '1e3',
  '.5',
  '.inf',
  '-.inf',
  '.nan',
  '2024-06-01',
  '2001-12-14t21:59:43.10-05:00',
  '1:20',
  '190:20:30',
  '12345678901234567890',
  '-0',
  '"quoted \\u0000 \\x07 \\t"',
  "'single ''quote'''",
  '"✓ ünïcödé 🎉"',
  '<<',
  '__proto__',
  'constructor',
  'toString',
  '*.txt',
  '"*.txt"',
  'a*b',
  'x: y',
  '- item',
  '#not a comment',
  '"#hash"',
  '{',
  '[',
  ']',
  '}',
  ':',
  '?',
  '|',
  '>',
  '@x',
  '`x`',
  '%percent',
  '!',
  '&',
  '"\\"',
  'true',
  'False',
  'tmp.json',
  '/var/lib/data',
  'host-1',
  'RestoreSession',
  '5m',
  'soon',
];
const TAGS = [
  '!!str ',
  '!!int ',
  '!!float ',
  '!!bool ',
  '!!null ',
  '!!binary ',
  '!!timestamp ',
  '!!map ',
  '!!seq ',
  '!custom ',
  '!<tag:example.com,2024:x> ',
  '!!set ',
  '!!omap ',
  '!!pairs ',
];
const WORDS = [
  'apiVersion',
  'kind',
  'metadata',
  'name',
  'namespace',
  'spec',
  'target',
  'rules',
  'targetHosts',
  'paths',
  'include',
  'exclude',
  'runtimeSettings',
  'pod',
  'affinity',
  'items',
  'status',
  'a',
  'b',
  'key with space',
  '"quoted key"',
  '? complex',
];

class Generator {
  private anchors: string[] = [];
  private open: string[] = [];
  private n = 0;
  readonly r: () => number;
  constructor(r: () => number) {
    this.r = r;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.r() < p;
  }

  scalar(): string {
    const r = this.r();
    if (r < 0.55) return this.pick(ODD_SCALARS);
    if (r < 0.75) return this.pick(WORDS).replace(/^\? /, '');
    if (r < 0.85) return String(Math.floor(this.r() * 1e6) - 5e5);
    if (r < 0.9) return `"${'x'.repeat(Math.floor(this.r() * 3000))}"`;
    return Array.from({ length: 1 + Math.floor(this.r() * 12) }, () => String.fromCharCode(32 + Math.floor(this.r() * 95))).join('');
  }

  /** An anchor and/or tag in front of a node, sometimes. */
  private props(): { prefix: string; anchor?: string } {
    let prefix = '';
    let anchor: string | undefined;
    if (this.chance(0.12)) {
      anchor = `a${this.n++}`;
      prefix += `&${anchor} `;
    }
    if (this.chance(0.08)) prefix += this.pick(TAGS);
    return { prefix, anchor };
  }

  private alias(): string {
    const r = this.r();
    if (r < 0.15) return `*undefined${this.n}`;
    if (r < 0.3 && this.open.length) return `*${this.pick(this.open)}`; // recursive: an ancestor's anchor
    if (this.anchors.length) return `*${this.pick(this.anchors)}`;
    return '*.txt';
  }

  /** A flow node (one line). */
  flow(depth: number): string {
    if (this.chance(0.1)) return this.alias();
    const { prefix, anchor } = this.props();
    if (anchor) this.open.push(anchor);
    let body: string;
    const r = this.r();
    if (depth <= 0 || r < 0.4) body = this.scalar();
    else if (r < 0.7) body = `[${Array.from({ length: Math.floor(this.r() * 4) }, () => this.flow(depth - 1)).join(', ')}]`;
    else body = `{${Array.from({ length: Math.floor(this.r() * 4) }, () => `${this.key()}: ${this.flow(depth - 1)}`).join(', ')}}`;
    if (anchor) {
      this.open.pop();
      this.anchors.push(anchor);
    }
    return prefix + body;
  }

  key(): string {
    if (this.chance(0.05)) return this.alias();
    if (this.chance(0.03)) return '<<';
    return this.chance(0.8) ? this.pick(WORDS).replace(/^\? /, '') : this.scalar().replace(/^[-?:,[\]{}#&*!|>'"%@`]/, 'k');
  }

  /** A block node at an indentation. */
  block(depth: number, indent: number): string {
    const pad = ' '.repeat(indent);
    if (depth <= 0 || this.chance(0.3)) return ` ${this.flow(Math.min(depth, 2))}\n`;
    const { prefix, anchor } = this.props();
    if (anchor) this.open.push(anchor);
    let out = prefix ? ` ${prefix.trim()}\n` : '\n';
    const items = 1 + Math.floor(this.r() * 4);
    const seq = this.chance(0.4);
    for (let i = 0; i < items; i++) out += seq ? `${pad}-${this.block(depth - 1, indent + 2)}` : `${pad}${this.key()}:${this.block(depth - 1, indent + 2)}`;
    if (anchor) {
      this.open.pop();
      this.anchors.push(anchor);
    }
    return out;
  }

  /** A RestoreSession or Repository with one random subtree, so inputs reach the checks and the planner. */
  manifest(): string {
    const slot = () => (this.chance(0.5) ? this.block(3, 6) : ` ${this.flow(3)}\n`);
    if (this.chance(0.3)) {
      return `apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata:\n  name: ${this.chance(0.8) ? 'repo' : this.scalar()}\n  namespace: demo\nspec:\n  backend:\n    s3: {endpoint: s3.amazonaws.com, bucket: b}\n    storageSecretName:${slot()}`;
    }
    return `apiVersion: stash.appscode.com/v1beta1
kind: ${this.chance(0.9) ? 'RestoreSession' : this.scalar()}
metadata:
  name: ${this.chance(0.8) ? `s${this.n++}` : this.scalar()}
  namespace: demo
spec:
  repository:
    name: repo
  target:
    ref: {apiVersion: apps/v1, kind: ${this.pick(['StatefulSet', 'Deployment', 'DaemonSet', 'PersistentVolumeClaim'])}, name: ${this.pick(['db', 'web', 'other'])}}
    volumeMounts:
      - name: data
        mountPath: /data
    rules:
      - targetHosts: [${this.chance(0.5) ? 'db-0' : this.flow(2)}]
        paths: [/data]
        exclude:${slot()}  runtimeSettings:
    pod:
      affinity:${slot()}  timeOut: ${this.chance(0.7) ? '5m' : this.scalar()}
`;
  }

  /** Billion laughs, of a random width and depth. */
  bomb(): string {
    const width = 2 + Math.floor(this.r() * 9);
    const levels = 2 + Math.floor(this.r() * 10);
    const lines = [`l0: &l0 [${Array(width).fill('"lol"').join(',')}]`];
    for (let i = 1; i < levels; i++)
      lines.push(
        `l${i}: &l${i} [${Array(width)
          .fill(`*l${i - 1}`)
          .join(',')}]`,
      );
    return `apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata: {name: bomb, namespace: demo}\nspec:\n  runtimeSettings:\n    pod:\n      affinity:\n${lines.map((l) => `        ${l}\n`).join('')}`;
  }

  deep(): string {
    const d = 100 + Math.floor(this.r() * 3000);
    return this.chance(0.5) ? `x: ${'['.repeat(d)}1${']'.repeat(d)}\n` : `x: ${'{a: '.repeat(d)}1${'}'.repeat(d)}\n`;
  }

  document(): string {
    this.anchors = [];
    this.open = [];
    const r = this.r();
    if (r < 0.5) return this.manifest();
    if (r < 0.6) return this.bomb();
    if (r < 0.65) return this.deep();
    if (r < 0.85) return `${this.key()}:${this.block(4, 2)}`;
    return `${this.flow(4)}\n`;
  }

  file(): string {
    const docs = Array.from({ length: 1 + Math.floor(this.r() * 3) }, () => this.document());
    let text = (this.chance(0.1) ? '%YAML 1.1\n---\n' : '') + docs.join(this.chance(0.8) ? '---\n' : '...\n---\n');
    // Mangling: cut it short, stray characters, tabs in the indentation, a line repeated.
    if (this.chance(0.1)) text = text.slice(0, Math.floor(this.r() * text.length));
    if (this.chance(0.1)) {
      const at = Math.floor(this.r() * text.length);
      text = text.slice(0, at) + this.pick(['\t', '\0', '\r', '"', "'", '{', ']', '&', '*', '!', '\u2028', '\ufeff', '\x1b[31m']) + text.slice(at);
    }
    if (this.chance(0.05)) text = text.replace(/^ {2}/gm, '\t');
    if (this.chance(0.05)) {
      const lines = text.split('\n');
      const i = Math.floor(this.r() * lines.length);
      lines.splice(i, 0, lines[i]!);
      text = lines.join('\n');
    }
    return text;
  }

  /** The file's bytes: UTF-8 (sometimes with a BOM), UTF-16 with a BOM, or UTF-8 with invalid bytes. */
  bytes(text: string): Buffer {
    const r = this.r();
    if (r < 0.05) return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    if (r < 0.08) return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    if (r < 0.1) return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
    if (r < 0.13) {
      const b = Buffer.from(text);
      const at = Math.floor(this.r() * b.length);
      return Buffer.concat([b.subarray(0, at), Buffer.from([this.pick([0xff, 0xc0, 0xed, 0x80, 0xf5])]), b.subarray(at)]);
    }
    return Buffer.from(text);
  }
}

/** Nodes of a value, failing if anything is reached twice (shared or cyclic). */
function treeSize(v: unknown, seen: Set<object>): number {
  if (typeof v !== 'object' || v === null) return 1;
  assert.ok(!seen.has(v), 'a value is shared or cyclic');
  seen.add(v);
  let n = 1;
  for (const x of Object.values(v)) n += treeSize(x, seen);
  return n;
}

const blank = (text: string) =>
  text
    .replace(/^\ufeff/, '')
    .replace(/#.*$/gm, '')
    .replace(/^%.*$/gm, '')
    .trim() === '';

describe('loading: a property test over generated YAML (issue 17)', () => {
  it(`ends every one of ${INPUTS} generated inputs in diagnostics or plain objects, never a throw, within the expansion budget`, function () {
    this.timeout(600_000);
    const g = new Generator(rng(SEED));
    const cluster = new ClusterState([
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'demo' }, spec: { replicas: 3 } },
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'demo' }, spec: { replicas: 1 } },
    ] as never);
    const tally = { undecodable: 0, objects: 0, diagnostics: 0, aliasRefused: 0, budgetRefused: 0, tooDeep: 0, maxNodes: 0, maxBytes: 0 };
    let slowest = { ms: 0, input: -1 };
    let heapMax = 0;
    const t0 = performance.now();
    for (let i = 0; i < INPUTS; i++) {
      const text = g.file();
      const bytes = g.bytes(text);
      const started = performance.now();
      try {
        tally.maxBytes = Math.max(tally.maxBytes, bytes.length);
        const decoded = decodeManifest(`fuzz-${i}.yaml`, bytes);
        if (!('text' in decoded)) {
          tally.undecodable++;
          assert.match(formatDiagnostic(decoded), /^fuzz-\d+\.yaml:\d+:\d+: error: not valid UTF-8 at byte \d+/);
          continue;
        }
        const parsed = parseYamlFile(decoded.path, decoded.text);
        const loaded = loadObjects([decoded]);
        const desired = validateSource([decoded], cluster);
        const plan = planRestores({ desired, cluster });
        for (const d of plan.diagnostics) assert.equal(formatDiagnostic(d).split(/[\n\r\u2028\u2029]/).length, 1);
        JSON.stringify(plan);

        // Every document that is not empty ends in an object or a diagnostic.
        if (!blank(decoded.text)) assert.ok(parsed.documents.length > 0 || parsed.diagnostics.some((d) => d.severity === 'error'), 'a document vanished');
        const withoutObject = parsed.documents.filter((d) => d.value !== null && d.value !== undefined && !loaded.manifests.some((m) => m.doc === d.index));
        assert.ok(loaded.diagnostics.filter((d) => d.severity === 'error').length >= withoutObject.length, 'a document that is not an object was not reported');

        // Plain finite trees, within the budget.
        const seen = new Set<object>();
        for (const d of parsed.documents) {
          const nodes = treeSize(d.value, seen);
          assert.ok(nodes <= YAML_LIMITS.expandedBytes, `${nodes} nodes`);
          tally.maxNodes = Math.max(tally.maxNodes, nodes);
        }
        tally.objects += loaded.manifests.length;
        tally.diagnostics += desired.diagnostics.length;
        for (const d of parsed.diagnostics) {
          if (/refers to no anchor|is inside the node its anchor/.test(d.message)) tally.aliasRefused++;
          if (/expands to more than/.test(d.message)) tally.budgetRefused++;
          if (/nested (too deeply|more than)/.test(d.message)) tally.tooDeep++;
        }
      } catch (e) {
        assert.fail(`input ${i} (FUZZ_SEED=${SEED}) threw ${(e as Error).stack}\n--- input ---\n${text.slice(0, 4000)}`);
      }
      const ms = performance.now() - started;
      if (ms > slowest.ms) slowest = { ms, input: i };
      if (i % 100 === 0) heapMax = Math.max(heapMax, process.memoryUsage().heapUsed);
    }
    const total = performance.now() - t0;
    console.log(
      `      (${INPUTS} inputs, seed ${SEED}: ${total.toFixed(0)} ms, slowest input #${slowest.input} ${slowest.ms.toFixed(0)} ms, heap ≤ ${(heapMax / 1048576).toFixed(0)} MiB sampled;`,
    );
    console.log(
      `       ${tally.objects} objects, ${tally.diagnostics} diagnostics, ${tally.undecodable} undecodable files, ${tally.aliasRefused} bad aliases, ${tally.budgetRefused} over the expansion budget, ${tally.tooDeep} too deep; largest value ${tally.maxNodes} nodes, largest file ${tally.maxBytes} bytes)`,
    );
    // The generator reaches what it is meant to reach.
    assert.ok(tally.objects > 0 && tally.aliasRefused > 0 && tally.budgetRefused > 0 && tally.tooDeep > 0 && tally.undecodable > 0, JSON.stringify(tally));
  });
});
