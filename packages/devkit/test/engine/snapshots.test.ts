// The kube-apiserver engine: VolumeSnapshots (snapshot.storage.k8s.io/v1 CRDs and a controller)
// and claims that start from a snapshot or a clone, as the VolumeSnapshotter driver needs.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rest } from '../../src/engine/rest.ts';
import { skipUnlessKubeEngine, startKubeEngine } from '../../src/engine/testing.ts';
import type { TestKubeEngine } from '../../src/engine/testing.ts';
import { eventually } from '../../../../test/support/sandbox.ts';

const NS = 'snap-test';

describe('kube-apiserver engine: VolumeSnapshots', function () {
  this.timeout(240_000);
  let t: TestKubeEngine | undefined;
  let admin: Rest;
  before(async function () {
    skipUnlessKubeEngine(this);
    t = await startKubeEngine({ nodes: 1 });
    admin = new Rest(t.kubeconfigPath);
    await t.kubectl(['create', 'namespace', NS]);
  });
  after(async () => t?.stop());

  const get = (path: string) => admin.get(`/api/v1/namespaces/${NS}/${path}`);
  const bound = (claim: string) =>
    eventually(
      async () => ((await get(`persistentvolumeclaims/${claim}`)).status.phase === 'Bound' ? get(`persistentvolumeclaims/${claim}`) : undefined),
      60_000,
      200,
    );

  it('snapshots a bound claim and starts new claims from the snapshot and as a clone', async () => {
    const src = await t!.kubectl(
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: src, namespace: ${NS}}
spec: {storageClassName: immediate, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`,
    );
    assert.equal(src.code, 0, src.stderr);
    await bound('src');
    const dir = join(t!.dir, 'volumes', NS, 'src');
    mkdirSync(join(dir, 'sub'), { recursive: true });
    writeFileSync(join(dir, 'sub', 'file'), 'v1\n');

    const snap = await t!.kubectl(
      ['apply', '-f', '-'],
      `
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: snap, namespace: ${NS}}
spec: {source: {persistentVolumeClaimName: src}}
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: orphan, namespace: ${NS}}
spec: {source: {persistentVolumeClaimName: no-such-claim}}
`,
    );
    assert.equal(snap.code, 0, snap.stderr);
    const vs = await eventually(
      async () => {
        const s = await admin.get(`/apis/snapshot.storage.k8s.io/v1/namespaces/${NS}/volumesnapshots/snap`);
        return s.status?.readyToUse === true ? s : undefined;
      },
      30_000,
      200,
    );
    assert.equal(vs.status.restoreSize, '1Gi');
    const content = await admin.get(`/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/${vs.status.boundVolumeSnapshotContentName}`);
    assert.equal(content.spec.volumeSnapshotRef.uid, vs.metadata.uid);
    writeFileSync(join(dir, 'sub', 'file'), 'v2\n'); // after the snapshot: not in it

    const orphan = await eventually(
      async () => {
        const s = await admin.get(`/apis/snapshot.storage.k8s.io/v1/namespaces/${NS}/volumesnapshots/orphan`);
        return s.status?.error ? s : undefined;
      },
      30_000,
      200,
    );
    assert.equal(orphan.status.readyToUse, false);
    assert.match(orphan.status.error.message, /no-such-claim/);
    const table = await t!.kubectl(['get', 'vs', '-n', NS]);
    assert.match(table.stdout, /snap\s+true\s+src/);

    const claims = await t!.kubectl(
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: restored, namespace: ${NS}}
spec:
  storageClassName: immediate
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: snap}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: clone, namespace: ${NS}}
spec:
  storageClassName: immediate
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  dataSource: {kind: PersistentVolumeClaim, name: src}
`,
    );
    assert.equal(claims.code, 0, claims.stderr);
    await bound('restored');
    await bound('clone');
    assert.equal(readFileSync(join(t!.dir, 'volumes', NS, 'restored', 'sub', 'file'), 'utf8'), 'v1\n');
    assert.equal(readFileSync(join(t!.dir, 'volumes', NS, 'clone', 'sub', 'file'), 'utf8'), 'v2\n');

    const del = await t!.kubectl(['delete', 'vs', '-n', NS, 'snap', '--wait=true']);
    assert.equal(del.code, 0, del.stderr);
    await eventually(async () => !(await admin.tryGet(`/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/${content.metadata.name}`)), 30_000, 200);
    assert.ok(!existsSync(join(t!.dir, 'snapshots', NS, 'snap')));
  });
});
