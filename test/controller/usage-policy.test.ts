// The controller enforces the Repository's usagePolicy.allowedNamespaces for every session, whoever
// created it (issue 18 §2): before, a session in another namespace restored a Repository whose
// policy forbade it, so a tenant could read another tenant's backup.
import assert from 'node:assert/strict';
import type { AllowedNamespacesFrom } from '../../src/api/repository.ts';
import { useSessionSandbox } from './session-sandbox.ts';

describe("controller: the Repository's usagePolicy", function () {
  this.timeout(60_000);
  const h = useSessionSandbox('usage');
  let tenants = 0;

  /** A volumeClaimTemplates restore in a namespace of its own (labelled `labels`) from this test's Repository. */
  const fromTenant = async (labels: Record<string, string>, policy?: { from: AllowedNamespacesFrom; selector?: object }) => {
    if (policy)
      await h.apply({
        apiVersion: 'stash.appscode.com/v1alpha1',
        kind: 'Repository',
        metadata: { name: 'local-repo', namespace: h.ns },
        spec: {
          backend: { local: { mountPath: '/safe/data', hostPath: { path: '/data/stash-test/restic-repo' } }, storageSecretName: 'local-repo-secret' },
          usagePolicy: { allowedNamespaces: policy },
        },
      });
    const tenant = `${h.ns}-tenant-${++tenants}`;
    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: tenant, labels } });
    const s = h.session('pvc-restore.yaml');
    s.metadata.namespace = tenant;
    s.spec.target!.replicas = 1;
    s.spec.repository = { name: 'local-repo', namespace: h.ns };
    await h.apply(s);
    await h.reconcileIn(tenant, 'pvc-restore');
    return tenant;
  };

  it('ends Invalid, with the reason, when the policy is Same (the default) and the session is in another namespace; no Job runs', async () => {
    const tenant = await fromTenant({});
    const s = await h.getIn(tenant, 'pvc-restore');
    assert.equal(s.status?.phase, 'Invalid');
    const v = h.condition(s, 'ValidationPassed');
    assert.equal(v?.status, 'False');
    assert.match(
      v!.message!,
      new RegExp(
        `spec\\.repository: namespace "${tenant}" is not allowed to use Repository ${h.ns}/local-repo: its usagePolicy\\.allowedNamespaces\\.from is Same`,
      ),
    );
    assert.deepEqual((await h.batch.listNamespacedJob({ namespace: tenant })).items, []);
  });

  it('lets any namespace use it with from: All', async () => {
    const tenant = await fromTenant({}, { from: 'All' });
    const s = await h.getIn(tenant, 'pvc-restore');
    assert.equal(s.status?.phase, 'Running');
    assert.equal((await h.batch.listNamespacedJob({ namespace: tenant })).items.length, 1);
  });

  it('with from: Selector, allows a namespace whose labels match and refuses one whose labels do not', async () => {
    const policy = { from: 'Selector' as const, selector: { matchLabels: { team: 'blue' } } };
    const blue = await fromTenant({ team: 'blue' }, policy);
    assert.equal((await h.getIn(blue, 'pvc-restore')).status?.phase, 'Running');
    const red = await fromTenant({ team: 'red' }, policy);
    const refused = await h.getIn(red, 'pvc-restore');
    assert.equal(refused.status?.phase, 'Invalid');
    assert.match(h.condition(refused, 'ValidationPassed')!.message!, /its labels do not match usagePolicy\.allowedNamespaces\.selector/);
  });
});
