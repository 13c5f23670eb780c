// The kube-apiserver engine, slice 4: the local-path provisioner. `standard` (default,
// WaitForFirstConsumer) binds a claim once its pod is scheduled; `immediate` at once; a class
// that does not exist leaves the claim Pending; PVs are folders DIR/volumes/<ns>/<claim>/,
// removed with the claim.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rest } from '../../src/engine/rest.ts';
import { skipUnlessKubeEngine, startKubeEngine } from '../../src/engine/testing.ts';
import type { TestKubeEngine } from '../../src/engine/testing.ts';
import { eventually } from '../../../../test/support/sandbox.ts';

const NS = 'storage-test';
const AGENT = 'ghcr.io/restore-controller/restorectl:test';

describe('kube-apiserver engine: local-path provisioner', function () {
  this.timeout(240_000);
  let t: TestKubeEngine | undefined;
  let admin: Rest;
  before(async function () {
    skipUnlessKubeEngine(this);
    // The agent writes a file into its volume: `sh -c` stands in for restorectl.
    t = await startKubeEngine({ nodes: 1, agentImage: AGENT, agentCommand: ['sh', '-c', 'echo hello > "$RESTORE_POD_ROOT/data/hello"; sleep 3600', 'agent'] });
    admin = new Rest(t.kubeconfigPath);
    await t.kubectl(['create', 'namespace', NS]);
    await eventually(() => admin.tryGet(`/api/v1/namespaces/${NS}/serviceaccounts/default`), 30_000, 200);
  });
  after(async () => t?.stop());

  const claim = (name: string) => admin.get(`/api/v1/namespaces/${NS}/persistentvolumeclaims/${name}`);

  it('serves a default `standard` class (WaitForFirstConsumer) and an `immediate` one', async () => {
    const got = await t!.kubectl(['get', 'storageclass']);
    assert.match(got.stdout, /standard \(default\)\s+sandbox\.restore\.gitops\/local-path\s+Delete\s+WaitForFirstConsumer/);
    assert.match(got.stdout, /immediate\s+sandbox\.restore\.gitops\/local-path\s+Delete\s+Immediate/);
  });

  it('binds a WaitForFirstConsumer claim when its pod is scheduled, and its pod writes into the folder', async () => {
    const applied = await t!.kubectl(
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: wait, namespace: ${NS}}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: now, namespace: ${NS}}
spec: {storageClassName: immediate, accessModes: [ReadWriteOnce], resources: {requests: {storage: 2Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: nowhere, namespace: ${NS}}
spec: {storageClassName: no-such-class, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`,
    );
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal((await claim('wait')).spec.storageClassName, 'standard', 'the default class');
    const now = await eventually(async () => ((await claim('now')).status.phase === 'Bound' ? claim('now') : undefined), 30_000, 200);
    const pv = await admin.get(`/api/v1/persistentvolumes/${now.spec.volumeName}`);
    assert.equal(pv.spec.hostPath.path, join(t!.dir, 'volumes', NS, 'now'));
    assert.equal(pv.spec.capacity.storage, '2Gi');
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal((await claim('wait')).status.phase, 'Pending', 'no consumer yet');
    assert.equal((await claim('nowhere')).status.phase, 'Pending', 'no such class');

    const pod = await t!.kubectl(
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Pod
metadata: {name: consumer, namespace: ${NS}}
spec:
  containers: [{name: main, image: ${AGENT}, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: wait}}]
`,
    );
    assert.equal(pod.code, 0, pod.stderr);
    const bound = await eventually(async () => ((await claim('wait')).status.phase === 'Bound' ? claim('wait') : undefined), 60_000, 200);
    assert.equal(bound.metadata.annotations['volume.kubernetes.io/selected-node'], 'node-0');
    const file = join(t!.dir, 'volumes', NS, 'wait', 'hello');
    await eventually(() => existsSync(file) && readFileSync(file, 'utf8') === 'hello\n', 60_000, 200);
    // The process writes before the kubelet's status write lands (seen under a load of 25 on 2 cores).
    await eventually(async () => (await admin.get(`/api/v1/namespaces/${NS}/pods/consumer`)).status.phase === 'Running', 30_000, 200);
  });

  it('deletes the PV and its folder with the claim', async () => {
    const name = (await claim('now')).spec.volumeName as string;
    const del = await t!.kubectl(['delete', 'pvc', '-n', NS, 'now', '--wait=true']);
    assert.equal(del.code, 0, del.stderr);
    await eventually(async () => !(await admin.tryGet(`/api/v1/persistentvolumes/${name}`)), 60_000, 200);
    assert.ok(!existsSync(join(t!.dir, 'volumes', NS, 'now')));
  });
});
