// The kube-apiserver engine, slice 2: --nodes N Node objects, registered with the nodes' own
// credentials (system:node:<name>), Ready, with capacity and the hostname label, kept fresh by
// Leases in kube-node-lease; the node lifecycle controller does not taint them.
import assert from 'node:assert/strict';
import { Rest } from '../../src/engine/rest.ts';
import { skipUnlessKubeEngine, startKubeEngine } from '../../src/engine/testing.ts';
import type { TestKubeEngine } from '../../src/engine/testing.ts';
import { eventually } from '../../../../test/support/sandbox.ts';

describe('kube-apiserver engine: nodes', function () {
  this.timeout(240_000);
  let t: TestKubeEngine | undefined;
  before(async function () {
    skipUnlessKubeEngine(this);
    t = await startKubeEngine({ nodes: 2, leaseMs: 1000 });
  });
  after(async () => t?.stop());

  it('kubectl get nodes shows N Ready nodes with capacity and the hostname label', async () => {
    const got = await t!.kubectl(['get', 'nodes', '-o', 'json']);
    assert.equal(got.code, 0, got.stderr);
    const nodes = JSON.parse(got.stdout).items as Array<Record<string, any>>;
    assert.deepEqual(nodes.map((n) => n.metadata.name).sort(), ['node-0', 'node-1']);
    for (const n of nodes) {
      assert.equal(n.metadata.labels['kubernetes.io/hostname'], n.metadata.name);
      assert.equal(n.status.conditions.find((c: any) => c.type === 'Ready').status, 'True');
      assert.equal(n.status.capacity.pods, '110');
    }
    const table = await t!.kubectl(['get', 'nodes']);
    assert.match(table.stdout, /node-0\s+Ready/);
    assert.match(table.stdout, /node-1\s+Ready/);
  });

  it("renews each node's Lease as the node itself, and the Node authorizer holds a node to its own objects", async () => {
    const admin = new Rest(t!.kubeconfigPath);
    const path = '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-0';
    const first = await admin.get(path);
    assert.equal(first.spec.holderIdentity, 'node-0');
    await eventually(async () => (await admin.get(path)).spec.renewTime !== first.spec.renewTime, 10_000, 200);
    const who = await t!.kubectl([
      'auth',
      'whoami',
      '-o',
      'jsonpath={.status.userInfo.username}',
      '--kubeconfig',
      t!.engine.controlPlane.nodeKubeconfig('node-0'),
    ]);
    assert.equal(who.stdout, 'system:node:node-0', who.stderr);
    // node-0 may not write node-1's Lease.
    const node0 = t!.engine.nodes[0]!.rest;
    await assert.rejects(
      node0.put(
        '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1',
        await admin.get('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node-1'),
      ),
      /403/,
    );
    // No not-ready taint from the node lifecycle controller.
    const nodes = await admin.get('/api/v1/nodes');
    for (const n of nodes.items) assert.ok(!(n.spec.taints ?? []).some((x: any) => /not-ready|unreachable/.test(x.key)), JSON.stringify(n.spec.taints));
  });
});
