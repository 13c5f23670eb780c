// The daemon's view of the cluster holds what Task restores are checked against (issue #14):
// Stash's Tasks and Functions and the AppBindings, watch-fed like sessions and Repositories, so a
// session naming an installed Task of one's own is planned (as `restorectl plan --cluster-state`
// plans it), not blocked as unknown. A cluster without those CRDs has none of them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { LiveObjects } from '../../src/daemon/live-objects.ts';
import { ClusterState, validateSource } from '../../src/manifests/index.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const SESSION = `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata:
  name: own-task-restore
  namespace: demo
spec:
  task:
    name: my-pvc-restore
  repository:
    name: local-repo
  target:
    ref:
      apiVersion: v1
      kind: PersistentVolumeClaim
      name: data
    rules:
    - snapshots: [latest]
`;

const REPOSITORY = readFileSync(new URL('../../examples/clusters/demo/repository.yaml', import.meta.url), 'utf8');

describe("daemon: the cluster state lists Stash's Tasks, Functions and AppBindings", function () {
  this.timeout(60_000);
  let t: TestSandbox;
  let live: LiveObjects | undefined;
  afterEach(async () => {
    await live?.stop();
    live = undefined;
    await t?.stop();
  });
  const apply = async (o: object) => {
    const r = await t.kubectl(['apply', '--server-side', '-f', '-'], stringify(o));
    assert.equal(r.code, 0, r.stderr);
  };
  const errorsOf = async (l: LiveObjects) => {
    const snap = await l.read();
    const cluster = new ClusterState([...snap.sessions, ...snap.repositories, ...snap.catalog], { completeKinds: snap.completeKinds });
    const files = [
      { path: 'clusters/demo/repository.yaml', text: REPOSITORY },
      { path: 'clusters/demo/own-task.yaml', text: SESSION },
    ];
    return validateSource(files, cluster)
      .diagnostics.filter((d) => d.severity === 'error')
      .map((d) => d.message);
  };

  it('sees an installed Task and its Function from its watches, and no longer calls the session unknown', async () => {
    t = await startSandbox();
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    live = new LiveObjects(t.kc);
    await live.start();
    const before = await errorsOf(live);
    assert.equal(before.length, 1, before.join('\n'));
    assert.match(before[0]!, /Task "my-pvc-restore" is neither in the cluster state .*; the cluster state has no Tasks/);

    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'Function',
      metadata: { name: 'my-restore-fn' },
      spec: { image: 'example.org/restorer:1', args: ['--target=${TARGET_NAME}'] },
    });
    await apply({ apiVersion: 'stash.appscode.com/v1beta1', kind: 'Task', metadata: { name: 'my-pvc-restore' }, spec: { steps: [{ name: 'my-restore-fn' }] } });
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } });
    await apply({
      apiVersion: 'appcatalog.appscode.com/v1alpha1',
      kind: 'AppBinding',
      metadata: { name: 'sample-postgres', namespace: 'demo' },
      spec: { clientConfig: { url: 'postgres://db:5432' } },
    });
    const snap = await eventually(async () => {
      const s = await live!.read();
      return s.catalog.length === 3 ? s : undefined;
    });
    assert.deepEqual(snap.catalog.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'AppBinding/sample-postgres',
      'Function/my-restore-fn',
      'Task/my-pvc-restore',
    ]);
    assert.deepEqual(snap.completeKinds, ['RestoreSession', 'Repository', 'Task', 'Function', 'AppBinding']);
    assert.notEqual(snap.generation, undefined, 'read from the watches');
    assert.deepEqual(await errorsOf(live), []);
  });

  it('starts on a cluster that does not serve them, and takes that as none', async () => {
    t = await startSandbox();
    for (const crd of ['stash.appscode.com_restoresessions.yaml', 'stash.appscode.com_repositories.yaml']) {
      assert.equal((await t.kubectl(['apply', '--server-side', '-f', `deploy/crds/${crd}`])).code, 0);
    }
    live = new LiveObjects(t.kc);
    await live.start();
    const snap = await live.read();
    assert.deepEqual(snap.catalog, []);
    assert.deepEqual(snap.completeKinds, ['RestoreSession', 'Repository', 'Task', 'Function', 'AppBinding']);
    assert.notEqual(snap.generation, undefined, 'a cycle that changes nothing still costs no request');
  });
});
