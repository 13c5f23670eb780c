// `restorectl sandbox` as a person runs it: foreground, prints the URL, writes DIR/kubeconfig,
// stops cleanly on Ctrl-C and comes back with its objects.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from 'restore-controller/cli/main';
import { REPO_ROOT, eventually } from '../../../../test/support/sandbox.ts';

function startCli(dir: string): { child: ReturnType<typeof spawn>; out: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, ['bin/restorectl.js', 'sandbox', '--dir', dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return { child, out: () => out, exit: new Promise((r) => child.on('exit', (code) => r(code))) };
}

function kubectl(dir: string, args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('kubectl', ['--kubeconfig', join(dir, 'kubeconfig'), ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, HOME: dir, KUBECACHEDIR: join(dir, 'cache') },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('restorectl sandbox', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'sandbox-cli-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('serves kubectl, stops on SIGINT with exit 0, and restarts with its objects on the same port', async () => {
    const first = startCli(dir);
    const url = await eventually(() => /Sandbox API server: (http:\/\/127\.0\.0\.1:\d+)/.exec(first.out())?.[1], 15_000);
    assert.ok(existsSync(join(dir, 'kubeconfig')));
    const created = kubectl(dir, ['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept, namespace: default}\ndata: {a: "1"}\n');
    assert.equal(created.status, 0, created.stderr);
    first.child.kill('SIGINT');
    assert.equal(await first.exit, 0, first.out());
    assert.match(first.out(), /stopping the sandbox/);
    assert.ok(existsSync(join(dir, 'state.json')));

    const second = startCli(dir);
    const url2 = await eventually(() => /Sandbox API server: (http:\/\/127\.0\.0\.1:\d+)/.exec(second.out())?.[1], 15_000);
    assert.equal(url2, url, 'the port of the last run is reused');
    const got = kubectl(dir, ['get', 'configmap', 'kept', '-o', 'jsonpath={.data.a}']);
    assert.equal(got.stdout, '1', got.stderr);
    second.child.kill('SIGTERM');
    assert.equal(await second.exit, 0);
  });

  it('is a plugin: when restorectl is killed outright, the sandbox stops too', async () => {
    const orphanDir = mkdtempSync(join(tmpdir(), 'sandbox-cli-orphan-'));
    try {
      const run = startCli(orphanDir);
      const url = await eventually(() => /Sandbox API server: (http:\/\/127\.0\.0\.1:\d+)/.exec(run.out())?.[1], 15_000);
      assert.equal((await fetch(`${url}/version`)).status, 200);
      run.child.kill('SIGKILL');
      await eventually(
        () =>
          fetch(`${url}/version`).then(
            () => false,
            () => true,
          ),
        15_000,
      );
    } finally {
      rmSync(orphanDir, { recursive: true, force: true });
    }
  });

  it('refuses to run without --dir (exit 2)', async () => {
    let stderr = '';
    const code = await main(['sandbox'], { stdout: () => {}, stderr: (t) => (stderr += t) });
    assert.equal(code, 2);
    assert.match(stderr, /--dir is required/);
  });
});
