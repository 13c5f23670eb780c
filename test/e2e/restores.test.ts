// The whole restore path with nothing stood in for: the controller injects stash-init into the
// Stash example's StatefulSet, the sandbox rolls its 5 pods and runs the agent in each as a real
// process, restic restores from a real repository into each pod's PVC folder.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { Controller } from '../../src/controller/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { applyExampleCluster, exampleManifest } from '../support/example-cluster.ts';
import { listTree, makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { eventually, startEngine } from '../support/sandbox.ts';
import type { EngineSandbox } from '../support/sandbox.ts';

const PASSWORD = 'e2e password, never printed';
const example = exampleManifest;

describe('end to end: restores on the sandbox, with the real agent and restic', function () {
  this.timeout(300_000);
  let t: EngineSandbox;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let controller: Controller;
  let repoPath: string;

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('e2e-sts');
    const files = (host: string) => ({
      [`/source/data/${host}.json`]: `{"host":"${host}"}`,
      '/source/data/tmp.json': 'scratch',
      '/source/data/notes.txt': 'notes',
    });
    const hosts = ['my-sts-0', 'my-sts-1', 'my-sts-2', 'app', 'host-0', 'host-1', 'host-2'];
    const repo = await makeRepo({ dir: tmp.path, password: PASSWORD, snapshots: hosts.map((host) => ({ host, files: files(host) })) });
    repoPath = repo.repoPath;
    t = await startEngine();
    await applyExampleCluster(t, { password: PASSWORD, repoPath: repo.repoPath });
    controller = new Controller(t.controllerKc, {
      agent: { image: t.agentImage },
      resyncMs: 500,
      pollMs: 200,
    });
    await controller.start();
  });
  after(async () => {
    await controller?.stop();
    await t?.stop();
    await tmp?.cleanup();
  });

  const custom = () => t.kc.makeApiClient(k8s.CustomObjectsApi);
  const finalPhase = (name: string) =>
    eventually(
      async () => {
        const s = (await custom().getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name })) as RestoreSession;
        return s.status?.phase === 'Succeeded' || s.status?.phase === 'Failed' || s.status?.phase === 'Unknown' ? s : undefined;
      },
      240_000,
      500,
    );
  const files = async (claim: string) => (await listTree(join(t.dir, 'volumes', 'demo', claim))).filter((p) => !p.endsWith('/'));
  const applySession = async (s: object) => {
    const r = await t.kubectl(['apply', '--server-side', '-f', '-'], stringify(s));
    assert.equal(r.code, 0, r.stderr);
  };

  it('restores a Deployment once, however many replicas, into its PVC', async () => {
    const s = example('deployment-restore.yaml');
    delete s.spec.hooks; // an exec hook would run on this machine, not in the pod
    await applySession(s);
    const done = await finalPhase('deployment-restore');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual(
      done.status?.stats?.map((x) => x.hostname),
      ['app'],
    );
    assert.deepEqual(await files('stash-sample-data'), ['/app.json', '/notes.txt', '/tmp.json']);
  });

  it('restores into new PVCs through one Job per ordinal (volumeClaimTemplates)', async () => {
    await applySession(example('pvc-restore.yaml'));
    const done = await finalPhase('pvc-restore');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.equal(done.status?.totalHosts, 3);
    for (const i of [0, 1, 2]) assert.deepEqual(await files(`data-restore-demo-${i}`), [`/host-${i}.json`, '/notes.txt', '/tmp.json']);
  });

  it("a failing host fails the session with that host's error", async () => {
    const s = example('pvc-restore.yaml');
    s.metadata.name = 'pvc-missing-host';
    s.spec.target.replicas = 4; // host-3 has no backup
    s.spec.target.volumeClaimTemplates[0].metadata.name = 'other-${POD_ORDINAL}';
    s.spec.target.volumeMounts[0].name = 'other-${POD_ORDINAL}';
    await applySession(s);
    const done = await finalPhase('pvc-missing-host');
    assert.equal(done.status?.phase, 'Failed');
    const failed = done.status!.stats!.filter((x) => x.phase === 'Failed');
    assert.deepEqual(
      failed.map((x) => x.hostname),
      ['host-3'],
    );
    assert.match(failed[0]!.error!, /host-3/);
    assert.ok(!JSON.stringify(done).includes(PASSWORD));
  });

  it('restores a Deployment whose pods have no ServiceAccount token (automountServiceAccountToken: false): the agent gets its own', async () => {
    await applySession({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'no-token-data', namespace: 'demo' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    await applySession({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'no-token', namespace: 'demo' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'no-token' } },
        template: {
          metadata: { labels: { app: 'no-token' } },
          spec: {
            automountServiceAccountToken: false,
            containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'], volumeMounts: [{ name: 'source-data', mountPath: '/source/data' }] }],
            volumes: [{ name: 'source-data', persistentVolumeClaim: { claimName: 'no-token-data' } }],
          },
        },
      },
    });
    const s = example('deployment-restore.yaml');
    delete s.spec.hooks;
    s.metadata.name = 'no-token';
    s.spec.target.ref.name = 'no-token';
    await applySession(s);
    const done = await finalPhase('no-token');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual(await files('no-token-data'), ['/app.json', '/notes.txt', '/tmp.json']);
    // Only the agent has the token: the workload's own containers still have none.
    const template = (await t.kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ namespace: 'demo', name: 'no-token' })).spec!.template.spec!;
    assert.equal(template.automountServiceAccountToken, false);
    assert.ok(!template.containers.some((c) => c.volumeMounts?.some((m) => m.mountPath.startsWith('/var/run/secrets/kubernetes.io'))));
  });

  it('restores a Deployment whose ServiceAccount turns the token off (the pod says nothing): the agent gets its own', async () => {
    // Kubernetes' ServiceAccount admission: the pod's automountServiceAccountToken wins; when the pod
    // says nothing, its ServiceAccount's false means no token in any container.
    await applySession({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'no-token-sa', namespace: 'demo' }, automountServiceAccountToken: false });
    await applySession({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'sa-no-token-data', namespace: 'demo' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
    await applySession({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'sa-no-token', namespace: 'demo' },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'sa-no-token' } },
        template: {
          metadata: { labels: { app: 'sa-no-token' } },
          spec: {
            serviceAccountName: 'no-token-sa',
            containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'], volumeMounts: [{ name: 'source-data', mountPath: '/source/data' }] }],
            volumes: [{ name: 'source-data', persistentVolumeClaim: { claimName: 'sa-no-token-data' } }],
          },
        },
      },
    });
    const s = example('deployment-restore.yaml');
    delete s.spec.hooks;
    s.metadata.name = 'sa-no-token';
    s.spec.target.ref.name = 'sa-no-token';
    await applySession(s);
    const done = await finalPhase('sa-no-token');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual(await files('sa-no-token-data'), ['/app.json', '/notes.txt', '/tmp.json']);
    const template = (await t.kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ namespace: 'demo', name: 'sa-no-token' })).spec!.template.spec!;
    assert.equal(template.automountServiceAccountToken, undefined, "the workload's own setting is left as it was");
    const agent = template.initContainers!.find((c) => c.name === 'stash-init')!;
    assert.ok(agent.volumeMounts!.some((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount' && m.readOnly));
    assert.ok(!template.containers.some((c) => c.volumeMounts?.some((m) => m.mountPath.startsWith('/var/run/secrets/kubernetes.io'))));
  });

  it('restores through a Job whose runtimeSettings ServiceAccount turns the token off: the agent gets its own', async () => {
    await applySession({
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name: 'restorer-no-token', namespace: 'demo' },
      automountServiceAccountToken: false,
    });
    const s = example('pvc-restore.yaml');
    s.metadata.name = 'job-sa-no-token';
    s.spec.target.replicas = 1;
    s.spec.target.volumeClaimTemplates[0].metadata.name = 'job-no-token-${POD_ORDINAL}';
    s.spec.target.volumeMounts[0].name = 'job-no-token-${POD_ORDINAL}';
    s.spec.runtimeSettings = { pod: { serviceAccountName: 'restorer-no-token' } };
    await applySession(s);
    const done = await finalPhase('job-sa-no-token');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual(await files('job-no-token-0'), ['/host-0.json', '/notes.txt', '/tmp.json']);
    const job = await t.kc.makeApiClient(k8s.BatchV1Api).readNamespacedJob({ namespace: 'demo', name: 'stash-restore-job-sa-no-token-0' });
    const pod = job.spec!.template.spec!;
    assert.equal(pod.serviceAccountName, 'restorer-no-token');
    assert.ok(pod.containers[0]!.volumeMounts!.some((m) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount' && m.readOnly));
  });

  it('restores from a Repository in another namespace (usagePolicy All), and takes its access there back once final', async () => {
    // The agent reads the Repository and its Secret where they are: under real RBAC the grant must be there too.
    await applySession({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'backups' } });
    await applySession({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'local-repo-secret', namespace: 'backups' },
      stringData: { RESTIC_PASSWORD: PASSWORD },
    });
    const repository = example('repository.yaml');
    repository.metadata.namespace = 'backups';
    repository.spec.backend.local.hostPath.path = repoPath;
    repository.spec.usagePolicy = { allowedNamespaces: { from: 'All' } };
    await applySession(repository);
    const s = example('pvc-restore.yaml');
    s.metadata.name = 'cross-namespace';
    s.spec.repository = { name: 'local-repo', namespace: 'backups' };
    s.spec.target.replicas = 1;
    s.spec.target.volumeClaimTemplates[0].metadata.name = 'cross-${POD_ORDINAL}';
    s.spec.target.volumeMounts[0].name = 'cross-${POD_ORDINAL}';
    await applySession(s);
    const done = await finalPhase('cross-namespace');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual(await files('cross-0'), ['/host-0.json', '/notes.txt', '/tmp.json']);
    const rbac = t.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    const granted = async () =>
      [...(await rbac.listNamespacedRole({ namespace: 'backups' })).items, ...(await rbac.listNamespacedRoleBinding({ namespace: 'backups' })).items].map(
        (o) => o.metadata?.name,
      );
    await eventually(async () => (await granted()).length === 0, 30_000, 200).catch(async () => assert.deepEqual(await granted(), []));
  });

  it('the VolumeSnapshotter driver makes one PVC per ordinal from its VolumeSnapshot', async () => {
    // Source volumes of its own (a claim is a folder in the sandbox), snapshotted once they hold the
    // data. Both the sources and the restored claims use the Immediate class: a claim of a
    // WaitForFirstConsumer class (the real engine's `standard`, as kind's) binds only when a pod uses
    // it, which no pod here does (test/controller/volume-snapshot-outcomes.test.ts: such a host ends Unknown).
    const core = t.kc.makeApiClient(k8s.CoreV1Api);
    for (const i of [0, 1, 2]) {
      await applySession({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: `snapshot-source-${i}`, namespace: 'demo' },
        spec: { accessModes: ['ReadWriteOnce'], storageClassName: 'immediate', resources: { requests: { storage: '1Gi' } } },
      });
    }
    for (const i of [0, 1, 2]) {
      await eventually(
        async () => (await core.readNamespacedPersistentVolumeClaim({ namespace: 'demo', name: `snapshot-source-${i}` })).status?.phase === 'Bound',
        30_000,
      );
      const dir = join(t.dir, 'volumes', 'demo', `snapshot-source-${i}`);
      mkdirSync(dir, { recursive: true });
      for (const [name, content] of [
        [`host-${i}.json`, `{"host":"host-${i}"}`],
        ['notes.txt', 'notes'],
        ['tmp.json', 'scratch'],
      ])
        writeFileSync(join(dir, name!), content!);
      await applySession({
        apiVersion: 'snapshot.storage.k8s.io/v1',
        kind: 'VolumeSnapshot',
        metadata: { name: `source-data-${i}-snap`, namespace: 'demo' },
        spec: { source: { persistentVolumeClaimName: `snapshot-source-${i}` } },
      });
    }
    const session = example('snapshot-restore.yaml');
    session.spec.target.volumeClaimTemplates[0].spec.storageClassName = 'immediate';
    await applySession(session);
    const done = await finalPhase('snapshot-restore');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual(done.status?.stats?.map((x) => x.hostname).sort(), ['restore-data-0', 'restore-data-1', 'restore-data-2']);
    for (const i of [0, 1, 2]) assert.deepEqual(await files(`restore-data-${i}`), [`/host-${i}.json`, '/notes.txt', '/tmp.json']);
  });

  it("ends Succeeded with 5 host stats and the right files in each pod's volume", async () => {
    const custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    const r = await t.kubectl(['apply', '--server-side', '-f', 'examples/clusters/demo/sts-restore.yaml']);
    assert.equal(r.code, 0, r.stderr);
    const done = await eventually(
      async () => {
        const s = (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name: 'sts-restore' })) as RestoreSession;
        return s.status?.phase === 'Succeeded' || s.status?.phase === 'Failed' ? s : undefined;
      },
      240_000,
      500,
    );
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status, null, 1));
    assert.equal(done.status?.stats?.length, 5);

    const volume = (i: number) => join(t.dir, 'volumes', 'demo', `source-data-recovered-statefulset-${i}`);
    for (const i of [0, 1, 2])
      assert.deepEqual(
        (await listTree(volume(i))).filter((p) => !p.endsWith('/')),
        [`/source/data/my-sts-${i}.json`].map((p) => p.replace('/source/data', '')),
      );
    for (const i of [3, 4])
      assert.deepEqual(
        (await listTree(volume(i))).filter((p) => !p.endsWith('/')),
        ['/my-sts-1.json', '/tmp.json'],
      );

    const described = await t.kubectl(['describe', 'restoresession', 'sts-restore', '-n', 'demo']);
    assert.match(described.stdout, /Phase:\s+Succeeded/);
    const listed = await t.kubectl(['get', 'restoresessions', '-A']);
    assert.match(listed.stdout, /demo\s+sts-restore\s+local-repo\s+Succeeded/);
    assert.ok(!JSON.stringify(done).includes(PASSWORD));
  });
});
