// The sandbox API through @kubernetes/client-node and plain HTTP: object semantics, errors,
// selectors, paging, patches, subresources, dry-run, garbage collection and persistence.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startSandbox, eventually } from '../../../../test/support/sandbox.ts';
import type { TestSandbox } from '../../../../test/support/sandbox.ts';
import { renderCrdFiles } from 'restore-controller/api/crd-files';
import { parse } from 'yaml';

const RS = { group: 'stash.appscode.com', version: 'v1beta1', plural: 'restoresessions' };
const REPO = { group: 'stash.appscode.com', version: 'v1alpha1', plural: 'repositories' };

/** A Repository: a custom resource whose spec may change (a RestoreSession's may not). */
function repository(name: string): Record<string, unknown> {
  return {
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Repository',
    metadata: { name, namespace: 'default' },
    spec: { backend: { storageSecretName: 's', gcs: { bucket: 'b' } } },
  };
}

function session(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'RestoreSession',
    metadata: { name, namespace: 'default' },
    spec: { repository: { name: 'repo' }, target: { ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' } }, ...extra },
  };
}

async function status(p: Promise<unknown>): Promise<{ code: number; body: any }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof k8s.ApiException) return { code: e.code, body: JSON.parse(e.body as string) };
    throw e;
  }
  assert.fail('expected the call to fail');
}

