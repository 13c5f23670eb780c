// The project's watch wrapper against the sandbox: relist after 410, restart after a dropped
// connection or a 500, restart of a watch that went silent, and a quiet stop.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { ResilientInformer } from '../../src/kube/informer.ts';
import { loadKubeConfig } from '../../src/kube/kubeconfig.ts';
import { startSandbox, eventually } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

describe('ResilientInformer', function () {
  this.timeout(15_000);
  let t: TestSandbox;
  let informer: ResilientInformer<k8s.V1ConfigMap> | undefined;
  const cm = (name: string): void => {
    t.sandbox.core.create(t.sandbox.core.mustResource('', 'configmaps'), 'v1', 'default', { metadata: { name } });
  };

  beforeEach(async () => {
    t = await startSandbox();
  });
  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
    await t.stop();
  });

  function makeInformer(extra: { watchdogMs?: number } = {}): ResilientInformer<k8s.V1ConfigMap> {
    const kc = loadKubeConfig({ kubeconfig: t.kubeconfigPath });
    const api = kc.makeApiClient(k8s.CoreV1Api);
    const errors: unknown[] = [];
    const inf = new ResilientInformer<k8s.V1ConfigMap>({
      kc,
      path: '/api/v1/namespaces/default/configmaps',
      list: () => api.listNamespacedConfigMap({ namespace: 'default' }),
      initialBackoffMs: 20,
      maxBackoffMs: 200,
      ...extra,
    });
    inf.onError((e) => errors.push(e));
    return inf;
  }

  it('caches an object from its LIST with its kind and apiVersion, as from a watch event (the server leaves them off list items)', async () => {
    cm('listed');
    informer = makeInformer();
    await informer.start();
    await informer.ready;
    const listed = informer.get('listed', 'default')!;
    assert.deepEqual([listed.kind, listed.apiVersion], ['ConfigMap', 'v1']);
    cm('watched');
    const watched = await eventually(() => informer!.get('watched', 'default'));
    assert.deepEqual([watched.kind, watched.apiVersion], ['ConfigMap', 'v1']);
  });

  it('relists when its watch is too old (410 Expired)', async () => {
    cm('before');
    informer = makeInformer();
    const deleted: string[] = [];
    informer.on('delete', (o) => deleted.push(o.metadata!.name!));
    await informer.start();
    await informer.ready;
    await eventually(() => informer!.get('before', 'default'));
    assert.equal(informer.stats.lists, 1);
    // Cut the watch and, before the client is back, change things and compact the history.
    t.sandbox.http.dropWatches();
    cm('while-away');
    t.sandbox.core.delete(t.sandbox.core.mustResource('', 'configmaps'), 'default', 'before');
    t.sandbox.store.compact();
    await eventually(() => informer!.get('while-away', 'default') && !informer!.get('before', 'default'));
    assert.equal(informer.stats.lists, 2, 'a second LIST after the 410');
    assert.deepEqual(deleted, ['before']);
  });

  it('restarts after the server drops the connection and then answers 500', async () => {
    informer = makeInformer();
    await informer.start();
    await informer.ready;
    t.sandbox.http.faults.failWatches = { count: 2, code: 500 };
    t.sandbox.http.dropWatches();
    await eventually(() => informer!.stats.errors >= 1);
    cm('after-failures');
    await eventually(() => informer!.get('after-failures', 'default'));
    assert.ok(informer.stats.restarts >= 1, `restarted (${JSON.stringify(informer.stats)})`);
    assert.equal(t.sandbox.http.faults.failWatches.count, 0);
  });

  it('restarts a watch that went silent (watchdog)', async () => {
    informer = makeInformer({ watchdogMs: 300 });
    await informer.start();
    await informer.ready;
    t.sandbox.http.stallWatches();
    cm('unheard');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(informer.get('unheard', 'default'), undefined, 'the stalled watch delivers nothing');
    await eventually(() => informer!.get('unheard', 'default'), 3000);
    assert.ok(informer.stats.restarts >= 1);
  });

  it('stop() is quiet: no error reported, no restart', async () => {
    informer = makeInformer();
    await informer.start();
    await informer.ready;
    await informer.stop();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(informer.stats.errors, 0);
    assert.equal(informer.stats.restarts, 0);
  });
});
