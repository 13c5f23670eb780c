// Issue 17 (items 1–3, 7) and issue 16: one bad file never stops the others, and whatever a file
// holds, loading it ends in diagnostics or plain objects, never in a throw or an exhausted heap.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterState, formatDiagnostic, loadObjects, readManifestPaths, validateSource } from '../../src/manifests/index.ts';
import type { Diagnostic, SourceFile } from '../../src/manifests/index.ts';
import { planRestores } from '../../src/plan/index.ts';
import { restorectl } from '../support/cli.ts';

const REPOSITORY = `apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata:
  name: repo
  namespace: demo
spec:
  backend:
    s3: {endpoint: s3.amazonaws.com, bucket: backups}
    storageSecretName: s3-secret
`;

function session(name: string, extra = '', rule = '      - paths: [/data]\n'): string {
  return `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata:
  name: ${name}
  namespace: demo
spec:
  repository:
    name: repo
  target:
    ref:
      apiVersion: apps/v1
      kind: Deployment
      name: web
    volumeMounts:
      - name: data
        mountPath: /data
    rules:
${rule}${extra}`;
}

const GOOD: SourceFile = { path: 'good.yaml', text: REPOSITORY + '---\n' + session('good') };
const show = (ds: Diagnostic[]) => ds.map(formatDiagnostic).join('\n');

function lineOf(text: string, needle: string): { line: number; column: number } {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, needle);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

/** Loads, validates and plans, as `restorectl plan` does: what the daemon and CI would survive. */
function validateAndPlan(files: SourceFile[]) {
  const desired = validateSource(files, undefined);
  const plan = planRestores({ desired, cluster: new ClusterState([]) });
  return { desired, plan };
}

/** Every object and array reachable from `v` is reached once: a tree, nothing shared or cyclic. */
function assertPlainTree(v: unknown, seen = new Set<object>()): number {
  if (typeof v !== 'object' || v === null) return 1;
  assert.ok(!seen.has(v), 'a value is shared or cyclic');
  seen.add(v);
  let n = 1;
  for (const x of Object.values(v)) n += assertPlainTree(x, seen);
  return n;
}

