// The controller tells its own session writes from everyone else's, whichever of a write's watch
// event and its response comes first: events that arrive while a write is under way are held, and
// one that was not that write wakes the session once the write ends. The sandbox holds the status
// PUT while a change of someone else's is seen (the order kube-apiserver often has).
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { RestoreSession, RestoreSessionStatus } from '../../src/api/index.ts';
import { ControllerCluster } from '../../src/controller/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const NS = 'own-writes';

describe('controller: its own session writes', function () {
  this.timeout(60_000);
  let t: TestSandbox;
  let custom: k8s.CustomObjectsApi;
  let n = 0;

  before(async () => {
    t = await startSandbox({ simulate: false });
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    assert.equal((await t.kubectl(['create', 'namespace', NS])).code, 0);
  });
  afterEach(() => {
    t.sandbox.http.onRequest = undefined;
  });
  after(async () => t?.stop());

  async function newSession(): Promise<RestoreSession> {
    const name = `s${++n}`;
    const body = {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name, namespace: NS },
      spec: { repository: { name: 'repo' }, target: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' }, rules: [{ paths: ['/data'] }] } },
    };
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', '-'], stringify(body))).code, 0);
    return (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, name })) as RestoreSession;
  }
  const pending = () => ({ phase: 'Pending' }) as RestoreSessionStatus;
  const duringStatusWrite = (fn: () => void) => {
    t.sandbox.http.onRequest = (line) => {
      if (line.startsWith('PUT ') && line.includes('/status')) fn();
    };
  };

  it('an event of someone else seen while its write is under way wakes the session once the write ends, not before', async () => {
    const cluster = new ControllerCluster(t.kc);
    const s = await newSession();
    let woken = 0;
    let wokenDuringWrite: number | undefined;
    duringStatusWrite(() => {
      const theirs = { ...s, metadata: { ...s.metadata, resourceVersion: '999999999' } };
      assert.equal(
        cluster.ownEvent(theirs, () => woken++),
        true,
        'held while the write is under way',
      );
      wokenDuringWrite = woken;
    });
    const written = await cluster.updateStatus(s, pending);
    assert.equal(wokenDuringWrite, 0);
    assert.equal(woken, 1, 'woken once the write ended');
    // The event of the write itself, after its response: ours, nothing to wake.
    t.sandbox.http.onRequest = undefined;
    assert.equal(
      cluster.ownEvent(written, () => woken++),
      true,
    );
    assert.equal(woken, 1);
    // With no write under way, anyone's event is not ours.
    assert.equal(
      cluster.ownEvent({ ...written, metadata: { ...written.metadata, resourceVersion: '999999998' } }, () => woken++),
      false,
    );
  });

  it('an event held during a write that failed wakes the session', async () => {
    const cluster = new ControllerCluster(t.kc);
    const s = await newSession();
    let woken = 0;
    duringStatusWrite(() => {
      cluster.ownEvent(s, () => woken++);
    });
    // A status that fails validation: the write is refused.
    await assert.rejects(cluster.updateStatus(s, () => ({ phase: 42 }) as unknown as RestoreSessionStatus));
    assert.equal(woken, 1);
  });
});
