// The kube-apiserver engine runs the product's restore path: the example cluster, the controller
// (as admin here; part 3 of issue #13 runs it as deploy/'s ServiceAccount), a Deployment restore
// whose agent is the real restorectl in the workload's pod, with the pod's ServiceAccount token
// under real RBAC, and real restic writing into the claim's folder.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { RestoreSession } from 'restore-controller/api/index';
import { Controller } from 'restore-controller/controller/index';
import { RESTORE_SESSIONS } from 'restore-controller/kube/resources';
import { applyExampleCluster, exampleManifest } from '../../../../test/support/example-cluster.ts';
import { listTree, makeRepo, requireSeeding, tempDir } from '../../../../test/support/restic-repo.ts';
import { eventually } from '../../../../test/support/sandbox.ts';
import type { TestSandbox } from '../../../../test/support/sandbox.ts';
import { skipUnlessKubeEngine, startKubeEngine } from '../../src/engine/testing.ts';
import type { TestKubeEngine } from '../../src/engine/testing.ts';

describe('kube-apiserver engine: a restore with the real agent and restic', function () {
  this.timeout(300_000);
  let t: TestKubeEngine | undefined;
  let tmp: { path: string; cleanup: () => Promise<void> } | undefined;
  let controller: Controller | undefined;
  before(async function () {
    skipUnlessKubeEngine(this);
    await requireSeeding(this);
    tmp = await tempDir('kube-engine-restore');
    const repo = await makeRepo({ dir: tmp.path, password: 'smoke', snapshots: [{ host: 'app', files: { '/source/data/app.json': '{"host":"app"}' } }] });
    t = await startKubeEngine({ nodes: 2 });
    // applyExampleCluster only runs kubectl, which both engines' helpers have.
    await applyExampleCluster(t as unknown as TestSandbox, { password: 'smoke', repoPath: repo.repoPath });
    controller = new Controller(t.kc, { agent: { image: 'ghcr.io/restore-controller/restorectl:0.1.0' }, resyncMs: 500, pollMs: 200 });
    await controller.start();
  });
  after(async () => {
    await controller?.stop();
    await t?.stop();
    await tmp?.cleanup();
  });

  it("restores the example Deployment into its claim's folder", async () => {
    const s = exampleManifest('deployment-restore.yaml');
    delete s.spec.hooks; // an exec hook would run on this machine, not in the pod
    const r = await t!.kubectl(['apply', '--server-side', '-f', '-'], stringify(s));
    assert.equal(r.code, 0, r.stderr);
    const custom = t!.kc.makeApiClient(k8s.CustomObjectsApi);
    const done = await eventually(
      async () => {
        const x = (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name: 'deployment-restore' })) as RestoreSession;
        return ['Succeeded', 'Failed', 'Unknown'].includes(x.status?.phase ?? '') ? x : undefined;
      },
      180_000,
      500,
    );
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual(
      done.status?.stats?.map((x) => x.hostname),
      ['app'],
    );
    const files = await listTree(join(t!.dir, 'volumes', 'demo', 'stash-sample-data'));
    assert.ok(files.includes('/app.json'), files.join(' '));
  });
});
