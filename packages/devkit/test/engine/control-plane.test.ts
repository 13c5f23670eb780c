// The kube-apiserver engine, slice 1: it starts the real control plane through
// packages/devkit/control-plane, writes DIR/kubeconfig (admin) when ready, removes it on stop, and the
// same DIR again keeps the objects; kube-apiserver alone can be killed and started again (an API
// server failover) and the other parts, the simulator's nodes among them, carry on.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessKubeEngine, startKubeEngine } from '../../src/engine/testing.ts';
import { eventually } from '../../../../test/support/sandbox.ts';

describe('kube-apiserver engine: control plane', function () {
  this.timeout(240_000);
  let dir: string;
  before(function () {
    skipUnlessKubeEngine(this);
    dir = mkdtempSync(join(tmpdir(), 'kube-engine-cp-'));
  });
  after(() => dir && rmSync(dir, { recursive: true, force: true }));

  it('writes DIR/kubeconfig when ready, answers kubectl as admin, and keeps its data on a restart', async () => {
    const first = await startKubeEngine({ dir });
    try {
      assert.ok(existsSync(join(dir, 'kubeconfig')));
      assert.ok(first.engine.startupMs > 0);
      const v = await first.kubectl(['version', '-o', 'json']);
      assert.equal(v.code, 0, v.stderr);
      assert.match(JSON.parse(v.stdout).serverVersion.gitVersion, /^v1\.\d+\.\d+$/);
      const can = await first.kubectl(['auth', 'can-i', 'create', 'pods', '--all-namespaces']);
      assert.equal(can.stdout.trim(), 'yes');
      const cm = await first.kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kept, namespace: default}\ndata: {a: "1"}\n');
      assert.equal(cm.code, 0, cm.stderr);
      const sys = await first.kubectl(['get', 'pods,serviceaccounts', '-n', 'kube-system', '-o', 'name']);
      assert.match(sys.stdout, /serviceaccount\/(default|replicaset-controller)/);
    } finally {
      await first.stopEngine();
    }
    assert.ok(!existsSync(join(dir, 'kubeconfig')), 'DIR/kubeconfig is removed on stop');
    const second = await startKubeEngine({ dir });
    try {
      const got = await second.kubectl(['get', 'configmap', 'kept', '-o', 'jsonpath={.data.a}']);
      assert.equal(got.stdout, '1', got.stderr);
    } finally {
      await second.stopEngine();
    }
  });

  it('kills kube-apiserver alone and starts it again on the same port and data: the controller-manager, the scheduler and the kubelet carry on', async () => {
    const t = await startKubeEngine({ dir });
    try {
      const url = t.engine.url;
      await t.engine.stopApiServer('kill');
      const down = await t.kubectl(['get', 'configmap', 'kept', '--request-timeout', '5s']);
      assert.notEqual(down.code, 0);
      assert.match(down.stderr, /refused/);
      await assert.rejects(t.engine.stopApiServer('kill'), /kube-apiserver is not running/);
      await t.engine.startApiServer();
      await assert.rejects(t.engine.startApiServer(), /kube-apiserver is running/);
      assert.equal(t.engine.url, url);
      const got = await t.kubectl(['get', 'configmap', 'kept', '-o', 'jsonpath={.data.a}']);
      assert.equal(got.stdout, '1', got.stderr);
      // A controller-manager that dies (as it does when the API refuses it while it starts) is started again.
      const starts = () => readFileSync(join(dir, 'control-plane', 'logs', 'kube-controller-manager.log'), 'utf8').match(/^==== /gm)?.length ?? 0;
      await eventually(() => t.kubectl(['get', '--raw', '/readyz']).then((r) => r.code === 0), 30_000, 200);
      const before = starts();
      await t.engine.controlPlane.command('crash', 'kube-controller-manager');
      await eventually(() => starts() >= before + 1, 30_000, 200);
      // Made after the restarts: a ReplicaSet (the controller-manager), a bound pod (the scheduler), Running (the kubelet watches again).
      const made = await t.kubectl(['create', 'deployment', 'after-restart', '--image', 'busybox', '-n', 'default']);
      assert.equal(made.code, 0, made.stderr);
      await eventually(
        async () => {
          const r = await t.kubectl(['get', 'pods', '-n', 'default', '-l', 'app=after-restart', '-o', 'jsonpath={.items[*].status.phase}']);
          return r.stdout.trim() === 'Running';
        },
        60_000,
        500,
      );
    } finally {
      await t.stopEngine();
    }
  });
});