describe('loading hostile input: one bad file never stops the others', () => {
  it('reports an alias to no anchor (an unquoted glob) at its position, says to quote it, and still loads the other files', () => {
    const text = session('globs', '', '      - paths: [/data]\n        exclude: [*.txt]\n');
    const bad: SourceFile = { path: 'globs.yaml', text };
    const { desired, plan } = validateAndPlan([bad, GOOD]);
    const d = desired.diagnostics.find((x) => x.file === 'globs.yaml');
    assert.ok(d, show(desired.diagnostics));
    assert.equal(d.severity, 'error');
    assert.deepEqual({ line: d.line, column: d.column }, lineOf(text, '*.txt'));
    assert.match(d.message, /alias \*\.txt refers to no anchor: quote the value \('\*\.txt'\)/);
    assert.deepEqual(
      desired.sessions.map((m) => m.object.metadata.name),
      ['good'],
    );
    assert.ok(plan.actions.some((a) => a.name === 'good'));
  });

  it('restorectl validate names the file with the alias to no anchor and exits 1, not 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostile-'));
    try {
      writeFileSync(join(dir, 'globs.yaml'), session('globs', '', '      - paths: [/data]\n        exclude: [*.txt]\n'));
      writeFileSync(join(dir, 'good.yaml'), GOOD.text);
      const r = await restorectl(['validate', dir]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /globs\.yaml:\d+:\d+: error: YAML: alias \*\.txt refers to no anchor/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports a self-referencing anchor in an opaque field instead of overflowing the stack in plan', () => {
    const text = session('loop', '  runtimeSettings:\n    pod:\n      affinity: &loop\n        nodeAffinity: [*loop]\n');
    const { desired, plan } = validateAndPlan([{ path: 'loop.yaml', text }, GOOD]);
    const d = desired.diagnostics.find((x) => x.file === 'loop.yaml');
    assert.ok(d, show(desired.diagnostics));
    assert.equal(d.severity, 'error');
    assert.match(d.message, /alias \*loop is inside the node its anchor &loop names/);
    assert.deepEqual({ line: d.line, column: d.column }, lineOf(text, '*loop'));
    assert.ok(plan.actions.some((a) => a.name === 'good'));
  });

  it('refuses a 790-byte alias bomb in runtimeSettings.pod.affinity at parse time, within the expansion budget', () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const p = String.fromCharCode(97 + i - 1);
      levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${p}`).join(',')}]`);
    }
    const bomb = `  runtimeSettings:\n    pod:\n      affinity:\n${levels.map((l) => `        ${l}\n`).join('')}`;
    const text = session('bomb', bomb);
    assert.ok(text.length - session('bomb').length < 800, `the bomb is ${text.length - session('bomb').length} bytes`);
    const before = process.memoryUsage().heapUsed;
    const { desired, plan } = validateAndPlan([{ path: 'bomb.yaml', text }, GOOD]);
    const grew = (process.memoryUsage().heapUsed - before) / 1048576;
    console.log(`      (heap grew ${grew.toFixed(0)} MiB while refusing the bomb)`);
    const d = desired.diagnostics.find((x) => x.file === 'bomb.yaml');
    assert.ok(d, show(desired.diagnostics));
    assert.equal(d.severity, 'error');
    assert.match(d.message, /expands to more than 3\.0 MiB/);
    assert.ok(!desired.sessions.some((m) => m.object.metadata.name === 'bomb'));
    assert.ok(plan.actions.some((a) => a.name === 'good'));
  });

  it('expands aliases into copies: a loaded value is a plain tree, nothing shared', () => {
    const text = session('shared', '  runtimeSettings:\n    pod:\n      affinity: &aff {nodeAffinity: {x: [1, 2]}}\n      tolerations: [*aff, *aff]\n');
    const loaded = loadObjects([{ path: 'shared.yaml', text }]);
    assert.deepEqual(loaded.diagnostics, []);
    const pod = (loaded.manifests[0]!.object as unknown as { spec: { runtimeSettings: { pod: Record<string, unknown> } } }).spec.runtimeSettings.pod;
    assert.deepEqual(pod['tolerations'], [{ nodeAffinity: { x: [1, 2] } }, { nodeAffinity: { x: [1, 2] } }]);
    assertPlainTree(loaded.manifests[0]!.object);
  });

  it('reports a document nested too deeply, and keeps the other documents of the file', () => {
    const deep = `${'['.repeat(300)}1${']'.repeat(300)}`;
    const text = `${session('deep', `  runtimeSettings:\n    pod:\n      affinity: ${deep}\n`)}---\n${session('beside')}`;
    const loaded = loadObjects([{ path: 'deep.yaml', text }]);
    assert.equal(loaded.diagnostics.length, 1, show(loaded.diagnostics));
    assert.match(loaded.diagnostics[0]!.message, /nested more than 256 levels deep/);
    assert.deepEqual(
      loaded.manifests.map((m) => m.object.metadata.name),
      ['beside'],
    );
  });

  it('refuses 50,000 levels of nesting before the parser recurses into them (V8 aborts the process when a stack runs out inside a regular expression)', () => {
    const text = `x: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n---\n${'- '.repeat(2_000)}x\n---\n${session('beside')}`;
    const loaded = loadObjects([{ path: 'deeper.yaml', text }]);
    assert.deepEqual(
      loaded.diagnostics.map((d) => [d.line, d.message]),
      [
        [1, 'YAML: nested more than 256 levels deep: flatten it'],
        [3, 'YAML: nested more than 256 levels deep: flatten it'],
      ],
    );
    assert.deepEqual(
      loaded.manifests.map((m) => [m.doc, m.object.metadata.name]),
      [[2, 'beside']],
    );
  });

  it('locates every diagnostic of a 1,000-document file from its one parse (linear, not one parse per diagnostic)', () => {
    const docs = Array.from({ length: 1000 }, (_, i) => session(`s-${i}`, '  timeOut: soon\n'));
    const text = REPOSITORY + docs.map((d) => `---\n${d}`).join('');
    const t0 = performance.now();
    const loaded = loadObjects([{ path: 'many.yaml', text }]);
    assert.ok(
      loaded.manifests.every((m) => m.positions),
      'each manifest carries the positions of its parse',
    );
    const desired = validateSource([{ path: 'many.yaml', text }], undefined);
    const ms = performance.now() - t0;
    console.log(`      (1,000 documents with an error each: ${ms.toFixed(0)} ms)`);
    const errors = desired.diagnostics.filter((d) => /"soon" does not match a duration/.test(d.message));
    assert.equal(errors.length, 1000);
    const lines = text.split('\n');
    for (const d of errors) assert.match(lines[d.line - 1]!.slice(d.column - 1), /^soon/);
  });
});

