// An executor the API refuses is a condition with Stash's reason, a Warning event and Failed
// (issue 18 §1): before, the refusal was thrown and retried for ever with no status at all.
import assert from 'node:assert/strict';
import { useSessionSandbox } from './session-sandbox.ts';

describe('controller: executors the API refuses', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('refused');

  it('fails with StashInitContainerInjected=False (InitContainerInjectionFailed) when the API refuses the injection', async () => {
    const s = h.session('deployment-restore.yaml', 'bad-mount');
    s.spec.target!.volumeMounts = [{ name: 'no-such-volume', mountPath: '/source/data' }];
    delete s.spec.hooks;
    await h.apply(s);
    await h.reconcile('bad-mount');
    const got = await h.get('bad-mount');
    assert.equal(got.status?.phase, 'Failed');
    const injected = h.condition(got, 'StashInitContainerInjected');
    assert.equal(injected?.status, 'False');
    assert.equal(injected?.reason, 'InitContainerInjectionFailed');
    assert.match(injected!.message!, /Failed to inject Stash init-container into Deployment .*stash-demo.*no-such-volume/);
    assert.ok(
      (await h.events('bad-mount')).some((e) => e.type === 'Warning' && /no-such-volume/.test(e.message ?? '')),
      'a Warning event on the session says why',
    );
    assert.ok((await h.events('stash-demo')).some((e) => e.type === 'Warning' && e.reason === 'Init-Container Injection Failed'));
    const dep = await h.apps.readNamespacedDeployment({ namespace: h.ns, name: 'stash-demo' });
    assert.equal(dep.spec!.template.spec!.initContainers, undefined, 'the Deployment is as it was');
  });

  it('fails with RestoreJobCreated=False (RestoreJobCreationFailed) when the API refuses the restore Job', async () => {
    const s = h.session('pvc-restore.yaml', 'bad-job');
    s.spec.target!.volumeMounts = [{ name: 'not-a-template-${POD_ORDINAL}', mountPath: '/source/data' }];
    await h.apply(s);
    await h.reconcile('bad-job');
    const got = await h.get('bad-job');
    assert.equal(got.status?.phase, 'Failed');
    const created = h.condition(got, 'RestoreJobCreated');
    assert.equal(created?.status, 'False');
    assert.equal(created?.reason, 'RestoreJobCreationFailed');
    assert.match(created!.message!, /Failed to create restore job stash-restore-bad-job-0\. Reason: .*not-a-template-0/);
    assert.ok((await h.events('bad-job')).some((e) => e.type === 'Warning' && /not-a-template-0/.test(e.message ?? '')));
    // Final: a later reconcile changes nothing.
    await h.reconcile('bad-job');
    assert.equal((await h.get('bad-job')).metadata.resourceVersion, got.metadata.resourceVersion);
  });
});
