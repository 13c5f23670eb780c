// The controller killed mid-restore (SIGKILL: no clean-up of any kind) and started again: the
// session still ends Succeeded, every host ran restic restore exactly once, and the workload
// rolled once. The controller is `restorectl controller` as a process; the agents are real
// processes in the sandbox's pods; restic is real, behind a wrapper first in the agents' PATH that
// counts each run and holds host my-sts-1's restore until the test opens a gate, so the kill
// lands while my-sts-4, -3 and -2 have reported, my-sts-1 is restoring and my-sts-0 has not begun.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { RestoreSession } from '../../src/api/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { Sandbox } from '@restore-controller/devkit/sandbox';
import { startControllerProcess } from '../controller/controller-process.ts';
import type { ControllerProcess } from '../controller/controller-process.ts';
import { applyExampleCluster } from '../support/example-cluster.ts';
import { countResticRuns } from '../support/restic-counter.ts';
import type { ResticCounter } from '../support/restic-counter.ts';
import { listTree, makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { eventually, startEngine } from '../support/sandbox.ts';
import type { EngineSandbox } from '../support/sandbox.ts';

const PASSWORD = 'restart test password, never printed';
const AGENT = Sandbox.DEFAULT_AGENT_IMAGE;
const STS = 'recovered-statefulset';
const HELD_POD = `${STS}-1`;

describe('end to end: the controller process killed mid-restore and started again', function () {
  this.timeout(300_000);
  let t: EngineSandbox;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let controller: ControllerProcess | undefined;
  let custom: k8s.CustomObjectsApi;
  let apps: k8s.AppsV1Api;
  let restic: ResticCounter | undefined;

  const session = async () => (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name: 'sts-restore' })) as RestoreSession;
  const statefulSet = () => apps.readNamespacedStatefulSet({ namespace: 'demo', name: STS });
  /** restic restore runs so far, per pod. */
  const restoreRuns = () => restic!.restoresByPod();
  const startController = () => startControllerProcess(['--kubeconfig', t.controllerKubeconfigPath, '--agent-image', AGENT, '--resync', '5s']);

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('e2e-restart');
    // Every restic run is counted, and HELD_POD's restore waits until released.
    restic = await countResticRuns(tmp.path, { holdPod: HELD_POD });

    const files = (host: string) => ({
      [`/source/data/${host}.json`]: `{"host":"${host}"}`,
      '/source/data/tmp.json': 'scratch',
      '/source/data/notes.txt': 'notes',
    });
    const repo = await makeRepo({
      dir: tmp.path,
      password: PASSWORD,
      snapshots: ['my-sts-0', 'my-sts-1', 'my-sts-2'].map((host) => ({ host, files: files(host) })),
    });
    t = await startEngine({ agentCommand: restic.agentCommand });
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    apps = t.kc.makeApiClient(k8s.AppsV1Api);
    await applyExampleCluster(t, { password: PASSWORD, repoPath: repo.repoPath });
    await eventually(async () => (await statefulSet()).status?.readyReplicas === 5, 60_000, 200);
  });
  after(async () => {
    restic?.release(); // lets a held restic go, whatever happened
    controller?.child.kill('SIGKILL');
    await t?.stop();
    await tmp?.cleanup();
  });

  it('finishes Succeeded with one restic restore per host and one roll of the StatefulSet', async () => {
    const before = await statefulSet();
    controller = await startController();
    const r = await t.kubectl(['apply', '--server-side', '-f', 'examples/clusters/demo/sts-restore.yaml']);
    assert.equal(r.code, 0, r.stderr);

    // Three hosts reported, my-sts-1's restore under way (held), my-sts-0 not rolled yet.
    const midway = await eventually(
      async () => {
        const s = await session();
        return s.status?.stats?.filter((x) => x.phase === 'Succeeded').length === 3 && restoreRuns()[HELD_POD] === 1 ? s : undefined;
      },
      180_000,
      100,
    );
    assert.equal(midway.status?.phase, 'Running');
    assert.deepEqual(
      midway.status?.stats
        ?.filter((x) => x.phase === 'Succeeded')
        .map((x) => x.hostname)
        .sort(),
      ['my-sts-2', 'my-sts-3', 'my-sts-4'],
    );
    const injected = await statefulSet();
    assert.equal(injected.metadata!.generation, before.metadata!.generation! + 1, 'injected once');

    controller.child.kill('SIGKILL');
    assert.deepEqual(await controller.exited, { code: null, signal: 'SIGKILL' });
    controller = await startController();
    restic!.release();

    const done = await eventually(
      async () => {
        const s = await session();
        return s.status?.phase === 'Succeeded' || s.status?.phase === 'Failed' ? s : undefined;
      },
      180_000,
      200,
    );
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status, null, 1));
    assert.deepEqual(
      done.status?.stats?.map((x) => `${x.hostname} ${x.phase}`).sort(),
      [0, 1, 2, 3, 4].map((i) => `my-sts-${i} Succeeded`),
    );
    assert.equal(done.status?.conditions?.find((c) => c.type === 'RestoreCompleted')?.reason, 'AllHostsSucceeded');
    assert.deepEqual(restoreRuns(), Object.fromEntries([0, 1, 2, 3, 4].map((i) => [`${STS}-${i}`, 1])), 'exactly one restic restore per host');
    const after = await statefulSet();
    assert.equal(after.metadata!.generation, before.metadata!.generation! + 1, 'the restarted controller did not roll the StatefulSet again');
    assert.deepEqual(after.spec!.template, injected.spec!.template);

    const volume = (i: number) => join(t.dir, 'volumes', 'demo', `source-data-${STS}-${i}`);
    for (const i of [0, 1, 2])
      assert.deepEqual(
        (await listTree(volume(i))).filter((p) => !p.endsWith('/')),
        [`/my-sts-${i}.json`],
      );
    for (const i of [3, 4])
      assert.deepEqual(
        (await listTree(volume(i))).filter((p) => !p.endsWith('/')),
        ['/my-sts-1.json', '/tmp.json'],
      );

    // The restarted controller took the session to its end (the agents write host stats only).
    await eventually(
      () => controller!.logs().some((l) => l['namespace'] === 'demo' && l['name'] === 'sts-restore' && /^Running → Succeeded/.test(String(l['msg']))),
      10_000,
    );
    assert.ok(!JSON.stringify(controller.logs()).includes(PASSWORD));
  });
});
