// The daemon's own requests (the Applier's creates above all) share keep-alive connections: with
// client-node's agent per request, each was a new TCP connection (and a TLS handshake against a
// real API server), whose sockets and TLS state stayed in memory until a full GC.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Daemon } from '../../src/daemon/daemon.ts';
import { GitSource } from '../../src/source/index.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import { startSandbox } from '../support/sandbox.ts';

const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');

describe('daemon: connections', function () {
  this.timeout(120_000);

  it('creates 40 sessions over fewer connections than sessions (keep-alive, at most the Applier’s lanes and the controller’s)', async () => {
    const t = await startSandbox({ simulate: false });
    const git = await startGitServer();
    let daemon: Daemon | undefined;
    try {
      for (const args of [
        ['apply', '--server-side', '-f', 'deploy/crds'],
        ['apply', '-f', 'examples/cluster-state/namespace.yaml'],
      ]) {
        const r = await t.kubectl(args);
        assert.equal(r.code, 0, r.stderr);
      }
      const url = git.server.createRepo('restores');
      const work = new WorkTree(join(git.tmp, 'work'), git.server.repoPath('restores'));
      const files: Record<string, string> = { 'clusters/demo/repository.yaml': example('repository.yaml') };
      const session = example('sts-restore.yaml');
      for (let i = 0; i < 40; i++) files[`clusters/demo/restore-${i}.yaml`] = session.replace(/^ {2}name: .*$/m, `  name: restore-${i}`);
      work.write(files).commit('40 restores');
      work.push();
      daemon = new Daemon({
        source: new GitSource({ url, branch: 'main', path: 'clusters/demo', cacheDir: join(git.tmp, 'cache', 'source') }),
        kubeConfig: t.kc,
        cluster: 'demo',
        controller: { agent: { image: 'restorectl:test' }, resyncMs: 3_600_000 },
      });
      await daemon.watch();
      let connections = 0;
      t.sandbox.http.server.on('connection', () => connections++);
      const report = await daemon.cycle();
      assert.equal(report.applied.filter((a) => a.ok && a.action.kind === 'RestoreSession' && a.action.action === 'create').length, 40, report.error);
      assert.ok(connections < 40, `${connections} connections for 40 creates`);
    } finally {
      daemon?.stop();
      await daemon?.drain();
      await git.close();
      await t.stop();
    }
  });
});