describe('loading: types, encodings, symlinks and file names (issue 17 item 7)', () => {
  it('says kind must be a string when it is a number, not that it is missing', () => {
    const text = 'apiVersion: v1\nkind: 42\nmetadata:\n  name: x\n';
    const d = loadObjects([{ path: 'k.yaml', text }]).diagnostics;
    assert.equal(d.length, 1, show(d));
    assert.match(d[0]!.message, /^kind must be a string, not the number 42/);
    assert.deepEqual({ line: d[0]!.line, column: d[0]!.column }, lineOf(text, '42'));
  });

  it('says metadata.name must be a string when it is a number, not that there is none', () => {
    const text = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: 12345\n';
    const d = loadObjects([{ path: 'n.yaml', text }]).diagnostics;
    assert.equal(d.length, 1, show(d));
    assert.match(d[0]!.message, /^ConfigMap metadata\.name must be a string, not the number 12345: quote it \("12345"\)/);
  });

  describe('in folder mode', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'loader-files-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('reports invalid UTF-8 with the file, line and byte offset instead of replacing it silently', async () => {
      const before = Buffer.from(REPOSITORY.replace('bucket: backups', 'bucket: back'));
      const at = before.indexOf('back}') + 4;
      const bytes = Buffer.concat([before.subarray(0, at), Buffer.from([0xff, 0xfe]), before.subarray(at)]);
      writeFileSync(join(dir, 'latin.yaml'), bytes);
      writeFileSync(join(dir, 'good.yaml'), GOOD.text);
      const read = await readManifestPaths([dir], { relativeTo: dir });
      assert.deepEqual(
        read.files.map((f) => f.path),
        ['good.yaml'],
      );
      assert.equal(read.diagnostics.length, 1);
      const d = read.diagnostics[0]!;
      assert.equal(d.file, 'latin.yaml');
      assert.equal(d.severity, 'error');
      const back = lineOf(before.toString(), 'back}');
      assert.deepEqual({ line: d.line, column: d.column }, { line: back.line, column: back.column + 4 });
      assert.match(d.message, new RegExp(`not valid UTF-8 at byte ${at} \\(0xff\\)`));
    });

    it('reads UTF-16 with a byte order mark, as kubectl does, and drops a UTF-8 BOM', async () => {
      writeFileSync(join(dir, 'utf16.yaml'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(REPOSITORY, 'utf16le')]));
      writeFileSync(join(dir, 'bom.yaml'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(session('bom'))]));
      const read = await readManifestPaths([dir], { relativeTo: dir });
      assert.deepEqual(read.diagnostics, []);
      const desired = validateSource(read.files, undefined);
      assert.deepEqual(
        desired.diagnostics.filter((x) => x.severity === 'error'),
        [],
      );
      assert.equal(desired.repositories.length, 1);
      assert.equal(desired.sessions.length, 1);
    });

    it('reads a symlinked manifest instead of skipping it, and reports a dangling one', async () => {
      mkdirSync(join(dir, 'real'));
      writeFileSync(join(dir, 'real', 'repository.txt'), REPOSITORY);
      mkdirSync(join(dir, 'manifests'));
      symlinkSync(join(dir, 'real', 'repository.txt'), join(dir, 'manifests', 'repository.yaml'));
      symlinkSync(join(dir, 'nowhere.yaml'), join(dir, 'manifests', 'dangling.yaml'));
      const read = await readManifestPaths([join(dir, 'manifests')], { relativeTo: dir });
      assert.deepEqual(
        read.files.map((f) => f.path),
        [join('manifests', 'repository.yaml')],
      );
      assert.equal(read.files[0]!.text, REPOSITORY);
      assert.equal(read.diagnostics.length, 1, show(read.diagnostics));
      assert.equal(read.diagnostics[0]!.file, join('manifests', 'dangling.yaml'));
      assert.match(read.diagnostics[0]!.message, /symbolic link to .*nowhere\.yaml, which does not exist/);
    });
  });

  it('keeps a diagnostic on one line whatever the file name holds', () => {
    const line = formatDiagnostic({
      file: 'evil\nx.yaml:1:1: error: forged\r\t\u001b[31m',
      line: 2,
      column: 3,
      path: 'spec',
      severity: 'warning',
      message: 'two\nlines',
    });
    assert.equal(line.split(/[\n\r]/).length, 1, line);
    assert.equal(line, 'evil\\nx.yaml:1:1: error: forged\\r\\t\\x1b[31m:2:3: warning: two\\nlines (spec)');
  });
});

describe('loading: one YAML schema, as kubectl reads it (issue 18 item 7)', () => {
  const annotated = (name: string) =>
    session(name).replace('  namespace: demo\n', '  namespace: demo\n  annotations:\n    restore.gitops/rerun: 2024-06-01\n    count: 1_000\n');

  it('reads an unquoted date and 1_000 the same in every file, whether or not another document of the file is broken', () => {
    const clean: SourceFile = { path: 'clean.yaml', text: annotated('clean') };
    const broken: SourceFile = { path: 'broken.yaml', text: `${annotated('beside-broken')}---\nkind: [unclosed\n` };
    const loaded = loadObjects([clean, broken]);
    assert.equal(loaded.manifests.length, 2, show(loaded.diagnostics));
    for (const m of loaded.manifests) {
      assert.deepEqual(m.object.metadata.annotations, { 'restore.gitops/rerun': '2024-06-01', count: 1000 }, m.file);
    }
  });
});
