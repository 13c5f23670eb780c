// Metadata-only reads (PartialObjectMetadata), the same checks on the sandbox and on the real
// kube-apiserver engine: what the real server answers is what the sandbox must answer. The
// product's metadata client (restore-controller/kube/metadata) makes the requests.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { getMetadata, listMetadata, metadataWatch } from 'restore-controller/kube/metadata';
import { skipUnlessKubeEngine, startKubeEngine } from '../../src/engine/testing.ts';
import { startSandbox } from '../../../../test/support/sandbox.ts';

interface Cluster {
  kc: k8s.KubeConfig;
  stop(): Promise<void>;
}

function checks(name: string, start: (ctx: Mocha.Context) => Promise<Cluster>): void {
  describe(`metadata-only reads: ${name}`, function () {
    this.timeout(180_000);
    let c: Cluster;
    let core: k8s.CoreV1Api;
    const ns = 'metadata-only';
    before(async function () {
      c = await start(this);
      core = c.kc.makeApiClient(k8s.CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: ns } } });
      await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'a', labels: { app: 'x' } }, stringData: { password: 'never-sent' } } });
    });
    after(async () => c?.stop());

    it('a list is a PartialObjectMetadataList: metadata of each item, no data', async () => {
      const list = await listMetadata(c.kc, `/api/v1/namespaces/${ns}/secrets`);
      assert.equal(list.kind, 'PartialObjectMetadataList');
      assert.equal(list.apiVersion, 'meta.k8s.io/v1');
      assert.match(String(list.metadata?.resourceVersion), /^\d+$/);
      const a = list.items.find((i) => i.metadata?.name === 'a')!;
      assert.equal(a.kind, 'PartialObjectMetadata');
      assert.equal(a.apiVersion, 'meta.k8s.io/v1');
      assert.deepEqual(a.metadata?.labels, { app: 'x' });
      assert.ok(!JSON.stringify(list).includes('never-sent') && !JSON.stringify(list).includes(Buffer.from('never-sent').toString('base64')));
      assert.equal((a as { data?: unknown }).data, undefined);
    });

    it('a GET is one PartialObjectMetadata; a missing object is a 404', async () => {
      const a = await getMetadata(c.kc, `/api/v1/namespaces/${ns}/secrets/a`);
      assert.equal(a.kind, 'PartialObjectMetadata');
      assert.equal(a.metadata?.name, 'a');
      assert.equal((a as { data?: unknown }).data, undefined);
      await assert.rejects(getMetadata(c.kc, `/api/v1/namespaces/${ns}/secrets/absent`), (e: k8s.ApiException<string>) => e.code === 404);
    });

    it('a watch sends PartialObjectMetadata events', async () => {
      const list = await listMetadata(c.kc, `/api/v1/namespaces/${ns}/secrets`);
      const events: { type: string; obj: any }[] = [];
      const req = await metadataWatch(c.kc).watch(
        `/api/v1/namespaces/${ns}/secrets`,
        { resourceVersion: list.metadata!.resourceVersion! },
        (type, obj) => events.push({ type, obj }),
        () => {},
      );
      await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'b' }, stringData: { password: 'never-sent-either' } } });
      for (let i = 0; i < 200 && !events.some((e) => e.obj?.metadata?.name === 'b'); i++) await new Promise((r) => setTimeout(r, 50));
      req.abort();
      const added = events.find((e) => e.obj?.metadata?.name === 'b')!;
      assert.equal(added.type, 'ADDED');
      assert.equal(added.obj.kind, 'PartialObjectMetadata');
      assert.equal(added.obj.data, undefined);
    });
  });
}

checks('sandbox', async () => {
  const t = await startSandbox({ simulate: false });
  return { kc: t.kc, stop: () => t.stop() };
});

checks('kube-apiserver engine', async (ctx) => {
  skipUnlessKubeEngine(ctx);
  const e = await startKubeEngine();
  return { kc: e.kc, stop: () => e.stop() };
});
