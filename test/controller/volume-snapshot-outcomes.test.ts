// VolumeSnapshotter hosts end as Stash's do (issue 18 §1, "Unknown where Stash produces it"): a PVC
// whose StorageClass binds on first use cannot be checked, so its host is Unknown (and the session);
// a missing StorageClass fails the host. Before, both stayed Running for ever.
import assert from 'node:assert/strict';
import { useSessionSandbox } from './session-sandbox.ts';

describe('controller: VolumeSnapshotter outcomes', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('snap');

  const snapshotSession = async (name: string, storageClassName: string) => {
    await h.apply({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: 'source-data-0-snap', namespace: h.ns },
      spec: { source: { persistentVolumeClaimName: 'not-here' } },
    });
    const s = h.session('snapshot-restore.yaml', name);
    s.spec.target!.replicas = 1;
    s.spec.target!.volumeClaimTemplates![0]!.spec!.storageClassName = storageClassName;
    await h.apply(s);
    await h.reconcile(name); // creates the PVC
    await h.reconcile(name); // looks at it
    return h.get(name);
  };

  it("reports the host Unknown, and the session Unknown, when its PVC's StorageClass binds on first use", async () => {
    await h.apply({
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: `late-${h.ns}` },
      provisioner: 'sandbox.restore.gitops',
      volumeBindingMode: 'WaitForFirstConsumer',
    });
    const s = await snapshotSession('wffc', `late-${h.ns}`);
    assert.equal(s.status?.phase, 'Unknown');
    assert.deepEqual(
      s.status?.stats?.map((x) => [x.hostname, x.phase]),
      [['restore-data-0', 'Unknown']],
    );
    assert.match(s.status!.stats![0]!.error!, /volume binding mode is WaitForFirstConsumer/);
    assert.equal(h.condition(s, 'RestoreCompleted')?.reason, 'SomeHostsUnknown');
  });

  it("fails the host when its PVC's StorageClass does not exist", async () => {
    const s = await snapshotSession('no-class', 'no-such-class');
    assert.equal(s.status?.phase, 'Failed');
    assert.deepEqual(
      s.status?.stats?.map((x) => [x.hostname, x.phase, x.error]),
      [['restore-data-0', 'Failed', 'failed to restore. Reason: StorageClass no-such-class not found.']],
    );
  });
});
