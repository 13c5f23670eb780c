// The daemon keeps validation and planning from cycle to cycle (issue 16): a push that changes one
// file re-checks and re-plans what that file's objects are read by, in the other files too.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Daemon } from '../../src/daemon/daemon.ts';
import { GitSource } from '../../src/source/index.ts';
import { example, startFixture } from './fixture.ts';
import type { Fixture } from './fixture.ts';

describe('daemon: a push re-plans the sessions that read what it changed', function () {
  this.timeout(120_000);
  let f: Fixture;
  let d: Daemon | undefined;
  const twoBackends = example('repository.yaml').replace(
    '    storageSecretName:',
    '    s3: {endpoint: s3.amazonaws.com, bucket: backups}\n    storageSecretName:',
  );

  before(async () => {
    f = await startFixture({ 'clusters/demo/repository.yaml': twoBackends, 'clusters/demo/sts-restore.yaml': example('sts-restore.yaml') });
  });
  after(async () => {
    d?.stop();
    await f?.close();
  });

  it("a session blocked by its Repository's errors is created once only the Repository's file is fixed", async () => {
    d = new Daemon({
      source: new GitSource({ url: f.url, branch: 'main', path: 'clusters/demo', cacheDir: join(f.git.tmp, 'source') }),
      kubeConfig: f.t.controllerKc,
      cluster: 'demo',
      controller: { agent: { image: 'restorectl:test' }, pollMs: 50 },
    });
    const first = await d.cycle();
    const blocked = first.plan!.actions.find((a) => a.name === 'sts-restore')!;
    assert.equal(blocked.action, 'blocked');
    assert.match(blocked.reason!, /its Repository demo\/local-repo has errors/);
    assert.deepEqual(await f.sessions('demo'), []);

    // The session's file is the same blob; only the Repository's changes.
    f.work.write({ 'clusters/demo/repository.yaml': example('repository.yaml') }).commit('One backend');
    f.work.push();
    const second = await d.cycle();
    assert.ok(second.ok, second.error);
    assert.deepEqual(
      second.applied.map((a) => `${a.action.action} ${a.action.kind} ${a.action.name}`),
      ['create Repository local-repo', 'create RestoreSession sts-restore'],
    );
    assert.deepEqual(
      (await f.sessions('demo')).map((s) => s.metadata.name),
      ['sts-restore'],
    );

    // And back: the Repository's error blocks nothing already created, but is reported against its file.
    f.work.write({ 'clusters/demo/repository.yaml': twoBackends }).commit('Two backends again');
    f.work.push();
    const third = await d.cycle();
    assert.match(third.error ?? '', /error/);
    assert.equal(third.plan!.actions.find((a) => a.name === 'local-repo')!.action, 'blocked');
    assert.match(third.plan!.diagnostics.map((x) => `${x.file}: ${x.message}`).join('\n'), /repository\.yaml: spec\.backend names local and s3/);
  });
});
