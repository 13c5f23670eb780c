// Job-model targets are checked like workloads (issue 18 §1): a missing PVC gives
// RestoreTargetFound=False and Pending, as in Stash, not a Job whose pod waits for ever.
import assert from 'node:assert/strict';
import { eventually } from '../support/sandbox.ts';
import { useSessionSandbox } from './session-sandbox.ts';

describe('controller: the target of a restore Job', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('job-target');

  it('waits as Pending with RestoreTargetFound=False while the target PVC is missing, then creates the Job once it exists', async () => {
    const s = h.session('deployment-restore.yaml', 'into-pvc');
    s.spec.target!.ref = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'restored-data' };
    delete s.spec.hooks;
    await h.apply(s);
    const r = await h.reconcile('into-pvc');
    assert.ok(r.requeueAfterMs, 'looked at again');
    const waiting = await h.get('into-pvc');
    assert.equal(waiting.status?.phase, 'Pending');
    assert.deepEqual(h.condition(waiting, 'RestoreTargetFound') && { ...h.condition(waiting, 'RestoreTargetFound'), lastTransitionTime: undefined }, {
      type: 'RestoreTargetFound',
      status: 'False',
      reason: 'TargetNotAvailable',
      message: `PersistentVolumeClaim ${h.ns}/restored-data does not exist`,
      lastTransitionTime: undefined,
    });
    assert.deepEqual((await h.batch.listNamespacedJob({ namespace: h.ns })).items, []);

    await h.apply({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'restored-data', namespace: h.ns },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    await h.reconcile('into-pvc');
    const running = await h.get('into-pvc');
    assert.equal(running.status?.phase, 'Running');
    assert.equal(h.condition(running, 'RestoreTargetFound')?.status, 'True');
    assert.equal(h.condition(running, 'RestoreJobCreated')?.status, 'True');
    assert.deepEqual(
      (await h.batch.listNamespacedJob({ namespace: h.ns })).items.map((j) => j.metadata!.name),
      ['stash-restore-into-pvc-0'],
    );
  });
});

describe('controller: a restore Job that ends without a result', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('job-silent');

  it("fails the host when its Job completed but no agent reported the host's result", async () => {
    const s = h.session('pvc-restore.yaml', 'silent');
    s.spec.target!.replicas = 1;
    await h.apply(s);
    await h.reconcile('silent');
    // The Job's container is not the agent (a simulated one): it ends well and writes nothing.
    await eventually(async () => (await h.batch.readNamespacedJob({ namespace: h.ns, name: 'stash-restore-silent-0' })).status?.succeeded === 1, 30_000);
    await h.reconcile('silent');
    const got = await h.get('silent');
    assert.equal(got.status?.phase, 'Failed');
    assert.deepEqual(
      got.status?.stats?.map((x) => [x.hostname, x.phase]),
      [['host-0', 'Failed']],
    );
    assert.match(got.status!.stats![0]!.error!, /restore Job stash-restore-silent-0 completed, but no restore agent reported host host-0's result/);
  });
});
