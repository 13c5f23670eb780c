// A daemon that has nothing to do costs nothing: once its watches are up, a cycle whose source,
// live objects and ledger are unchanged sends no API request and makes no commit; any change to
// one of them makes it plan again.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { sinkLogger } from '../../src/common/log.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { REPOSITORIES } from '../../src/kube/resources.ts';
import { GitSource } from '../../src/source/index.ts';
import { StatusWriter } from '../../src/status/index.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');

describe('daemon: a cycle with nothing to do', function () {
  this.timeout(120_000);
  let t: TestSandbox;
  let git: Awaited<ReturnType<typeof startGitServer>>;
  let work: WorkTree;
  let daemon: Daemon;
  const requests: string[] = [];
  const statusCommits = () => git.server.git('restores', ['rev-list', '--count', 'restore-status']).trim();

  before(async () => {
    t = await startSandbox({ log: sinkLogger((r) => void (/^[A-Z]+ \//.test(r.msg) && requests.push(r.msg)), { level: 'debug' }) });
    for (const args of [
      ['apply', '--server-side', '-f', 'deploy/crds'],
      ['apply', '-f', 'examples/cluster-state/namespace.yaml'],
    ]) {
      const r = await t.kubectl(args);
      assert.equal(r.code, 0, r.stderr);
    }
    git = await startGitServer();
    const url = git.server.createRepo('restores');
    work = new WorkTree(join(git.tmp, 'work'), git.server.repoPath('restores'));
    work
      .write({ 'clusters/demo/repository.yaml': example('repository.yaml'), 'clusters/demo/sts-restore.yaml': example('sts-restore.yaml') })
      .commit('A restore');
    work.push();
    daemon = new Daemon({
      source: new GitSource({ url, branch: 'main', path: 'clusters/demo', cacheDir: join(git.tmp, 'cache', 'source') }),
      statusWriter: new StatusWriter({ url, cacheDir: join(git.tmp, 'cache', 'status') }),
      kubeConfig: t.kc,
      cluster: 'demo',
      controller: { agent: { image: 'restorectl:test' }, resyncMs: 3_600_000 },
    });
    await daemon.watch();
  });
  after(async () => {
    daemon?.stop();
    await t?.stop();
    await git?.close();
  });

  /** Cycles until one finds nothing changed (its own writes come back through the watches first). */
  const quiet = () =>
    eventually(
      async () => {
        await daemon.controller.idle();
        return (await daemon.cycle()).unchanged;
      },
      30_000,
      50,
    );

  it('sends no request and makes no commit once nothing changes', async () => {
    const first = await daemon.cycle();
    assert.ok(first.ok, first.error);
    assert.deepEqual(
      first.applied.map((a) => `${a.action.action} ${a.action.kind}`),
      ['create Repository', 'create RestoreSession'],
    );
    await quiet();
    const before = requests.length;
    const commits = statusCommits();
    const r = await daemon.cycle();
    assert.equal(r.unchanged, true);
    assert.ok(r.ok, r.error);
    assert.deepEqual(requests.slice(before), []);
    assert.equal(statusCommits(), commits);
  });

  it('plans again when a live object changes, and still writes nothing when that changes nothing', async () => {
    await quiet();
    const custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    await custom.patchNamespacedCustomObject(
      { ...REPOSITORIES, namespace: 'demo', name: 'local-repo', body: { metadata: { labels: { touched: 'by-hand' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const r = await eventually(
      async () => {
        const c = await daemon.cycle();
        return c.unchanged ? undefined : c;
      },
      10_000,
      20,
    );
    assert.ok(r.plan);
    assert.equal(r.statusCommit, null);
  });

  it('plans again after a push, and rewrites only the status of what the push changed', async () => {
    await quiet();
    const tip = git.server.git('restores', ['rev-parse', 'restore-status']).trim();
    work.write({ 'clusters/demo/deployment-restore.yaml': example('deployment-restore.yaml') }).commit('Another restore');
    work.push();
    const r = await daemon.cycle();
    assert.notEqual(r.unchanged, true);
    assert.deepEqual(
      r.applied.map((a) => `${a.action.action} ${a.action.name}`),
      ['create deployment-restore'],
    );
    const touched = git.server.git('restores', ['diff', '--name-only', tip, 'restore-status']).trim().split('\n');
    assert.deepEqual(touched, ['clusters/demo/STATUS.md', 'clusters/demo/demo/deployment-restore.yaml']);
  });
});
