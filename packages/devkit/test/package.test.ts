// The dev kit as a package: it ships every file the demo reads (so the demo never reads the
// repository around it), and the demo's manifests are the examples users read in examples/.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DEMO_FILES, DEMO_MANIFESTS } from '../src/demo/demo.ts';

const run = promisify(execFile);
const PACKAGE = fileURLToPath(new URL('../', import.meta.url));
const REPO_ROOT = join(PACKAGE, '..', '..');

function walk(path: string): string[] {
  return statSync(path).isDirectory() ? readdirSync(path).flatMap((e) => walk(join(path, e))) : [path];
}

/** Every file under DEMO_MANIFESTS the demo reads, relative to the package. */
const demoFiles = () =>
  DEMO_FILES.flatMap((f) => walk(join(DEMO_MANIFESTS, f)))
    .map((f) => relative(PACKAGE, f))
    .sort();

describe('the dev kit package', function () {
  this.timeout(60_000);

  it('npm pack lists every file the demo reads, and its program', async () => {
    const packed = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE });
    const files = new Set((JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
    const read = demoFiles();
    assert.ok(read.length >= 9, read.join(', '));
    assert.deepEqual(
      read.filter((f) => !files.has(f)),
      [],
      'read by the demo but not packed',
    );
    for (const f of ['bin/restorectl-demo.js', 'bin/restorectl-sandbox.js', 'bin/register.js', 'src/demo/demo.ts', 'src/sandbox/sandbox.ts'])
      assert.ok(files.has(f), `${f} is packed`);
    assert.ok(![...files].some((f) => f.startsWith('test/')), 'no tests');
  });

  it('the demo reads nothing outside the package: its manifests live in demo/', () => {
    assert.equal(relative(PACKAGE, DEMO_MANIFESTS), 'demo');
    const source = readFileSync(join(PACKAGE, 'src/demo/demo.ts'), 'utf8');
    assert.doesNotMatch(source, /examples\//);
  });

  it('imports the product by its package name, never by a path out of the package', () => {
    const code = [...walk(join(PACKAGE, 'src')), ...walk(join(PACKAGE, 'bin'))].filter((f) => /\.(ts|js)$/.test(f));
    const escapes: string[] = [];
    for (const file of code) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from |import\(|new URL\()'(\.\.?\/[^']*)'/g)) {
        const target = relative(PACKAGE, join(file, '..', m[1]!));
        if (target.startsWith('..')) escapes.push(`${relative(PACKAGE, file)}: ${m[1]}`);
      }
    }
    assert.deepEqual(escapes, []);
  });

  it("the demo's manifests are the repository's examples, file for file", function () {
    const examples = join(REPO_ROOT, 'examples');
    if (!existsSync(examples)) this.skip();
    const pairs: [string, string][] = [
      ['demo/clusters', 'clusters'],
      ['demo/cluster-state', 'cluster-state'],
      ['demo/second-commit', 'demo-second-commit'],
    ];
    for (const [mine, theirs] of pairs) {
      const a = walk(join(PACKAGE, mine))
        .map((f) => relative(join(PACKAGE, mine), f))
        .sort();
      const b = walk(join(examples, theirs))
        .map((f) => relative(join(examples, theirs), f))
        .sort();
      assert.deepEqual(a, b, `${mine} and examples/${theirs} hold the same files`);
      for (const f of a)
        assert.equal(readFileSync(join(PACKAGE, mine, f), 'utf8'), readFileSync(join(examples, theirs, f), 'utf8'), `${mine}/${f} is examples/${theirs}/${f}`);
    }
  });
});
