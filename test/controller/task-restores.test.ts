// Stash Task restores (issue #14): a session the restore Job cannot carry out ends Failed with the
// reason, never Succeeded having restored nothing; Stash's pvc-restore mounts its claim at /stash-data.
import assert from 'node:assert/strict';
import { useSessionSandbox } from './session-sandbox.ts';

describe('controller: Stash Task restores', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('task-restore');

  it('ends Failed, never Succeeded, for a database Task it cannot run, saying nothing was restored, and creates no Job', async () => {
    // The PostgreSQL restore of Stash's documentation (stashed/docs, addons/postgres).
    await h.apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'sample-postgres-restore', namespace: h.ns },
      spec: {
        task: { name: 'postgres-restore-11.9' },
        repository: { name: 'local-repo' },
        target: { ref: { apiVersion: 'appcatalog.appscode.com/v1alpha1', kind: 'AppBinding', name: 'sample-postgres' } },
        rules: [{ snapshots: ['latest'] }],
      },
    });
    const r = await h.reconcile('sample-postgres-restore');
    assert.equal(r.phase, 'Failed');
    const got = await h.get('sample-postgres-restore');
    assert.equal(got.status?.phase, 'Failed');
    const cond = h.condition(got, 'RestoreExecutorEnsured');
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'FailedToEnsureRestoreExecutor');
    assert.match(
      cond!.message!,
      /task postgres-restore-11\.9 \(AppBinding sample-postgres\) is a Stash Task restore, which restore-controller does not run yet: nothing was restored/,
    );
    assert.deepEqual((await h.batch.listNamespacedJob({ namespace: h.ns })).items, []);
    assert.ok(!got.status?.stats?.some((s) => s.phase === 'Succeeded'), 'no host reported restored');
  });

  it('runs pvc-restore into a stand-alone PVC with the claim mounted at /stash-data when the target names no volumeMounts', async () => {
    await h.apply({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'source-data', namespace: h.ns },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    // Stash's stand-alone PVC example (stashed/docs, volumes/pvc): no volumeMounts.
    await h.apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'restore-pvc', namespace: h.ns },
      spec: {
        task: { name: 'pvc-restore' },
        repository: { name: 'local-repo' },
        target: { ref: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'source-data' } },
        rules: [{ snapshots: ['latest'] }],
      },
    });
    await h.reconcile('restore-pvc');
    const [job] = (await h.batch.listNamespacedJob({ namespace: h.ns })).items;
    assert.ok(job, 'a restore Job');
    const pod = job.spec!.template.spec!;
    const mount = pod.containers[0]!.volumeMounts!.find((m) => m.mountPath === '/stash-data');
    assert.ok(mount, `the claim is mounted at /stash-data: ${JSON.stringify(pod.containers[0]!.volumeMounts)}`);
    assert.equal(pod.volumes!.find((v) => v.name === mount.name)?.persistentVolumeClaim?.claimName, 'source-data');
  });
});
