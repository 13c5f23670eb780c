// Stash Task restores (issue #14): a session the restore Job cannot carry out ends Failed with the
// reason, never Succeeded having restored nothing; Stash's pvc-restore mounts its claim at /stash-data.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { useSessionSandbox } from './session-sandbox.ts';

describe('controller: Stash Task restores', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('task-restore');

  // The PostgreSQL restore of Stash's documentation (stashed/docs, addons/postgres/standalone).
  const postgresSession = (name: string, task = 'postgres-restore-11.9') => ({
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'RestoreSession',
    metadata: { name, namespace: h.ns },
    spec: {
      task: { name: task },
      repository: { name: 'local-repo' },
      target: { ref: { apiVersion: 'appcatalog.appscode.com/v1alpha1', kind: 'AppBinding', name: 'sample-postgres' } },
      rules: [{ snapshots: ['latest'] }],
    },
  });

  it('ends Failed, never Succeeded, for a database Task it cannot run (not built in, not installed), saying nothing was restored, and creates no Job', async () => {
    await h.apply(postgresSession('sample-mongodb-restore', 'mongodb-restore-4.4.6'));
    const r = await h.reconcile('sample-mongodb-restore');
    assert.equal(r.phase, 'Failed');
    const got = await h.get('sample-mongodb-restore');
    assert.equal(got.status?.phase, 'Failed');
    const cond = h.condition(got, 'RestoreExecutorEnsured');
    assert.equal(cond?.status, 'False');
    assert.equal(cond?.reason, 'FailedToEnsureRestoreExecutor');
    assert.match(
      cond!.message!,
      /task mongodb-restore-4\.4\.6 \(AppBinding sample-postgres\) names a Task the cluster does not have and restore-controller has no built-in restore for: nothing was restored\. Built in are postgres-restore-<version>, mysql-restore-<version>, mariadb-restore-<version>, redis-restore-<version> into an AppBinding/,
    );
    assert.deepEqual((await h.batch.listNamespacedJob({ namespace: h.ns })).items, []);
    assert.ok(!got.status?.stats?.some((s) => s.phase === 'Succeeded'), 'no host reported restored');
  });

  it("runs Stash's PostgreSQL task built in: Pending with RestoreTargetFound=False while its AppBinding is missing, then a Job whose agent may read the AppBinding and its Secret", async () => {
    await h.apply(postgresSession('sample-postgres-restore'));
    const waiting = await h.reconcile('sample-postgres-restore');
    assert.equal(waiting.phase, 'Pending');
    const pending = await h.get('sample-postgres-restore');
    const target = h.condition(pending, 'RestoreTargetFound');
    assert.equal(target?.status, 'False');
    assert.equal(target?.reason, 'TargetNotAvailable');
    assert.match(target!.message!, new RegExp(`AppBinding ${h.ns}/sample-postgres does not exist: create it`));
    assert.deepEqual((await h.batch.listNamespacedJob({ namespace: h.ns })).items, [], 'no Job while the AppBinding is missing');

    // The AppBinding of Stash's docs (addons/postgres/standalone/examples/appbinding.yaml).
    await h.apply({
      apiVersion: 'appcatalog.appscode.com/v1alpha1',
      kind: 'AppBinding',
      metadata: { name: 'sample-postgres', namespace: h.ns },
      spec: {
        clientConfig: { service: { name: 'sample-postgres', path: '/', port: 5432, query: 'sslmode=disable', scheme: 'postgresql' } },
        secret: { name: 'sample-postgres-auth' },
        type: 'kubedb.com/postgres',
        version: '11.2',
      },
    });
    await h.reconcile('sample-postgres-restore');
    const running = await h.get('sample-postgres-restore');
    assert.match(
      h.condition(running, 'RestoreTargetFound')!.message!,
      new RegExp(
        `AppBinding ${h.ns}/sample-postgres found: restoring dumpfile\\.sql into PostgreSQL at sample-postgres\\.${h.ns}\\.svc:5432 \\(built-in postgres-restore-11\\.9`,
      ),
    );
    const [job] = (await h.batch.listNamespacedJob({ namespace: h.ns })).items;
    assert.ok(job, 'a restore Job');
    assert.deepEqual(job.spec!.template.spec!.containers[0]!.args!.slice(0, 2), ['agent', 'restore']);
    const rbac = h.t.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    const [role] = (await rbac.listNamespacedRole({ namespace: h.ns })).items;
    const grants = role!.rules!.map((r) => `${r.apiGroups!.join(',')}/${r.resources!.join(',')}:${(r.resourceNames ?? ['*']).join(',')}:${r.verbs.join(',')}`);
    assert.ok(grants.includes('appcatalog.appscode.com/appbindings:sample-postgres:get'), grants.join('\n'));
    assert.ok(grants.includes('/secrets:sample-postgres-auth:get'), grants.join('\n'));
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
