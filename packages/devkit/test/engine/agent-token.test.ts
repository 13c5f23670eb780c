// A workload with automountServiceAccountToken: false still restores (issue 18 §3): its pods get
// no token, so stash-init mounts a projected token of the pod's ServiceAccount of its own. On the
// real kube-apiserver with its ServiceAccount admission, TokenRequest and RBAC, the agent reads its
// session and writes its stats with that token; the workload's own container stays without one.
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

describe('kube-apiserver engine: a workload without an automounted token', function () {
  this.timeout(300_000);
  let t: TestKubeEngine | undefined;
  let tmp: { path: string; cleanup: () => Promise<void> } | undefined;
  let controller: Controller | undefined;
  before(async function () {
    skipUnlessKubeEngine(this);
    await requireSeeding(this);
    tmp = await tempDir('kube-engine-token');
    const repo = await makeRepo({ dir: tmp.path, password: 'token', snapshots: [{ host: 'app', files: { '/source/data/app.json': '{"host":"app"}' } }] });
    t = await startKubeEngine({ nodes: 1 });
    await applyExampleCluster(t as unknown as TestSandbox, { password: 'token', repoPath: repo.repoPath });
    const off = await t.kubectl([
      '-n',
      'demo',
      'patch',
      'deployment',
      'stash-demo',
      '--type=merge',
      '-p',
      '{"spec":{"template":{"spec":{"automountServiceAccountToken":false}}}}',
    ]);
    assert.equal(off.code, 0, off.stderr);
    controller = new Controller(t.kc, { agent: { image: 'ghcr.io/restore-controller/restorectl:0.1.0' }, resyncMs: 500, pollMs: 200 });
    await controller.start();
  });
  after(async () => {
    await controller?.stop();
    await t?.stop();
    await tmp?.cleanup();
  });

  it('restores through stash-init with a projected token of its own, and leaves the app container without one', async () => {
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
    const files = await listTree(join(t!.dir, 'volumes', 'demo', 'stash-sample-data'));
    assert.ok(files.includes('/app.json'), files.join(' '));

    const pods = await t!.kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'demo', labelSelector: 'restore.gitops/session=deployment-restore' });
    const pod = pods.items.find((p) => p.spec?.initContainers?.some((c) => c.name === 'stash-init'));
    assert.ok(pod, 'a pod of the rolled Deployment');
    assert.equal(pod.spec!.automountServiceAccountToken, false);
    const agent = pod.spec!.initContainers!.find((c) => c.name === 'stash-init')!;
    assert.ok(agent.volumeMounts!.some((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount' && m.readOnly));
    for (const c of pod.spec!.containers) assert.ok(!c.volumeMounts?.some((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount'), c.name);
  });
});
