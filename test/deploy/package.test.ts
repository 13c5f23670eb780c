// The published package (npm pack) holds the product only: what runs in a cluster or in CI. The
// sandbox, the demo and the test servers are the dev kit's (packages/devkit), never packed here.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/sandbox.ts';

const run = promisify(execFile);
const DEV_KIT_ONLY = [/sandbox/, /demo/, /seed/, /fast-kdf/, /git-http-server/, /^packages\//];

interface PackedFile {
  path: string;
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((e) => {
    const path = join(dir, e);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('the product and the dev kit', () => {
  it("the product never imports the dev kit (it runs the dev kit's commands as plugins)", () => {
    const offenders = sources(join(REPO_ROOT, 'src')).filter((f) =>
      /from '(@restore-controller\/devkit|[./]+\/packages\/)|import\('(@restore-controller\/devkit|[./]+\/packages\/)/.test(readFileSync(f, 'utf8')),
    );
    assert.deepEqual(offenders, []);
  });
});

describe('the npm package (npm pack)', function () {
  this.timeout(300_000);
  let dir: string;
  let files: string[];

  before(async () => {
    // A checkout after `npm run build`, in a folder of its own (dist/ in the checkout would make
    // every other test run stale compiled code).
    dir = mkdtempSync(join(tmpdir(), 'package-test-'));
    await run('npx', ['tsc', '-p', 'tsconfig.build.json', '--outDir', join(dir, 'dist')], { cwd: REPO_ROOT });
    for (const f of ['bin', 'deploy', 'packages', 'package.json', 'README.md']) cpSync(join(REPO_ROOT, f), join(dir, f), { recursive: true });
    const packed = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: dir });
    files = (JSON.parse(packed.stdout) as { files: PackedFile[] }[])[0]!.files.map((f) => f.path).sort();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("holds the program (bin, dist), the CRDs and the daemon's ServiceAccount and RBAC", () => {
    for (const f of ['package.json', 'bin/restorectl.js', 'dist/cli/main.js', 'dist/agent/restore.js', 'dist/daemon/daemon.js'])
      assert.ok(files.includes(f), `${f} is packed`);
    assert.ok(
      files.some((f) => f.startsWith('deploy/crds/')),
      'the CRDs are packed',
    );
    // The demo's daemon runs as this ServiceAccount with this ClusterRole on the real engine (packages/devkit/src/demo).
    for (const f of ['deploy/rbac/clusterrole.yaml', 'deploy/rbac/clusterrolebinding.yaml', 'deploy/base/namespace.yaml', 'deploy/base/serviceaccount.yaml'])
      assert.ok(files.includes(f), `${f} is packed`);
  });

  it('holds none of the dev kit: sandbox, demo, seeding, fast KDF, test git server, packages/', () => {
    const leaked = files.filter((f) => DEV_KIT_ONLY.some((re) => re.test(f)));
    assert.deepEqual(leaked, []);
  });

  it('exports dist/ by default and the sources only under the restore-controller-source condition', () => {
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    assert.deepEqual(manifest.exports['./*'], { 'restore-controller-source': './src/*.ts', default: './dist/*.js' });
  });

  it('runs from dist: bin/restorectl.js --help, no dev kit needed', async () => {
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
    const help = await run(process.execPath, [join(dir, 'bin', 'restorectl.js'), '--help'], { cwd: tmpdir(), env: { ...process.env, PATH: '/usr/bin:/bin' } });
    assert.match(help.stdout, /agent restore/);
  });
});
