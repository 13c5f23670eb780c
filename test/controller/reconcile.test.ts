// The controller against the sandbox API, reached over HTTP by client-node (and set up with kubectl).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { KubeObject, RestoreSession } from '../../src/api/index.ts';
import { Controller, ControllerCluster, reconcileSession } from '../../src/controller/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');
const config = { agent: { image: 'restorectl:test' }, pollMs: 50 };

describe('controller: reconciling RestoreSessions on the sandbox', function () {
  this.timeout(60_000);
  let t: TestSandbox;
  let cluster: ControllerCluster;
  let custom: k8s.CustomObjectsApi;
  let apps: k8s.AppsV1Api;

  const apply = async (yaml: string) => {
    const r = await t.kubectl(['apply', '--server-side', '-f', '-'], yaml);
    assert.equal(r.code, 0, r.stderr);
  };
  const get = async (name: string) => (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name })) as RestoreSession;
  const reconcile = (name: string) => reconcileSession(cluster, config, 'demo', name);
  const sts = () => apps.readNamespacedStatefulSet({ namespace: 'demo', name: 'recovered-statefulset' });
  let templateBefore = '';

  before(async () => {
    t = await startSandbox();
    cluster = new ControllerCluster(t.kc);
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    apps = t.kc.makeApiClient(k8s.AppsV1Api);
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    assert.equal((await t.kubectl(['apply', '-f', 'examples/cluster-state/namespace.yaml'])).code, 0);
    assert.equal((await t.kubectl(['apply', '-f', 'examples/cluster-state/workloads.yaml'])).code, 0);
    await apply('apiVersion: v1\nkind: Secret\nmetadata: {name: local-repo-secret, namespace: demo}\nstringData: {RESTIC_PASSWORD: not-used-here}\n');
    await apply(example('repository.yaml'));
  });
  after(() => t?.stop());

  it('injects stash-init into the StatefulSet once, counts its hosts, and is Running', async () => {
    const before = await sts();
    templateBefore = JSON.stringify(before.spec!.template);
    await apply(example('sts-restore.yaml'));
    await reconcile('sts-restore');
    const injected = await sts();
    const init = injected.spec!.template.spec!.initContainers!;
    assert.equal(init[0]!.name, 'stash-init');
    assert.deepEqual(init[0]!.args, ['agent', 'restore', '--session', 'demo/sts-restore', '--host-from', 'pod']);
    const s = await get('sts-restore');
    assert.equal(s.status?.phase, 'Running');
    assert.equal(s.status?.totalHosts, 5);
    assert.ok(s.metadata.finalizers?.includes('restore.gitops/cleanup'));
    const cond = Object.fromEntries(s.status!.conditions!.map((c) => [c.type, c.status]));
    assert.deepEqual([cond['RepositoryFound'], cond['BackendSecretFound'], cond['RestoreTargetFound'], cond['StashInitContainerInjected']], ['True', 'True', 'True', 'True']);

    // A second reconcile (a restarted controller) changes nothing: no roll, no status write.
    await reconcile('sts-restore');
    assert.equal((await sts()).metadata!.resourceVersion, injected.metadata!.resourceVersion);
    assert.equal((await get('sts-restore')).metadata.resourceVersion, s.metadata.resourceVersion);
    assert.notEqual(injected.metadata!.generation, before.metadata!.generation);
  });

  it('finishes when every host reports, with sessionDuration and a RestoreCompleted condition', async () => {
    const s = await get('sts-restore');
    const stats = ['my-sts-0', 'my-sts-1', 'my-sts-2', 'my-sts-3', 'my-sts-4'].map((hostname, i) => ({ hostname, phase: i === 3 ? 'Failed' : 'Succeeded', error: i === 3 ? 'restic: boom' : undefined }));
    await custom.replaceNamespacedCustomObjectStatus({ ...RESTORE_SESSIONS, namespace: 'demo', name: 'sts-restore', body: { ...s, status: { ...s.status, stats } } });
    await reconcile('sts-restore');
    const done = await get('sts-restore');
    assert.equal(done.status?.phase, 'Failed');
    assert.match(done.status?.sessionDuration ?? '', /^\d+s$/);
    assert.equal(done.status?.conditions?.find((c) => c.type === 'RestoreCompleted')?.reason, 'SomeHostsFailed');
  });

  it('deleting the session gives the StatefulSet its template back exactly, then lets the session go', async () => {
    const del = t.kubectl(['delete', 'restoresession', 'sts-restore', '-n', 'demo', '--wait=false']);
    assert.equal((await del).code, 0);
    await reconcile('sts-restore');
    await eventually(async () => {
      try {
        await get('sts-restore');
        return false;
      } catch {
        return true;
      }
    });
    assert.equal(JSON.stringify((await sts()).spec!.template), templateBefore);
  });

  it('refuses an invalid session as Invalid, naming the field, and touches no workload', async () => {
    const rv = (await sts()).metadata!.resourceVersion;
    const bad = parse(example('sts-restore.yaml')) as KubeObject & RestoreSession;
    bad.metadata.name = 'twice';
    bad.spec.target!.rules![1]!.targetHosts = ['my-sts-3'];
    await apply(stringify(bad));
    await reconcile('twice');
    const s = await get('twice');
    assert.equal(s.status?.phase, 'Invalid');
    assert.match(s.status!.conditions!.find((c) => c.type === 'ValidationPassed')!.message!, /spec\.target\.rules\[1\]\.targetHosts\[0\]: host "my-sts-3" is listed in rules 0 and 1/);
    assert.equal((await sts()).metadata!.resourceVersion, rv);
  });

  it('waits as Pending while the Repository is missing', async () => {
    const s = parse(example('deployment-restore.yaml'));
    s.metadata.name = 'no-repo';
    s.spec.repository.name = 'missing';
    await apply(stringify(s));
    const r = await reconcile('no-repo');
    assert.ok(r.requeueAfterMs);
    const got = await get('no-repo');
    assert.equal(got.status?.phase, 'Pending');
    assert.match(got.status!.conditions!.find((c) => c.type === 'RepositoryFound')!.message!, /Repository demo\/missing does not exist/);
  });

  it('creates one restore Job and PVC per ordinal, and past timeOut deletes them and fails with DeadlineExceeded', async () => {
    const s = parse(example('pvc-restore.yaml'));
    s.spec.timeOut = '2s';
    await apply(stringify(s));
    await reconcile('pvc-restore');
    const batch = t.kc.makeApiClient(k8s.BatchV1Api);
    const core = t.kc.makeApiClient(k8s.CoreV1Api);
    const jobs = await batch.listNamespacedJob({ namespace: 'demo' });
    assert.deepEqual(jobs.items.map((j) => j.metadata!.name).sort(), ['stash-restore-pvc-restore-0', 'stash-restore-pvc-restore-1', 'stash-restore-pvc-restore-2']);
    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace: 'demo' });
    assert.ok(['data-restore-demo-0', 'data-restore-demo-1', 'data-restore-demo-2'].every((n) => claims.items.some((c) => c.metadata!.name === n)));
    assert.equal((await get('pvc-restore')).status?.totalHosts, 3);

    await new Promise((r) => setTimeout(r, 2100));
    await reconcile('pvc-restore');
    const failed = await get('pvc-restore');
    assert.equal(failed.status?.phase, 'Failed');
    assert.equal(failed.status?.conditions?.find((c) => c.type === 'DeadlineExceeded')?.status, 'True');
    const left = await batch.listNamespacedJob({ namespace: 'demo' });
    assert.equal(left.items.filter((j) => !j.metadata?.deletionTimestamp).length, 0);
  });

  it('the Controller loop finds new sessions by itself', async () => {
    const c = new Controller(t.kc, { ...config, resyncMs: 100 });
    await c.start();
    try {
      const s = parse(example('deployment-restore.yaml'));
      s.metadata.name = 'found-by-loop';
      await apply(stringify(s));
      await eventually(async () => (await get('found-by-loop')).status?.phase === 'Running', 10_000);
    } finally {
      c.stop();
    }
  });
});
