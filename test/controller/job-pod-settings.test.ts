// runtimeSettings.pod's fields of Stash's CRD that reach the restore Job (issue 18 §6): Stash sets
// podAnnotations on the Job's pod template and serviceAccountAnnotations on the ServiceAccount it
// makes for the Job (an IAM role for the backend, say); they must never land in the pod spec.
import assert from 'node:assert/strict';
import { useSessionSandbox } from './session-sandbox.ts';

describe('controller: runtimeSettings.pod on restore Jobs', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('job-pod');

  it("puts podAnnotations and podLabels on the Job's pod, serviceAccountAnnotations on its ServiceAccount, and keeps topologySpreadConstraints", async () => {
    const s = h.session('pvc-restore.yaml');
    s.spec.target!.replicas = 1;
    const spread = { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' };
    s.spec.runtimeSettings = {
      pod: {
        podAnnotations: { 'backup.example.com/owner': 'team-a' },
        podLabels: { team: 'a', 'restore.gitops/session': 'not-this' },
        serviceAccountAnnotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/restore' },
        topologySpreadConstraints: [spread],
      },
    };
    await h.apply(s);
    await h.reconcile('pvc-restore');
    const job = await h.batch.readNamespacedJob({ namespace: h.ns, name: 'stash-restore-pvc-restore-0' });
    const tmpl = job.spec!.template;
    assert.deepEqual(tmpl.metadata!.annotations, { 'backup.example.com/owner': 'team-a' });
    assert.equal(tmpl.metadata!.labels!.team, 'a');
    assert.equal(tmpl.metadata!.labels!['restore.gitops/session'], 'pvc-restore', "the controller's own labels select the pods and win");
    const podSpec = tmpl.spec as unknown as Record<string, unknown>;
    for (const k of ['podAnnotations', 'podLabels', 'serviceAccountAnnotations']) assert.equal(podSpec[k], undefined, `${k} is not a pod field`);
    assert.deepEqual(JSON.parse(JSON.stringify(tmpl.spec!.topologySpreadConstraints)), [spread]);
    const sa = await h.core.readNamespacedServiceAccount({ namespace: h.ns, name: 'restoresession-pvc-restore-0' });
    assert.deepEqual(sa.metadata!.annotations, { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/restore' });
  });
});
