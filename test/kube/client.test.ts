// The client side of every request: the token bucket (QPS and burst) and the kubeconfig view
// that waits for it and keeps connections alive. The bucket runs on a recorded clock (no timing);
// the view runs against the sandbox, which counts requests and TCP connections.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { TokenBucket, limitedKubeConfig } from '../../src/kube/client.ts';
import type { Clock } from '../../src/kube/client.ts';
import { startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

function fakeClock(): Clock & { t: number; slept: number[] } {
  const c = {
    t: 0,
    slept: [] as number[],
    now: () => c.t,
    sleep: (ms: number) => {
      c.slept.push(ms);
      return Promise.resolve();
    },
  };
  return c;
}

describe('client-side rate limit', () => {
  it('lets a burst through at once, then one request per 1/QPS', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 10, burst: 3 }, clock);
    for (let i = 0; i < 3; i++) await bucket.take();
    assert.deepEqual(clock.slept, [], 'the burst does not wait');
    await bucket.take();
    await bucket.take();
    assert.deepEqual(
      clock.slept.map((ms) => Math.round(ms)),
      [100, 200],
      'the 4th waits one token (100 ms at 10 QPS), the 5th two: first come, first served',
    );
    clock.t += 1000; // a quiet second refills the bucket, up to the burst
    clock.slept.length = 0;
    for (let i = 0; i < 3; i++) await bucket.take();
    assert.deepEqual(clock.slept, []);
  });

  it('QPS 0 is no limit; nonsense limits are refused', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket({ qps: 0, burst: 1 }, clock);
    for (let i = 0; i < 100; i++) await bucket.take();
    assert.deepEqual(clock.slept, []);
    assert.throws(() => new TokenBucket({ qps: -1, burst: 1 }), /qps ≥ 0 and burst ≥ 1/);
    assert.throws(() => new TokenBucket({ qps: 5, burst: 0 }), /qps ≥ 0 and burst ≥ 1/);
  });

  describe('a limited kubeconfig on the sandbox', function () {
    this.timeout(60_000);
    let t: TestSandbox;
    let connections = 0;
    before(async () => {
      t = await startSandbox({ simulate: false });
      t.sandbox.http.server.on('connection', () => connections++);
    });
    after(() => t?.stop());

    it('every request of its API clients and watches takes a token, and they share keep-alive connections', async () => {
      const bucket = new TokenBucket({ qps: 1000, burst: 1000 });
      const kc = limitedKubeConfig(t.kc, bucket);
      const core = kc.makeApiClient(k8s.CoreV1Api);
      const served = t.sandbox.http.requestsServed;
      connections = 0;
      for (let i = 0; i < 20; i++) await core.listNamespace();
      assert.equal(t.sandbox.http.requestsServed - served, 20);
      assert.equal(bucket.stats.taken, 20, 'one token per request');
      assert.equal(connections, 1, 'twenty requests in a row, one TCP connection');

      // client-node alone: a connection per request.
      const plain = t.kc.makeApiClient(k8s.CoreV1Api);
      connections = 0;
      for (let i = 0; i < 5; i++) await plain.listNamespace();
      assert.equal(connections, 5);

      const watch = new k8s.Watch(kc);
      const seen: string[] = [];
      const req = await watch.watch(
        '/api/v1/namespaces',
        {},
        (type, o) => seen.push(`${type} ${o.metadata.name}`),
        () => {},
      );
      assert.equal(bucket.stats.taken, 21, 'a watch takes a token when it starts');
      req.abort();
    });

    it('holds requests back to its QPS once the burst is spent (counted, not timed)', async () => {
      const bucket = new TokenBucket({ qps: 20, burst: 2 });
      const core = limitedKubeConfig(t.kc, bucket).makeApiClient(k8s.CoreV1Api);
      await Promise.all(Array.from({ length: 6 }, () => core.listNamespace()));
      assert.equal(bucket.stats.taken, 6);
      assert.equal(bucket.stats.waited, 4, 'the 4 requests past the burst waited for a token');
    });
  });
});
