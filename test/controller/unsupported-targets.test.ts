// Target kinds Stash does not restore into end Invalid, naming the kinds it does (issue 18 §1):
// before, a ReplicaSet target got a restore Job the API refused (422), retried with no status,
// and a ReplicationController target got a Job that restored into its own pod and succeeded.
import assert from 'node:assert/strict';
import { useSessionSandbox } from './session-sandbox.ts';

describe('controller: target kinds Stash does not restore into', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('kinds');

  for (const kind of ['ReplicaSet', 'ReplicationController']) {
    it(`ends Invalid for a ${kind} target, naming the supported kinds, and creates nothing`, async () => {
      const s = h.session('deployment-restore.yaml', `to-${kind.toLowerCase()}`);
      s.spec.target!.ref = { apiVersion: kind === 'ReplicaSet' ? 'apps/v1' : 'v1', kind, name: 'stash-demo' };
      delete s.spec.hooks;
      await h.apply(s);
      await h.reconcile(s.metadata.name);
      const got = await h.get(s.metadata.name);
      assert.equal(got.status?.phase, 'Invalid');
      const validation = h.condition(got, 'ValidationPassed');
      assert.equal(validation?.status, 'False');
      assert.match(validation!.message!, new RegExp(`spec\\.target\\.ref\\.kind: ${kind} is not a kind Stash restores into`));
      assert.match(validation!.message!, /Deployment, StatefulSet, DaemonSet, DeploymentConfig/);
      assert.match(validation!.message!, /PersistentVolumeClaim/);
      assert.deepEqual(
        (await h.batch.listNamespacedJob({ namespace: h.ns })).items.map((j) => j.metadata!.name),
        [],
      );
      const warning = (await h.events(s.metadata.name)).find((e) => e.type === 'Warning');
      assert.match(warning?.message ?? '', new RegExp(`${kind} is not a kind Stash restores into`));
    });
  }
});

describe('controller: a target kind this cluster does not serve', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('unserved');

  it('waits with RestoreTargetFound=Unknown (UnableToCheckTargetAvailability) for a DeploymentConfig on a cluster without OpenShift, as Stash', async () => {
    const s = h.session('deployment-restore.yaml', 'to-dc');
    s.spec.target!.ref = { apiVersion: 'apps.openshift.io/v1', kind: 'DeploymentConfig', name: 'stash-demo' };
    delete s.spec.hooks;
    await h.apply(s);
    const r = await h.reconcile('to-dc');
    assert.ok(r.requeueAfterMs, 'looked at again');
    const got = await h.get('to-dc');
    assert.equal(got.status?.phase, 'Pending');
    const found = h.condition(got, 'RestoreTargetFound');
    assert.equal(found?.status, 'Unknown');
    assert.equal(found?.reason, 'UnableToCheckTargetAvailability');
    assert.match(
      found!.message!,
      /Failed to check whether restore target DeploymentConfig .*\/stash-demo exist or not\. Reason: apps\.openshift\.io\/v1 deploymentconfigs is not served by this cluster/,
    );
  });
});
