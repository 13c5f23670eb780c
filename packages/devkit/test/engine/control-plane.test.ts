// The kube-apiserver engine, slice 1: it starts the real control plane through
// packages/devkit/control-plane, writes DIR/kubeconfig (admin) when ready, removes it on stop, and the
// same DIR again keeps the objects.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessKubeEngine, startKubeEngine } from '../../src/engine/testing.ts';

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
});
