// Task restores on the sandbox with the real controller, agent and restic (issue #14): Stash's
// stand-alone PVC example restores into its claim; an installed Task runs as a Job built from its
// steps, the agent playing Stash's final update-status step; Stash's own postgres Task, whose addon
// image the sandbox cannot run (it simulates other images: an init-container that exits 0 having
// done nothing), ends Failed because no step reported a result, never Succeeded; a missing
// Function or AppBinding says so.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { AgentCluster } from '../../src/agent/cluster.ts';
import { runUpdateStatus } from '../../src/agent/update-status.ts';
import { Controller } from '../../src/controller/index.ts';
import { DEFAULT_AGENT_IMAGE } from '../../src/controller/agent-container.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { applyExampleCluster } from '../support/example-cluster.ts';
import { listTree, makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const PASSWORD = 'task restore password, never printed';
const CATALOG = fileURLToPath(new URL('../api/fixtures/stash-catalog/', import.meta.url));
const stashCatalog = (file: string) => readFileSync(join(CATALOG, file), 'utf8');

describe('controller: Task restores on the sandbox, with the real agent and restic', function () {
  this.timeout(300_000);
  let t: TestSandbox;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let controller: Controller;
  let agentImage: string;

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('task-job');
    // What Stash's pvc-backup makes of the docs' claim: its mount path /stash-data, host host-0.
    const repo = await makeRepo({
      dir: tmp.path,
      password: PASSWORD,
      snapshots: [
        {
          host: 'host-0',
          files: { '/stash-data/pod-1/data/hello.txt': 'hello from pod 1.\n', '/stash-data/pod-2/data/hello.txt': 'hello from pod 2.\n' },
        },
      ],
    });
    t = await startSandbox();
    await applyExampleCluster(t, { password: PASSWORD, repoPath: repo.repoPath });
    agentImage = t.sandbox.options.agentImage ?? DEFAULT_AGENT_IMAGE;
    controller = new Controller(t.kc, { agent: { image: agentImage }, resyncMs: 500, pollMs: 200, waitMs: 200 });
    await controller.start();
  });
  after(async () => {
    await controller?.stop();
    await t?.stop();
    await tmp?.cleanup();
  });

  const custom = () => t.kc.makeApiClient(k8s.CustomObjectsApi);
  const batch = () => t.kc.makeApiClient(k8s.BatchV1Api);
  const session = async (name: string) => (await custom().getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name })) as RestoreSession;
  const finalPhase = (name: string) =>
    eventually(
      async () => {
        const s = await session(name);
        return s.status?.phase === 'Succeeded' || s.status?.phase === 'Failed' || s.status?.phase === 'Unknown' ? s : undefined;
      },
      240_000,
      300,
    );
  const apply = async (o: object | string) => {
    const r = await t.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], typeof o === 'string' ? o : stringify(o));
    assert.equal(r.code, 0, r.stderr);
  };
  const claim = (name: string) =>
    apply({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: 'demo' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    });
  const files = async (name: string) => (await listTree(join(t.dir, 'volumes', 'demo', name))).filter((p) => !p.endsWith('/'));
  const condition = (s: RestoreSession, type: string) => s.status?.conditions?.find((c) => c.type === type);
  const podOf = async (session: string) =>
    (await t.kc.makeApiClient(k8s.CoreV1Api).listNamespacedPod({ namespace: 'demo', labelSelector: `restore.gitops/session=${session}` })).items[0];

  it("restores Stash's stand-alone PVC example (no volumeMounts, no Task installed) into the claim: the agent's Job mounts it at /stash-data", async () => {
    await claim('nfs-pvc');
    // stashed/docs docs/guides/volumes/pvc/examples/restoresession.yaml, verbatim but the Repository's name.
    await apply(`apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata:
  name: nfs-pvc-restore
  namespace: demo
spec:
  task:
    name: pvc-restore
  repository:
    name: local-repo
  target:
    ref:
      apiVersion: v1
      kind: PersistentVolumeClaim
      name: nfs-pvc
    rules:
    - snapshots: ["latest"]
`);
    const done = await finalPhase('nfs-pvc-restore');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual(
      done.status?.stats?.map((s) => [s.hostname, s.phase]),
      [['host-0', 'Succeeded']],
    );
    assert.deepEqual(await files('nfs-pvc'), ['/pod-1/data/hello.txt', '/pod-2/data/hello.txt']);
    assert.equal(readFileSync(join(t.dir, 'volumes', 'demo', 'nfs-pvc', 'pod-1', 'data', 'hello.txt'), 'utf8'), 'hello from pod 1.\n');
    assert.ok(!JSON.stringify(done).includes(PASSWORD));
  });

  it("runs an installed Task as a Job of its steps (a Function of the agent's image restores the claim), the agent's update-status last", async () => {
    await claim('task-target');
    // A Task of one's own in Stash's model: its Function mounts ${targetVolume} at ${TARGET_MOUNT_PATH},
    // the Task's volume is the claim ${TARGET_NAME}; the step runs restorectl's agent.
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'Function',
      metadata: { name: 'restorectl-restore' },
      spec: {
        image: agentImage,
        args: ['agent', 'restore', '--session', '${NAMESPACE}/${RESTORE_SESSION}', '--host-from', 'alias'],
        volumeMounts: [{ name: '${targetVolume}', mountPath: '${TARGET_MOUNT_PATH}' }],
      },
    });
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'Task',
      metadata: { name: 'restorectl-pvc-restore' },
      spec: {
        steps: [
          { name: 'restorectl-restore', params: [{ name: 'targetVolume', value: 'target-volume' }] },
          { name: 'update-status', params: [{ name: 'outputDir', value: '/stash-tmp/output' }] },
        ],
        volumes: [{ name: 'target-volume', persistentVolumeClaim: { claimName: '${TARGET_NAME}' } }],
      },
    });
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'own-task-restore', namespace: 'demo' },
      spec: {
        task: { name: 'restorectl-pvc-restore' },
        repository: { name: 'local-repo' },
        target: { ref: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'task-target' }, rules: [{ snapshots: ['latest'] }] },
      },
    });
    const done = await finalPhase('own-task-restore');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual(await files('task-target'), ['/pod-1/data/hello.txt', '/pod-2/data/hello.txt']);
    const job = (await batch().readNamespacedJob({ namespace: 'demo', name: 'stash-restore-own-task-restore-0' })).spec!.template.spec!;
    assert.deepEqual(
      [...job.initContainers!, ...job.containers].map((c) => [c.name, c.args?.slice(0, 4)]),
      [
        ['restorectl-restore-0', ['agent', 'restore', '--session', 'demo/own-task-restore']],
        ['update-status-1', ['agent', 'update-status', '--provider=local', '--bucket=/safe/data']],
      ],
    );
    assert.deepEqual({ ...job.initContainers![0]!.volumeMounts!.find((m) => m.name === 'target-volume') }, { name: 'target-volume', mountPath: '/stash-data' });
    // Both steps ran for real and ended well (the sandbox runs the agent's image).
    const pod = await eventually(async () => {
      const p = await podOf('own-task-restore');
      return p?.status?.containerStatuses?.[0]?.state?.terminated ? p : undefined;
    }, 30_000);
    assert.equal(pod.status!.initContainerStatuses![0]!.state!.terminated!.exitCode, 0);
    assert.equal(pod.status!.containerStatuses![0]!.state!.terminated!.exitCode, 0);
  });

  it("ends Failed, never Succeeded, when Stash's postgres Task runs and no step reports a result (the addon image is simulated here)", async () => {
    for (const f of ['postgres-11.9-restore-function.yaml', 'postgres-11.9-restore-task.yaml']) await apply(stashCatalog(f));
    await apply({
      apiVersion: 'appcatalog.appscode.com/v1alpha1',
      kind: 'AppBinding',
      metadata: { name: 'sample-postgres', namespace: 'demo' },
      spec: { clientConfig: { url: 'postgres://127.0.0.1:5432/postgres' }, secret: { name: 'sample-postgres-auth' } },
    });
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'sample-postgres-restore', namespace: 'demo' },
      spec: {
        task: { name: 'postgres-restore-11.9' },
        repository: { name: 'local-repo' },
        target: { ref: { apiVersion: 'appcatalog.appscode.com/v1alpha1', kind: 'AppBinding', name: 'sample-postgres' }, rules: [{ snapshots: ['latest'] }] },
      },
    });
    const done = await finalPhase('sample-postgres-restore');
    assert.equal(done.status?.phase, 'Failed', JSON.stringify(done.status));
    const [stat] = done.status!.stats!;
    assert.equal(stat?.hostname, 'host-0');
    assert.equal(stat?.phase, 'Failed');
    assert.match(stat!.error!, /the Task's steps wrote no result for host host-0 \(\/stash-tmp\/output\/output\.json: not found\)/);
    const job = (await batch().readNamespacedJob({ namespace: 'demo', name: 'stash-restore-sample-postgres-restore-0' })).spec!.template.spec!;
    assert.equal(job.initContainers![0]!.image, 'ghcr.io/stashed/stash-postgres:11.9-v37');
    assert.ok(job.initContainers![0]!.args!.includes('--appbinding=sample-postgres'));
    // The addon's grants: its AppBinding and that AppBinding's Secret, nothing more.
    const role = await t.kc.makeApiClient(k8s.RbacAuthorizationV1Api).readNamespacedRole({ namespace: 'demo', name: 'stash-restore-sample-postgres-restore' });
    assert.ok(role.rules!.some((r) => r.resources?.includes('appbindings') && r.resourceNames?.includes('sample-postgres')));
    assert.ok(role.rules!.some((r) => r.resources?.includes('secrets') && r.resourceNames?.includes('sample-postgres-auth')));
  });

  it('fails the session naming the Function a Task needs that is not installed, and creates no Job', async () => {
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'Task',
      metadata: { name: 'needs-missing-function' },
      spec: { steps: [{ name: 'not-installed-fn' }, { name: 'update-status' }] },
    });
    await claim('missing-fn-target');
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'missing-fn-restore', namespace: 'demo' },
      spec: {
        task: { name: 'needs-missing-function' },
        repository: { name: 'local-repo' },
        target: { ref: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'missing-fn-target' }, rules: [{ snapshots: ['latest'] }] },
      },
    });
    const done = await finalPhase('missing-fn-restore');
    assert.equal(done.status?.phase, 'Failed');
    const c = condition(done, 'RestoreExecutorEnsured');
    assert.equal(c?.status, 'False');
    assert.equal(c?.reason, 'FailedToEnsureRestoreExecutor');
    assert.match(c!.message!, /Function not-installed-fn of Task needs-missing-function \(step 0\) is not in the cluster/);
    assert.ok(!(await batch().listNamespacedJob({ namespace: 'demo' })).items.some((j) => j.metadata?.name === 'stash-restore-missing-fn-restore-0'));
  });

  it('waits as Pending while the AppBinding an installed Task restores into does not exist', async () => {
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'no-binding-restore', namespace: 'demo' },
      spec: {
        task: { name: 'postgres-restore-11.9' },
        repository: { name: 'local-repo' },
        target: { ref: { apiVersion: 'appcatalog.appscode.com/v1alpha1', kind: 'AppBinding', name: 'not-there' }, rules: [{ snapshots: ['latest'] }] },
      },
    });
    const s = await eventually(async () => {
      const got = await session('no-binding-restore');
      return condition(got, 'RestoreTargetFound') ? got : undefined;
    }, 30_000);
    assert.equal(s.status?.phase, 'Pending');
    const c = condition(s, 'RestoreTargetFound')!;
    assert.deepEqual({ status: c.status, reason: c.reason }, { status: 'False', reason: 'TargetNotAvailable' });
    assert.match(c.message ?? '', /^AppBinding demo\/not-there does not exist/);
  });

  it("update-status records the host stats a step wrote in Stash's output.json, masking the storage Secret", async () => {
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'output-json', namespace: 'demo' },
      // Its target claim does not exist: the controller leaves it Pending, and only the step below writes stats.
      spec: { repository: { name: 'local-repo' }, target: { ref: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'not-made' } } },
    });
    const root = join(tmp.path, 'update-status-root');
    mkdirSync(join(root, 'stash-tmp', 'output'), { recursive: true });
    writeFileSync(
      join(root, 'stash-tmp', 'output', 'output.json'),
      JSON.stringify({
        targetStatus: {
          ref: { kind: 'AppBinding', name: 'sample-postgres' },
          stats: [
            { hostname: 'host-0', phase: 'Succeeded', duration: '4.2s' },
            { hostname: 'host-1', phase: 'Failed', duration: '1s', error: `psql: password ${PASSWORD} refused` },
          ],
        },
      }),
    );
    const outcome = await runUpdateStatus(await AgentCluster.connect({ kubeconfig: t.kubeconfigPath }), {
      namespace: 'demo',
      name: 'output-json',
      host: 'host-0',
      outputDir: '/stash-tmp/output',
      root,
      env: {},
    });
    assert.equal(outcome.code, 1);
    const s = await session('output-json');
    assert.deepEqual(
      s.status?.stats?.map((x) => [x.hostname, x.phase, x.duration, x.error]),
      [
        ['host-0', 'Succeeded', '4.2s', undefined],
        ['host-1', 'Failed', '1s', 'psql: password <redacted> refused'],
      ],
    );
    const events = (await t.kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: 'demo' })).items.filter(
      (e) => e.involvedObject.name === 'output-json',
    );
    assert.ok(events.some((e) => e.reason === 'Host Restore Succeeded' && e.message === 'restore succeeded for host "host-0"'));
    assert.ok(
      events.some(
        (e) => e.reason === 'Host Restore Failed' && /^restore failed for host "host-1"\. Reason: psql: password <redacted> refused$/.test(e.message ?? ''),
      ),
    );
    // Run again (a restarted container): the hosts keep their stats.
    assert.equal(
      (
        await runUpdateStatus(await AgentCluster.connect({ kubeconfig: t.kubeconfigPath }), {
          namespace: 'demo',
          name: 'output-json',
          host: 'host-0',
          outputDir: '/stash-tmp/output',
          root,
          env: {},
        })
      ).code,
      1,
    );
    assert.equal((await session('output-json')).status?.stats?.length, 2);
  });
});
