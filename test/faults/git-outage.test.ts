// A daemon restarted during a git outage (issue 17, item 5; part of the fault suite): `restorectl run` as a process, the
// git remote really down (its server closed, connections refused) and back on the same port. The
// controller drives the sessions already in the cluster from the cluster alone; the ledger, and
// so anything new, waits for git; once git is back the daemon notices within seconds (its retries
// are capped at 8 s while the remote is unreachable), not a minute later. The hosts' agents are
// stood in for by status writes (no workload simulator here).
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { RestoreSession } from '../../src/api/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { updateSessionStatus } from '../../src/kube/status-update.ts';
import { withHostStat } from '../../src/session/host-stats.ts';
import { readLedger } from '../../src/status/index.ts';
import { applyExampleCluster } from '../support/example-cluster.ts';
import { GitHttpServer, WorkTree, tempDir } from '../support/git-server.ts';
import { killAllDaemonProcesses, startDaemonProcess } from '../support/daemon-process.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');
const HOSTS = ['my-sts-0', 'my-sts-1', 'my-sts-2', 'my-sts-3', 'my-sts-4'];

describe('faults: a daemon restarted during a git outage', function () {
  this.timeout(180_000);
  let t: TestSandbox;
  let tmp: string;
  let git: GitHttpServer;
  let url: string;
  let custom: k8s.CustomObjectsApi;
  let ledgers = 0;

  const session = async () =>
    (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name: 'sts-restore' }).catch(() => undefined)) as
      | RestoreSession
      | undefined;
  const ledgerPhases = async () => {
    const ledger = await readLedger({ url, cluster: 'demo', cacheDir: join(tmp, `ledger-${++ledgers}`) });
    return [...ledger.executions.values()].map((e) => e.execution.phase);
  };
  const daemon = (cache: string) => startDaemonProcess({ url, kubeconfig: t.kubeconfigPath, cacheDir: join(tmp, cache) });

  before(async () => {
    t = await startSandbox({ simulate: false });
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    await applyExampleCluster(t, { password: 'not-used-here' }); // the Repository comes from git
    tmp = tempDir('git-outage-');
    git = await GitHttpServer.start({ root: join(tmp, 'repos') });
    url = git.createRepo('restores');
    const work = new WorkTree(join(tmp, 'work'), git.repoPath('restores'));
    work
      .write({ 'clusters/demo/repository.yaml': example('repository.yaml'), 'clusters/demo/sts-restore.yaml': example('sts-restore.yaml') })
      .commit('Restore the StatefulSet');
    work.push();
  });
  after(async () => {
    killAllDaemonProcesses();
    await t?.stop();
    await git?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('drives the running session to Succeeded from the cluster alone, and records it once git is back', async () => {
    // A first daemon creates the session and records it Running.
    const first = daemon('cache-1');
    await eventually(async () => (await session())?.status?.phase === 'Running', 60_000, 200);
    await eventually(async () => (await ledgerPhases()).join() === 'Running', 60_000, 500);
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0);

    // Git goes down; a new daemon (a pod rescheduled meanwhile) starts with no cache of its own.
    const port = Number(new URL(git.baseUrl).port);
    await git.close();
    const second = daemon('cache-2');
    try {
      // It finds git down (a warning or an error says so) before the hosts report.
      await eventually(() => second.lines().some((l) => l['level'] === 'warn' || l['level'] === 'error'), 60_000, 200);
      for (const host of HOSTS)
        await updateSessionStatus(custom, 'demo', 'sts-restore', (s) => withHostStat(s.status, { hostname: host, phase: 'Succeeded', duration: '2s' }));
      const drivenAt = Date.now();
      await eventually(async () => (await session())?.status?.phase === 'Succeeded', 60_000, 100);
      console.log(`      git down: the session went Running → Succeeded ${Date.now() - drivenAt} ms after its last host reported`);
      assert.ok(!second.lines().some((l) => /^create /.test(String(l['msg']))), 'nothing is created without the ledger');

      // Git comes back on the same address: the ledger is read and records the outcome.
      git = await GitHttpServer.start({ root: join(tmp, 'repos'), port });
      const back = Date.now();
      await eventually(async () => (await ledgerPhases()).join() === 'Succeeded', 60_000, 200);
      console.log(`      git back: the ledger recorded Succeeded ${Date.now() - back} ms later`);
      assert.ok(
        second.lines().some((l) => l['msg'] === 'read the ledger from the status branch'),
        second.stderr(),
      );
    } finally {
      second.child.kill('SIGTERM');
      const end = await second.exited;
      assert.equal(end.code, 0, end.stderr);
    }
  });
});
