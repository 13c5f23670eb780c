// `restorectl run --namespace NS`: the daemon of the namespaced install lists, creates and prunes in
// NS only; manifests for other namespaces are refused with an error where they are written.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Daemon } from '../../src/daemon/daemon.ts';
import { confineToNamespace } from '../../src/daemon/namespace.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { loadDesired } from '../../src/manifests/index.ts';
import { GitSource } from '../../src/source/index.ts';
import { StatusWriter, readLedger } from '../../src/status/index.ts';
import { example, startFixture } from './fixture.ts';
import type { Fixture } from './fixture.ts';

const repositoryWithoutNamespace = example('repository.yaml').replace('  namespace: demo\n', '');
const otherRestore = example('sts-restore.yaml').replace('  name: sts-restore\n  namespace: demo\n', '  name: other-restore\n  namespace: other\n');
const crossRepository = example('sts-restore.yaml')
  .replace('  name: sts-restore\n', '  name: cross-restore\n')
  .replace('    name: local-repo\n', '    name: local-repo\n    namespace: other\n');

describe('namespace confinement (pure)', () => {
  it('refuses objects of other namespaces and sessions using a Repository elsewhere, pointing at the line', () => {
    const desired = loadDesired(
      [
        { path: 'repo.yaml', text: repositoryWithoutNamespace },
        { path: 'sts.yaml', text: example('sts-restore.yaml') },
        { path: 'other.yaml', text: otherRestore },
        { path: 'cross.yaml', text: crossRepository },
      ],
      { defaultNamespace: 'demo' },
    );
    const confined = confineToNamespace(desired, 'demo');
    assert.deepEqual(
      confined.repositories.map((m) => `${m.object.metadata.namespace}/${m.object.metadata.name}`),
      ['demo/local-repo'],
      "no namespace: the daemon's",
    );
    assert.deepEqual(
      confined.sessions.map((m) => m.object.metadata.name),
      ['sts-restore'],
    );
    const errors = confined.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file}:${d.line}: ${d.message}`);
    assert.equal(errors.length, 2, errors.join('\n'));
    assert.match(
      errors[0]!,
      /^other\.yaml:7: RestoreSession other\/other-restore refused: this daemon runs with --namespace demo and applies nothing in namespace other; move it .* or set metadata\.namespace: demo$/,
    );
    assert.match(errors[1]!, /^cross\.yaml:\d+: RestoreSession demo\/cross-restore refused: its Repository other\/local-repo is outside namespace demo/);
    assert.ok(confined.refused.has('RestoreSession/other/other-restore'), [...confined.refused].join(', '));
  });
});

describe('daemon --namespace on the sandbox', function () {
  this.timeout(120_000);
  let f: Fixture;
  let daemon: Daemon;

  before(async () => {
    f = await startFixture({
      'clusters/demo/repository.yaml': repositoryWithoutNamespace,
      'clusters/demo/sts-restore.yaml': example('sts-restore.yaml'),
      'clusters/demo/other.yaml': otherRestore,
    });
    const ns = await f.t.kubectl(['create', 'namespace', 'other']);
    assert.equal(ns.code, 0, ns.stderr);
    // A finished session this daemon created once in `other` and that git no longer declares: a
    // cluster-wide daemon would prune it; one confined to `demo` must not even see it.
    const leftover = example('sts-restore.yaml').replace(
      '  name: sts-restore\n  namespace: demo\n',
      '  name: leftover\n  namespace: other\n  labels:\n    app.kubernetes.io/managed-by: restore-controller\n',
    );
    const r = await f.t.kubectl(['apply', '-f', '-'], leftover);
    assert.equal(r.code, 0, r.stderr);
    const s = (await f.custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'other', name: 'leftover' })) as object;
    await f.custom.replaceNamespacedCustomObjectStatus({
      ...RESTORE_SESSIONS,
      namespace: 'other',
      name: 'leftover',
      body: { ...s, status: { phase: 'Succeeded' } },
    });

    const cacheDir = join(f.git.tmp, 'ns-cache');
    daemon = new Daemon({
      source: new GitSource({ url: f.url, branch: 'main', path: 'clusters/demo', cacheDir: join(cacheDir, 'source') }),
      statusWriter: new StatusWriter({ url: f.url, cacheDir: join(cacheDir, 'status') }),
      ledger: await readLedger({ url: f.url, cluster: 'demo', cacheDir: join(cacheDir, 'ledger') }),
      kubeConfig: f.t.kc,
      cluster: 'demo',
      namespace: 'demo',
      controller: { agent: { image: 'restorectl:test' }, watch: false },
    });
  });
  after(async () => {
    daemon?.stop();
    await f?.close();
  });

  it("creates in its namespace (a manifest without one included), refuses the other namespace's manifest with an error, and never touches that namespace", async () => {
    const r = await daemon.cycle();
    assert.deepEqual(
      r.applied.map((a) => `${a.action.action} ${a.action.kind} ${a.action.namespace}/${a.action.name}`),
      ['create Repository demo/local-repo', 'create RestoreSession demo/sts-restore'],
    );
    const refused = r.plan!.diagnostics.filter((d) => d.severity === 'error');
    assert.equal(refused.length, 1, JSON.stringify(refused));
    assert.equal(refused[0]!.file, 'clusters/demo/other.yaml');
    assert.match(refused[0]!.message, /other\/other-restore refused: this daemon runs with --namespace demo/);
    assert.ok(!r.plan!.actions.some((a) => a.namespace === 'other'), JSON.stringify(r.plan!.actions));
    assert.deepEqual(
      (await f.sessions('other')).map((s) => s.metadata.name),
      ['leftover'],
      'not created in other, and the leftover is not pruned',
    );
    assert.deepEqual(
      (await f.sessions('demo')).map((s) => s.metadata.name),
      ['sts-restore'],
    );
  });

  it('a second cycle plans nothing new there either', async () => {
    const r = await daemon.cycle();
    assert.equal(r.applied.length, 0);
    assert.deepEqual(
      (await f.sessions('other')).map((s) => s.metadata.name),
      ['leftover'],
    );
  });
});