describe('sandbox API through client-node', function () {
  this.timeout(20_000);
  let t: TestSandbox;
  let core: k8s.CoreV1Api;
  let co: k8s.CustomObjectsApi;

  before(async () => {
    t = await startSandbox({ historySize: 50, bookmarkIntervalMs: 100 });
    core = t.kc.makeApiClient(k8s.CoreV1Api);
    co = t.kc.makeApiClient(k8s.CustomObjectsApi);
    // Plain HTTP: client-node's typed CRD model would drop `default` and `enum` from a plain object.
    for (const text of renderCrdFiles().values()) {
      const res = await fetch(`${t.sandbox.url}/apis/apiextensions.k8s.io/v1/customresourcedefinitions`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(parse(text)),
      });
      assert.equal(res.status, 201);
    }
  });
  after(() => t?.stop());

  it('gives new objects a uid, creationTimestamp, generation 1 and a global resourceVersion', async () => {
    const a = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'a' }, data: { k: 'v' } } });
    const b = await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'b' }, stringData: { k: 'v' } } });
    assert.match(a.metadata!.uid!, /^[0-9a-f-]{36}$/);
    assert.ok(a.metadata!.creationTimestamp instanceof Date);
    assert.equal(a.metadata!.generation, 1);
    assert.ok(Number(b.metadata!.resourceVersion) > Number(a.metadata!.resourceVersion));
    assert.deepEqual(b.data, { k: Buffer.from('v').toString('base64') }, 'stringData is merged into data');
    assert.equal(b.stringData, undefined);
  });

  it('bumps generation on spec changes only; status writes ignore spec and the other way round', async () => {
    const created = await co.createNamespacedCustomObject({ ...RS, namespace: 'default', body: session('gen') });
    assert.equal(created.metadata.generation, 1);
    assert.equal(created.spec.driver, 'Restic', 'CRD default applied');
    const labelled = await co.patchNamespacedCustomObject(
      { ...RS, namespace: 'default', name: 'gen', body: { metadata: { labels: { a: 'b' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    assert.equal(labelled.metadata.generation, 1);
    const withStatus = await co.patchNamespacedCustomObjectStatus(
      { ...RS, namespace: 'default', name: 'gen', body: { status: { phase: 'Running' }, spec: { driver: 'VolumeSnapshotter' } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    assert.equal(withStatus.status.phase, 'Running');
    assert.equal(withStatus.spec.driver, 'Restic');
    assert.equal(withStatus.metadata.generation, 1);
    const refused = await status(
      co.replaceNamespacedCustomObject({ ...RS, namespace: 'default', name: 'gen', body: { ...withStatus, spec: { ...withStatus.spec, timeOut: '1h' } } }),
    );
    assert.equal(refused.code, 422, "a RestoreSession's spec is immutable (deploy/crds' CEL rule)");
    await co.createNamespacedCustomObject({ ...REPO, namespace: 'default', body: repository('gen') });
    const repoStatus = await co.patchNamespacedCustomObjectStatus(
      { ...REPO, namespace: 'default', name: 'gen', body: { status: { integrity: true } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    const specChange = await co.replaceNamespacedCustomObject({
      ...REPO,
      namespace: 'default',
      name: 'gen',
      body: { ...repoStatus, spec: { ...repoStatus.spec, wipeOut: true }, status: { integrity: false } },
    });
    assert.equal(specChange.metadata.generation, 2);
    assert.equal(specChange.status.integrity, true, 'a main-resource write ignores status');
  });

  it('answers with Status errors: NotFound, AlreadyExists, Conflict, Invalid with causes', async () => {
    const nf = await status(core.readNamespacedConfigMap({ namespace: 'default', name: 'nope' }));
    assert.equal(nf.code, 404);
    assert.equal(nf.body.reason, 'NotFound');
    assert.equal(nf.body.message, 'configmaps "nope" not found');
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dup' } } });
    const ae = await status(core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dup' } } }));
    assert.equal(ae.code, 409);
    assert.equal(ae.body.reason, 'AlreadyExists');
    const cm = await core.readNamespacedConfigMap({ namespace: 'default', name: 'dup' });
    await core.replaceNamespacedConfigMap({ namespace: 'default', name: 'dup', body: { ...cm, data: { x: '1' } } });
    const stale = await status(core.replaceNamespacedConfigMap({ namespace: 'default', name: 'dup', body: { ...cm, data: { x: '2' } } }));
    assert.equal(stale.code, 409);
    assert.equal(stale.body.reason, 'Conflict');
    const bad = await status(co.createNamespacedCustomObject({ ...RS, namespace: 'default', body: session('bad', { driver: 'Tape', repository: {} }) }));
    assert.equal(bad.code, 422);
    assert.equal(bad.body.reason, 'Invalid');
    assert.deepEqual(bad.body.details.causes.map((c: { field: string }) => c.field).sort(), ['spec.driver', 'spec.repository.name']);
    assert.match(bad.body.message, /^RestoreSession\.stash\.appscode\.com "bad" is invalid: \[/);
    const withRv = await status(core.createNamespacedConfigMap({ namespace: 'default', body: { ...cm, metadata: { name: 'copy', resourceVersion: '5' } } }));
    assert.equal(withRv.code, 400);
    assert.match(withRv.body.message, /resourceVersion should not be set on objects to be created/);
    const wrongKind = await fetch(`${t.sandbox.url}/api/v1/namespaces/default/configmaps`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'k' } }),
    });
    assert.equal(wrongKind.status, 400);
    const noNs = await status(core.createNamespacedConfigMap({ namespace: 'missing', body: { metadata: { name: 'x' } } }));
    assert.equal(noNs.code, 404);
    assert.equal(noNs.body.message, 'namespaces "missing" not found');
  });

  // Secrets: every namespace also holds a ConfigMap of its own (kube-root-ca.crt), as on a cluster.
  it('filters lists by label and field selectors and pages with limit/continue', async () => {
    await core.createNamespace({ body: { metadata: { name: 'paging' } } });
    for (let i = 0; i < 5; i++)
      await core.createNamespacedSecret({ namespace: 'paging', body: { metadata: { name: `cm-${i}`, labels: { parity: i % 2 ? 'odd' : 'even' } } } });
    const odd = await core.listNamespacedSecret({ namespace: 'paging', labelSelector: 'parity=odd' });
    assert.deepEqual(
      odd.items.map((c) => c.metadata!.name),
      ['cm-1', 'cm-3'],
    );
    const notIn = await core.listNamespacedSecret({ namespace: 'paging', labelSelector: 'parity notin (odd),parity' });
    assert.equal(notIn.items.length, 3);
    const byName = await core.listNamespacedSecret({ namespace: 'paging', fieldSelector: 'metadata.name=cm-4' });
    assert.deepEqual(
      byName.items.map((c) => c.metadata!.name),
      ['cm-4'],
    );
    const page1 = await core.listNamespacedSecret({ namespace: 'paging', limit: 2 });
    assert.equal(page1.items.length, 2);
    assert.equal(page1.metadata!.remainingItemCount, 3);
    const page2 = await core.listNamespacedSecret({ namespace: 'paging', limit: 2, _continue: page1.metadata!._continue! });
    const page3 = await core.listNamespacedSecret({ namespace: 'paging', limit: 2, _continue: page2.metadata!._continue! });
    assert.deepEqual(
      [...page1.items, ...page2.items, ...page3.items].map((c) => c.metadata!.name),
      ['cm-0', 'cm-1', 'cm-2', 'cm-3', 'cm-4'],
    );
    assert.equal(page3.metadata!._continue, undefined);
  });

  it('applies JSON patches and refuses strategic merge for custom resources', async () => {
    await co.createNamespacedCustomObject({ ...REPO, namespace: 'default', body: repository('jp') });
    const patched = await co.patchNamespacedCustomObject({
      ...REPO,
      namespace: 'default',
      name: 'jp',
      body: [{ op: 'replace', path: '/spec/backend/gcs/bucket', value: 'other' }],
    });
    assert.equal(patched.spec.backend.gcs.bucket, 'other');
    const smp = await status(
      co.patchNamespacedCustomObject(
        { ...REPO, namespace: 'default', name: 'jp', body: { spec: {} } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch),
      ),
    );
    assert.equal(smp.code, 415);
  });

  it('server-side applies with field ownership: conflicts unless forced', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', namespace: 'default' }, data: { a: '1' } };
    const ssa = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply);
    await core.patchNamespacedConfigMap({ namespace: 'default', name: 'owned', body: cm, fieldManager: 'one' }, ssa);
    const conflict = await status(
      core.patchNamespacedConfigMap({ namespace: 'default', name: 'owned', body: { ...cm, data: { a: '2' } }, fieldManager: 'two' }, ssa),
    );
    assert.equal(conflict.code, 409);
    assert.match(conflict.body.message, /conflict with "one"/);
    const forced = await core.patchNamespacedConfigMap(
      { namespace: 'default', name: 'owned', body: { ...cm, data: { a: '2' } }, fieldManager: 'two', force: true },
      ssa,
    );
    assert.equal(forced.data!.a, '2');
    assert.deepEqual(
      forced.metadata!.managedFields!.map((m) => m.manager),
      ['two'],
    );
  });

  it('dryRun=All validates and answers without storing', async () => {
    const out = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'dry' } }, dryRun: 'All' });
    assert.equal(out.metadata!.name, 'dry');
    assert.equal((await status(core.readNamespacedConfigMap({ namespace: 'default', name: 'dry' }))).code, 404);
  });

  it('garbage-collects dependents of a deleted owner, or orphans them when asked', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'owner' } } });
    const ref = { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! };
    await core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'dependent', ownerReferences: [ref] } } });
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'owner' });
    await eventually(async () => (await status(core.readNamespacedSecret({ namespace: 'default', name: 'dependent' }))).code === 404);

    const owner2 = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'owner2' } } });
    await core.createNamespacedSecret({
      namespace: 'default',
      body: { metadata: { name: 'orphan', ownerReferences: [{ ...ref, name: 'owner2', uid: owner2.metadata!.uid! }] } },
    });
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'owner2', propagationPolicy: 'Orphan' });
    const orphan = await core.readNamespacedSecret({ namespace: 'default', name: 'orphan' });
    assert.equal(orphan.metadata!.ownerReferences, undefined);
  });

  it('deleting a namespace removes what is in it', async () => {
    await core.createNamespace({ body: { metadata: { name: 'doomed' } } });
    await core.createNamespacedConfigMap({ namespace: 'doomed', body: { metadata: { name: 'x' } } });
    const ns = await core.deleteNamespace({ name: 'doomed' });
    void ns;
    await eventually(async () => (await status(core.readNamespace({ name: 'doomed' }))).code === 404);
  });

  describe('watch', () => {
    async function collect(
      path: string,
      query: Record<string, string | boolean>,
      until: (events: Array<{ type: string; object: any }>) => boolean,
    ): Promise<Array<{ type: string; object: any }>> {
      const events: Array<{ type: string; object: any }> = [];
      let ended: unknown = null;
      const ctl = await new k8s.Watch(t.kc).watch(
        path,
        query,
        (type, object) => events.push({ type, object }),
        (err) => (ended = err ?? 'ended'),
      );
      try {
        await eventually(() => until(events) || ended !== null);
      } finally {
        ctl.abort();
      }
      return events;
    }

    it('replays changes after a resourceVersion and follows new ones', async () => {
      const cm = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'watched' } } });
      const rv = cm.metadata!.resourceVersion!;
      await core.patchNamespacedConfigMap(
        { namespace: 'default', name: 'watched', body: { data: { a: '1' } } },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
      );
      const eventsP = collect('/api/v1/namespaces/default/configmaps', { resourceVersion: rv, fieldSelector: 'metadata.name=watched' }, (e) =>
        e.some((x) => x.type === 'DELETED'),
      );
      await new Promise((r) => setTimeout(r, 50));
      await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'watched' });
      const events = await eventsP;
      assert.deepEqual(
        events.map((e) => e.type),
        ['MODIFIED', 'DELETED'],
      );
      assert.equal(events[0]!.object.data.a, '1');
    });

    it('sends BOOKMARK events when asked', async () => {
      const events = await collect(
        '/api/v1/namespaces/default/configmaps',
        { allowWatchBookmarks: true, resourceVersion: String(t.sandbox.store.resourceVersion) },
        (e) => e.some((x) => x.type === 'BOOKMARK'),
      );
      const bm = events.find((e) => e.type === 'BOOKMARK');
      assert.ok(bm, 'a bookmark arrived');
      assert.match(bm.object.metadata.resourceVersion, /^\d+$/);
    });

    it('answers 410 Expired for a resourceVersion older than the kept history', async () => {
      const old = String(t.sandbox.store.resourceVersion);
      for (let i = 0; i < 60; i++) await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: `churn-${i}` } } });
      const res = await fetch(`${t.sandbox.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${old}`);
      const line = JSON.parse((await res.text()).trim().split('\n')[0]!);
      assert.equal(line.type, 'ERROR');
      assert.equal(line.object.code, 410);
      assert.equal(line.object.reason, 'Expired');
    });
  });

  describe('restart', () => {
    it('keeps its objects across a restart, like an API server', async () => {
      const { Sandbox } = await import('../../src/sandbox/sandbox.ts');
      const before = await core.readNamespacedConfigMap({ namespace: 'default', name: 'a' });
      const port = t.sandbox.port;
      await t.stopServer();
      const again = await new Sandbox({ dir: t.dir, port }).start();
      try {
        const kc = new k8s.KubeConfig();
        kc.loadFromFile(again.kubeconfigPath!);
        const after = await kc.makeApiClient(k8s.CoreV1Api).readNamespacedConfigMap({ namespace: 'default', name: 'a' });
        assert.equal(after.metadata!.uid, before.metadata!.uid);
        assert.equal(after.metadata!.resourceVersion, before.metadata!.resourceVersion);
        const rs = await kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...RS, namespace: 'default', name: 'gen' });
        assert.equal(rs.metadata.name, 'gen', 'CRDs are served again after the restart');
        const next = await kc.makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after-restart' } } });
        assert.ok(Number(next.metadata!.resourceVersion) > Number(after.metadata!.resourceVersion));
      } finally {
        await again.stop();
      }
    });
  });
});
