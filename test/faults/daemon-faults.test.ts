// The fault suite (issue 17), small enough for every CI run: `restorectl run` as a process with real
// restic restores (every `restic restore` counted by test/support/restic-counter.ts) and a real git
// smart-HTTP server, hit by
//   - kill -9 at random instants, at least 10 per run, across several executions (reruns), with the
//     API server refusing connections for a while as a host finishes;
//   - two daemons acting at once on one status branch (no leader election).
// It asserts no double restore and no lost status commit, and prints its figures (kills, restores,
// doubles, lost commits, recovery times, the seed: RESTORECTL_FAULT_SEED=<seed> replays the kill
// points). The git outage with a daemon restart is test/faults/git-outage.test.ts; the agent's side
// of an API outage is test/faults/agent-api-outage.test.ts. test/daemon/crash.test.ts kills at the
// two named failpoints; this kills anywhere.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { readLedger } from '../../src/status/index.ts';
import { killAllDaemonProcesses, startDaemonProcess } from '../support/daemon-process.ts';
import type { DaemonProcess } from '../support/daemon-process.ts';
import { applyExampleCluster, exampleManifest } from '../support/example-cluster.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import { countResticRuns } from '../support/restic-counter.ts';
import type { ResticCounter } from '../support/restic-counter.ts';
import { makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';
import { rng as prng } from '../support/rng.ts';

const PASSWORD = 'fault-suite password, never printed';
const MIN_KILLS = 10;
const EXECUTIONS = 2; // the first run and a rerun

describe('faults: kill -9, API and concurrent daemons never restore twice nor lose a status commit', function () {
  this.timeout(300_000);
  const seed = Number(process.env['RESTORECTL_FAULT_SEED'] ?? Date.now() % 1_000_000);
  const random = prng(seed);
  let tmp: { path: string; cleanup: () => Promise<void> };
  let t: TestSandbox;
  let git: Awaited<ReturnType<typeof startGitServer>>;
  let work: WorkTree;
  let url: string;
  let restic: ResticCounter;
  let custom: k8s.CustomObjectsApi;
  let daemons = 0;
  let ledgerReads = 0;
  const figures: string[] = [];

  const daemon = (): DaemonProcess => startDaemonProcess({ url, kubeconfig: t.kubeconfigPath, cacheDir: join(tmp.path, `cache-${++daemons}`) });
  const session = async () =>
    (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name: 'deployment-restore' }).catch(() => undefined)) as
      | RestoreSession
      | undefined;
  const ledgerPhases = async () => {
    const ledger = await readLedger({ url, cluster: 'demo', cacheDir: join(tmp.path, `ledger-${++ledgerReads}`) });
    return [...ledger.executions.values()].filter((e) => e.session.name === 'deployment-restore').map((e) => e.execution.phase);
  };
  const done = async (executions: number) => {
    const phases = await ledgerPhases();
    return phases.length === executions && phases.every((p) => p === 'Succeeded');
  };
  const stop = async (d: DaemonProcess) => {
    // SIGTERM is handled once the daemon runs; one still loading its modules dies of it, as any
    // process does. A restart can find its work already done (the killed daemons finished it).
    await eventually(() => d.child.exitCode !== null || d.lines().some((l) => l['msg'] === 'running'), 120_000, 100);
    d.child.kill('SIGTERM');
    const end = await d.exited;
    assert.equal(end.code, 0, `the daemon did not stop cleanly on SIGTERM:\n${end.stderr.slice(-4000)}`);
    assert.doesNotMatch(end.stderr, new RegExp(PASSWORD));
  };
  const declare = (rerun: number | undefined) => {
    const s = exampleManifest('deployment-restore.yaml');
    if (rerun !== undefined) s.metadata.annotations = { 'restore.gitops/rerun': String(rerun) };
    work.write({ 'clusters/demo/deployment-restore.yaml': stringify(s) }).commit(rerun === undefined ? 'Restore the app' : `Restore the app again (${rerun})`);
    work.push();
  };

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('fault-suite');
    restic = await countResticRuns(tmp.path);
    const repo = await makeRepo({ dir: tmp.path, password: PASSWORD, snapshots: [{ host: 'app', files: { '/source/data/app.json': '{"host":"app"}' } }] });
    t = await startSandbox({ agentCommand: restic.agentCommand });
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    await applyExampleCluster(t, { password: PASSWORD });
    git = await startGitServer();
    url = git.server.createRepo('restores');
    // Every update of the status branch is logged, so a commit a push replaced would show.
    git.server.git('restores', ['config', 'core.logAllRefUpdates', 'always']);
    work = new WorkTree(join(git.tmp, 'work'), git.server.repoPath('restores'));
    const repository = parse(stringify(exampleManifest('repository.yaml')));
    repository.spec.backend.local.hostPath.path = repo.repoPath;
    work.write({ 'clusters/demo/repository.yaml': stringify(repository) });
    declare(undefined);
  });
  after(async () => {
    killAllDaemonProcesses();
    await t?.sandbox.http.acceptConnections();
    await t?.stop();
    await git?.close();
    await tmp?.cleanup();
    console.log(`      fault suite (seed ${seed}):\n${figures.map((f) => `        ${f}`).join('\n')}`);
  });

  it(`kill -9 at random instants (at least ${MIN_KILLS}) over ${EXECUTIONS} executions, an API outage as the host finishes: every execution restores exactly once`, async () => {
    let kills = 0;
    const recoveries: number[] = [];
    const killPoints: number[] = [];
    for (let execution = 1; execution <= EXECUTIONS; execution++) {
      if (execution > 1) declare(execution - 1);
      const killsHere = Math.ceil((MIN_KILLS - kills) / (EXECUTIONS - execution + 1));
      for (let k = 0; k < killsHere; k++) {
        const d = daemon();
        const at = Math.round(500 + random() * 4500);
        await new Promise((r) => setTimeout(r, at));
        d.child.kill('SIGKILL');
        const end = await d.exited;
        assert.equal(end.signal, 'SIGKILL', end.stderr.slice(-2000));
        kills++;
        killPoints.push(at);
      }
      // The last restart runs it to the end; in the second execution, the API server refuses
      // connections for 3 s as soon as the session runs (the host is restoring, or finishing).
      const restartedAt = Date.now();
      const d = daemon();
      try {
        if (execution === 2) {
          // Running, or already done by a daemon killed before (the outage then hits the follow-up).
          await eventually(async () => ['Running', 'Succeeded'].includes((await session())?.status?.phase ?? ''), 120_000, 100);
          await t.sandbox.http.refuseConnections();
          await new Promise((r) => setTimeout(r, 3000));
          await t.sandbox.http.acceptConnections();
        }
        await eventually(() => done(execution), 180_000, 500);
        recoveries.push(Date.now() - restartedAt);
      } finally {
        await t.sandbox.http.acceptConnections();
        await stop(d);
      }
      assert.equal(restic.restores().length, execution, `after execution ${execution}:\n${restic.restores().join('\n')}`);
    }
    const doubles = restic.restores().length - EXECUTIONS;
    figures.push(
      `kill -9: ${kills} kills (at ${killPoints.map((ms) => `${(ms / 1000).toFixed(1)}s`).join(', ')} after start), ${EXECUTIONS} executions, ${restic.restores().length} restic restores, ${doubles} doubles`,
      `recovery (last restart → the ledger says Succeeded): ${recoveries.map((ms) => `${(ms / 1000).toFixed(1)}s`).join(', ')}; API outage 3s in execution 2`,
    );
    assert.ok(kills >= MIN_KILLS);
    assert.equal(doubles, 0);
    assert.equal((await session())?.status?.phase, 'Succeeded');
  });

  it('two daemons acting at once on one status branch: one restore, no status commit lost', async () => {
    const before = restic.restores().length;
    declare(EXECUTIONS);
    const started = Date.now();
    const a = daemon();
    const b = daemon();
    try {
      await eventually(() => done(EXECUTIONS + 1), 180_000, 500);
    } finally {
      await Promise.all([stop(a), stop(b)]);
    }
    const restores = restic.restores().length - before;
    // Every value the status branch ever had is in the history of its tip: no push replaced another's commit.
    const updates = git.server.git('restores', ['reflog', 'show', '--format=%H', 'refs/heads/restore-status']).trim().split('\n').filter(Boolean);
    const lost = updates.filter((c) => {
      try {
        git.server.git('restores', ['merge-base', '--is-ancestor', c, 'refs/heads/restore-status']);
        return false;
      } catch {
        return true;
      }
    });
    figures.push(
      `two daemons: ${restores} restic restore for 1 execution, ${updates.length} status branch updates, ${lost.length} lost commits, Succeeded in the ledger after ${((Date.now() - started) / 1000).toFixed(1)}s`,
    );
    assert.equal(restores, 1, restic.restores().join('\n'));
    assert.deepEqual(lost, []);
    assert.ok(updates.length > 0);
  });
});
