// The kube-apiserver engine, slice 5: `restorectl sandbox --engine kube-apiserver` as a person
// runs it: foreground, prints the URL, writes DIR/kubeconfig, kubectl shows Ready nodes, Ctrl-C
// stops every part (exit 0, kubeconfig gone, ports closed), and the same DIR comes back with its objects.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessKubeEngine } from '../../src/engine/testing.ts';
import { REPO_ROOT } from '../../../../test/support/sandbox.ts';

// The plugin executable `restorectl sandbox` runs, from this checkout (restorectl itself finds
// the one on PATH / in node_modules/.bin, which may belong to another checkout).
const PLUGIN = join(REPO_ROOT, 'packages/devkit/bin/restorectl-sandbox.js');

function startCli(dir: string, extra: string[] = []) {
  const child = spawn(process.execPath, [PLUGIN, '--engine', 'kube-apiserver', '--dir', dir, '--nodes', '2', ...extra], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  let exited = false;
  child.on('exit', () => (exited = true));
  // Polls for the ready line; fails at once when the command exits first.
  const ready = async (): Promise<string> => {
    const deadline = Date.now() + 200_000;
    for (;;) {
      const url = /Sandbox API server: (https:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      if (url) return url;
      if (exited) throw new Error(`exited before ready:\n${out}`);
      if (Date.now() > deadline) throw new Error(`not ready in 200 s:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, out: () => out, ready, exit: new Promise<number | null>((r) => child.on('exit', (code) => r(code))) };
}

function kubectl(dir: string, args: string[], input = '') {
  const r = spawnSync('kubectl', ['--kubeconfig', join(dir, 'kubeconfig'), '--request-timeout', '20s', ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, HOME: dir, KUBECACHEDIR: join(dir, 'cache') },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const answers = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });

describe('restorectl sandbox --engine kube-apiserver', function () {
  this.timeout(240_000);
  let dir: string;
  before(function () {
    skipUnlessKubeEngine(this);
    dir = mkdtempSync(join(tmpdir(), 'kube-engine-cli-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('serves kubectl with Ready nodes, stops every part on SIGINT, and restarts on the same DIR with its objects', async () => {
    const first = startCli(dir);
    const url = await first.ready().catch((e) => {
      first.child.kill('SIGKILL');
      throw new Error(`${e}: ${first.out()}`);
    });
    assert.ok(existsSync(join(dir, 'kubeconfig')));
    const nodes = kubectl(dir, ['get', 'nodes']);
    assert.equal(nodes.status, 0, nodes.stderr);
    assert.match(nodes.stdout, /node-0\s+Ready/);
    assert.match(nodes.stdout, /node-1\s+Ready/);
    const can = kubectl(dir, ['auth', 'can-i', '--list']);
    assert.equal(can.status, 0, can.stderr);
    const created = kubectl(dir, ['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept, namespace: default}\ndata: {a: "1"}\n');
    assert.equal(created.status, 0, created.stderr);
    const ports = Object.values(JSON.parse(readFileSync(join(dir, 'control-plane', 'ports.json'), 'utf8'))) as number[];

    first.child.kill('SIGINT');
    assert.equal(await first.exit, 0, first.out());
    assert.match(first.out(), /stopping the kube-apiserver engine/);
    assert.ok(!existsSync(join(dir, 'kubeconfig')), 'kubeconfig removed');
    for (const p of ports) assert.equal(await answers(p), false, `port ${p} closed after the stop`);

    const second = startCli(dir);
    try {
      const again = await second.ready();
      assert.equal(again, url, 'same port');
      const got = kubectl(dir, ['get', 'configmap', 'kept', '-o', 'jsonpath={.data.a}']);
      assert.equal(got.stdout, '1', got.stderr);
      assert.match(kubectl(dir, ['get', 'nodes']).stdout, /node-1\s+Ready/);
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exit, 0, second.out());
    }
  });

  it('leaves no control plane behind when it is killed with SIGKILL', async () => {
    const killedDir = mkdtempSync(join(tmpdir(), 'kube-engine-kill-'));
    try {
      const run = startCli(killedDir, ['--nodes', '1']);
      await run.ready();
      const ports = Object.values(JSON.parse(readFileSync(join(killedDir, 'control-plane', 'ports.json'), 'utf8'))) as number[];
      run.child.kill('SIGKILL');
      await run.exit;
      const deadline = Date.now() + 60_000;
      for (const p of ports) {
        while (await answers(p)) {
          assert.ok(Date.now() < deadline, `port ${p} still answers 60 s after the SIGKILL`);
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    } finally {
      rmSync(killedDir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown engine', () => {
    const r = spawnSync(process.execPath, [PLUGIN, '--engine', 'nope', '--dir', dir], { cwd: REPO_ROOT, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--engine must be embedded or kube-apiserver/);
  });
});
