// Exactly-once across crashes (DESIGN §2): the daemon runs as its own process (`restorectl run`)
// and is killed with SIGKILL at the two dangerous instants of a cycle, between the ledger push
// and the create, and between the create and the first status. Restarted, it finishes each
// restore, and restic ran exactly once per execution: every `restic restore` the agents start
// goes through a wrapper that counts it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { readLedger } from '../../src/status/index.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { killAllDaemonProcesses, startDaemonProcess } from '../support/daemon-process.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import { applyExampleCluster } from '../support/example-cluster.ts';
import { countResticRuns } from '../support/restic-counter.ts';
import type { ResticCounter } from '../support/restic-counter.ts';
import { listTree, makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { eventually, startEngine } from '../support/sandbox.ts';
import type { EngineSandbox } from '../support/sandbox.ts';

const PASSWORD = 'crash-test password, never printed';
const example = (name: string) => readFileSync(join(REPO_ROOT, 'examples', 'clusters', 'demo', name), 'utf8');

describe('daemon: killed at any instant, each restore still runs exactly once', function () {
  this.timeout(300_000);
  let tmp: { path: string; cleanup: () => Promise<void> };
  let t: EngineSandbox;
  let git: Awaited<ReturnType<typeof startGitServer>>;
  let work: WorkTree;
  let url: string;
  let restic: ResticCounter;

  /** `restorectl run` as its own process (test/support/daemon-process.ts). */
  const daemon = (env: Record<string, string> = {}) =>
    startDaemonProcess({ url, kubeconfig: t.controllerKubeconfigPath, cacheDir: join(tmp.path, 'cache'), env });
  const session = async (name: string) =>
    (await t.kc
      .makeApiClient(k8s.CustomObjectsApi)
      .getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name })
      .catch(() => undefined)) as RestoreSession | undefined;
  const resticRestores = () => restic.restores();
  const ledgerPhases = async (cacheName: string) => {
    const ledger = await readLedger({ url, cluster: 'demo', cacheDir: join(tmp.path, cacheName) });
    return [...ledger.executions.values()].filter((e) => e.session.name === 'deployment-restore').map((e) => e.execution.phase);
  };
  /** Runs the daemon until the session's current execution is final on the status branch, then stops it. */
  const runToCompletion = async (label: string, executions: number) => {
    const d = daemon();
    try {
      await eventually(
        async () => {
          const phases = await ledgerPhases(`ledger-${label}-${Date.now()}`);
          return phases.length === executions && phases.every((p) => p === 'Succeeded');
        },
        180_000,
        1000,
      );
    } finally {
      d.child.kill('SIGTERM');
      const end = await d.exited;
      assert.equal(end.code, 0, `the daemon did not stop cleanly on SIGTERM:\n${end.stderr}`);
      assert.doesNotMatch(end.stderr, new RegExp(PASSWORD));
    }
  };

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('daemon-crash');
    // Every restic the agents start is a wrapper first: it notes the call, then runs restic.
    restic = await countResticRuns(tmp.path);

    const repo = await makeRepo({ dir: tmp.path, password: PASSWORD, snapshots: [{ host: 'app', files: { '/source/data/app.json': '{"host":"app"}' } }] });
    t = await startEngine({ agentCommand: restic.agentCommand });
    await applyExampleCluster(t, { password: PASSWORD }); // the Repository comes from git

    git = await startGitServer();
    url = git.server.createRepo('restores');
    work = new WorkTree(join(git.tmp, 'work'), git.server.repoPath('restores'));
    const repository = parse(example('repository.yaml'));
    repository.spec.backend.local.hostPath.path = repo.repoPath;
    work
      .write({ 'clusters/demo/repository.yaml': stringify(repository), 'clusters/demo/deployment-restore.yaml': example('deployment-restore.yaml') })
      .commit('Restore the app');
    work.push();
  });
  after(async () => {
    killAllDaemonProcesses();
    await t?.stop();
    await git?.close();
    await tmp?.cleanup();
  });

  it('killed between the ledger push and the create: the restart creates it and it runs once', async () => {
    const crashed = await daemon({ RESTORECTL_FAILPOINT: 'after-ledger-push' }).exited;
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    assert.deepEqual(await ledgerPhases('ledger-crash-1'), ['Accepted']);
    assert.equal(await session('deployment-restore'), undefined, 'nothing is created before the crash point');

    await runToCompletion('one', 1);
    assert.equal((await session('deployment-restore'))?.status?.phase, 'Succeeded');
    assert.equal(resticRestores().length, 1, resticRestores().join('\n'));
    const restored = await listTree(join(t.dir, 'volumes', 'demo', 'stash-sample-data'));
    assert.ok(restored.includes('/app.json'), restored.join(', '));
  });

  it('killed between the create and the first status: the restart drives it, and it runs once more only for the bumped rerun', async () => {
    work
      .write({
        'clusters/demo/deployment-restore.yaml': example('deployment-restore.yaml').replace(
          '  namespace: demo\n',
          '  namespace: demo\n  annotations:\n    restore.gitops/rerun: "1"\n',
        ),
      })
      .commit('Restore the app again');
    work.push();
    const crashed = await daemon({ RESTORECTL_FAILPOINT: 'after-create' }).exited;
    assert.equal(crashed.signal, 'SIGKILL', crashed.stderr);
    const created = await session('deployment-restore');
    assert.ok(created, 'the session was created before the crash');
    assert.equal(created.status?.phase ?? 'none', 'none', 'no status was written before the crash');
    assert.deepEqual(await ledgerPhases('ledger-crash-2'), ['Succeeded', 'Accepted']);

    await runToCompletion('two', 2);
    assert.equal(resticRestores().length, 2, resticRestores().join('\n'));

    // And once more for good measure: a restarted daemon with nothing new runs nothing.
    const idle = daemon();
    await eventually(() => /"msg":"running"/.test(idle.stderr()), 60_000, 100);
    await new Promise((r) => setTimeout(r, 2000));
    idle.child.kill('SIGTERM');
    assert.equal((await idle.exited).code, 0);
    assert.equal(resticRestores().length, 2, resticRestores().join('\n'));
  });
});
