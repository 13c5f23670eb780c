// Restore Jobs run under a ServiceAccount made for their session, as Stash's do (issue 18 §2):
// before, they ran as the namespace's `default`, and the agent's Role (which reads the backend
// Secret) was bound to `default`, so every other pod of the namespace could read that Secret.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { useSessionSandbox } from './session-sandbox.ts';

describe('controller: the ServiceAccount of restore Jobs', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('job-sa');
  const rbac = () => h.t.kc.makeApiClient(k8s.RbacAuthorizationV1Api);

  it("runs restore Jobs under a ServiceAccount made for the session, owned by it, with the agent's Role bound to it and not to default", async () => {
    const s = h.session('pvc-restore.yaml');
    s.spec.target!.replicas = 1;
    await h.apply(s);
    await h.reconcile('pvc-restore');
    const session = await h.get('pvc-restore');
    const sa = await h.core.readNamespacedServiceAccount({ namespace: h.ns, name: 'restoresession-pvc-restore-0' });
    assert.deepEqual(
      sa.metadata!.ownerReferences!.map((o) => [o.kind, o.name, o.uid]),
      [['RestoreSession', 'pvc-restore', session.metadata.uid]],
    );
    const job = await h.batch.readNamespacedJob({ namespace: h.ns, name: 'stash-restore-pvc-restore-0' });
    assert.equal(job.spec!.template.spec!.serviceAccountName, 'restoresession-pvc-restore-0');
    const binding = await rbac().readNamespacedRoleBinding({ namespace: h.ns, name: 'stash-restore-pvc-restore' });
    assert.deepEqual(
      binding.subjects!.map((x) => [x.kind, x.name]),
      [['ServiceAccount', 'restoresession-pvc-restore-0']],
    );
  });

  it('keeps the ServiceAccount runtimeSettings.pod names, and makes none', async () => {
    await h.apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'restorer', namespace: h.ns } });
    const s = h.session('pvc-restore.yaml', 'own-sa');
    s.spec.target!.replicas = 1;
    s.spec.runtimeSettings = { pod: { serviceAccountName: 'restorer' } };
    await h.apply(s);
    await h.reconcile('own-sa');
    const job = await h.batch.readNamespacedJob({ namespace: h.ns, name: 'stash-restore-own-sa-0' });
    assert.equal(job.spec!.template.spec!.serviceAccountName, 'restorer');
    const accounts = (await h.core.listNamespacedServiceAccount({ namespace: h.ns })).items.map((a) => a.metadata!.name);
    assert.ok(!accounts.includes('restoresession-own-sa-0'), accounts.join(', '));
  });
});
