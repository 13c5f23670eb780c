// The Applier on the sandbox: creates go out with bounded concurrency (many in flight, never more
// than the bound), Repositories before sessions, one failure does not stop the others, and the
// results follow the plan's order. In-flight requests are counted by the sandbox, not timed.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import type { Repository, RestoreSession } from '../../src/api/index.ts';
import { Applier } from '../../src/apply/index.ts';
import { Controller } from '../../src/controller/index.ts';
import type { DesiredSet } from '../../src/manifests/desired.ts';
import type { Action, Plan } from '../../src/plan/types.ts';
import { startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const NS = 'apply';
const source = { url: 'https://git.example/restores.git', commit: 'abc123' };

const sessionObject = (name: string): RestoreSession =>
  ({
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'RestoreSession',
    metadata: { name, namespace: NS },
    spec: { repository: { name: 'repo' }, target: { ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' } } },
  }) as RestoreSession;
const repositoryObject = (): Repository =>
  ({
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Repository',
    metadata: { name: 'repo', namespace: NS },
    spec: { backend: { local: { mountPath: '/safe', hostPath: { path: '/data' } }, storageSecretName: 'repo-secret' } },
  }) as Repository;

const action = (kind: Action['kind'], name: string, act: Action['action'] = 'create'): Action => ({
  action: act,
  kind,
  namespace: NS,
  name,
  file: `${name}.yaml`,
  contentId: kind === 'RestoreSession' ? `cid-${name}` : '',
});

describe('Applier', function () {
  this.timeout(60_000);
  let t: TestSandbox;
  before(async () => {
    t = await startSandbox({ simulate: false });
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    await t.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: NS } } });
  });
  after(() => t?.stop());

  it('creates with bounded concurrency: many requests in flight, never more than the bound; Repositories first; results in plan order', async () => {
    const names = Array.from({ length: 60 }, (_, i) => `s-${i}`);
    const desired: DesiredSet = {
      sessions: names.map((n) => ({ object: sessionObject(n), file: `${n}.yaml`, doc: 0, text: '' })),
      repositories: [{ object: repositoryObject(), file: 'repo.yaml', doc: 0, text: '' }],
      refused: new Set(),
      diagnostics: [],
    };
    // The Repository is listed last in the plan: it still goes out first.
    const plan: Plan = { sourceCommit: 'abc123', diagnostics: [], actions: [...names.map((n) => action('RestoreSession', n)), action('Repository', 'repo')] };
    let inFlight = 0;
    let most = 0;
    const order: string[] = [];
    t.sandbox.http.onRequest = (line, _req, res) => {
      if (!line.startsWith('POST ')) return;
      order.push(line.includes('/repositories') ? 'repo' : 'session');
      most = Math.max(most, ++inFlight);
      res.on('finish', () => inFlight--);
      // Each create takes a while, as on a busy API server: what a serial Applier would wait for.
      return new Promise((r) => setTimeout(r, 20));
    };
    const applied = await new Applier(t.kc, { concurrency: 8 }).apply(plan, desired, source);
    t.sandbox.http.onRequest = undefined;

    assert.equal(applied.length, 61);
    assert.ok(
      applied.every((a) => a.ok),
      applied.find((a) => !a.ok)?.error,
    );
    assert.deepEqual(
      applied.map((a) => a.action.name),
      plan.actions.map((a) => a.name),
      'results in the plan order',
    );
    assert.equal(order[0], 'repo', 'the Repository is created before any session');
    assert.ok(most > 1, `requests overlap (at most ${most} in flight)`);
    assert.ok(most <= 8, `never more than the bound in flight (${most})`);
    const live = (await t.kc.makeApiClient(k8s.CustomObjectsApi).listNamespacedCustomObject({
      group: 'stash.appscode.com',
      version: 'v1beta1',
      plural: 'restoresessions',
      namespace: NS,
    })) as { items: RestoreSession[] };
    assert.equal(live.items.length, 60);
  });

  it("creates sessions with the controller's cleanup finalizer: its first reconcile need not PUT it", async () => {
    // A namespace of their own: the controller below drives only these.
    const ns = 'apply-finalizer';
    await t.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    const names = ['fin-1', 'fin-2', 'fin-3'];
    const desired: DesiredSet = {
      sessions: names.map((n) => ({ object: { ...sessionObject(n), metadata: { name: n, namespace: ns } }, file: `${n}.yaml`, doc: 0, text: '' })),
      repositories: [],
      refused: new Set(),
      diagnostics: [],
    };
    const plan: Plan = { sourceCommit: 'abc123', diagnostics: [], actions: names.map((n) => ({ ...action('RestoreSession', n), namespace: ns })) };
    const applied = await new Applier(t.kc).apply(plan, desired, source);
    assert.ok(
      applied.every((a) => a.ok),
      applied.find((a) => !a.ok)?.error,
    );
    const custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    const get = (name: string) =>
      custom.getNamespacedCustomObject({
        group: 'stash.appscode.com',
        version: 'v1beta1',
        plural: 'restoresessions',
        namespace: ns,
        name,
      }) as Promise<RestoreSession>;
    for (const n of names) assert.deepEqual((await get(n)).metadata.finalizers, ['restore.gitops/cleanup'], `${n} is created with the finalizer`);

    const HOUR = 3_600_000;
    const controller = new Controller(t.kc, { agent: { image: 'restorectl:test' }, resyncMs: HOUR, pollMs: HOUR, waitMs: HOUR, namespace: ns });
    try {
      await controller.start();
      await controller.idle();
      for (const n of names) assert.equal((await get(n)).status?.phase, 'Pending', `${n} was reconciled (its Repository is missing)`);
      const calls = controller.cluster.counter.byCall;
      assert.equal(calls['PUT restoresession'] ?? 0, 0, `no PUT of the sessions themselves: ${JSON.stringify(calls)}`);
    } finally {
      await controller.stop();
    }
  });

  it('creates go over kept-alive connections, no more of them than requests in flight (not one connection, and TLS handshake, per create)', async () => {
    const ns = 'apply-connections';
    await t.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    const names = Array.from({ length: 40 }, (_, i) => `conn-${i}`);
    const desired: DesiredSet = {
      sessions: names.map((n) => ({ object: { ...sessionObject(n), metadata: { name: n, namespace: ns } }, file: `${n}.yaml`, doc: 0, text: '' })),
      repositories: [],
      refused: new Set(),
      diagnostics: [],
    };
    const plan: Plan = { sourceCommit: 'abc123', diagnostics: [], actions: names.map((n) => ({ ...action('RestoreSession', n), namespace: ns })) };
    let connections = 0;
    const count = () => connections++;
    t.sandbox.http.server.on('connection', count);
    try {
      const applied = await new Applier(t.kc, { concurrency: 4 }).apply(plan, desired, source);
      assert.ok(
        applied.every((a) => a.ok),
        applied.find((a) => !a.ok)?.error,
      );
    } finally {
      t.sandbox.http.server.off('connection', count);
    }
    assert.ok(connections >= 1 && connections <= 4, `40 creates, 4 in flight: at most 4 TCP connections, got ${connections}`);
  });

  it('one failed create does not stop the others', async () => {
    const desired: DesiredSet = {
      sessions: ['ok-1', 'bad', 'ok-2'].map((n) => ({
        object: n === 'bad' ? ({ ...sessionObject(n), metadata: { name: 'Bad_Name', namespace: NS } } as RestoreSession) : sessionObject(n),
        file: `${n}.yaml`,
        doc: 0,
        text: '',
      })),
      repositories: [],
      refused: new Set(),
      diagnostics: [],
    };
    const plan: Plan = { sourceCommit: 'abc123', diagnostics: [], actions: ['ok-1', 'bad', 'ok-2'].map((n) => action('RestoreSession', n)) };
    const applied = await new Applier(t.kc, { concurrency: 4 }).apply(plan, desired, source);
    assert.deepEqual(
      applied.map((a) => [a.action.name, a.ok]),
      [
        ['ok-1', true],
        ['bad', false],
        ['ok-2', true],
      ],
    );
    assert.match(applied[1]!.error!, /^create RestoreSession apply\/bad: /);
  });
});
