// The work queue's requeues: a key that keeps waiting backs off (each requeue in a row doubles,
// up to its bound); anything else adding the key (a watch event, a resync) starts it over.
// The queue's timer is recorded, not run on the clock: the test fires each requeue itself.
import assert from 'node:assert/strict';
import { WorkQueue } from '../../src/controller/queue.ts';
import type { WorkResult } from '../../src/controller/queue.ts';

function recordingTimer() {
  const pending: { fn: () => void; ms: number; cleared: boolean }[] = [];
  return {
    pending,
    timer: {
      set(fn: () => void, ms: number) {
        const t = { fn, ms, cleared: false };
        pending.push(t);
        return t;
      },
      clear(handle: unknown) {
        (handle as { cleared: boolean }).cleared = true;
      },
    },
    /** Fires the one live timer; returns the delay it was set for. */
    fire(): number {
      const live = pending.filter((t) => !t.cleared);
      assert.equal(live.length, 1, 'one requeue is scheduled');
      live[0]!.cleared = true;
      live[0]!.fn();
      return live[0]!.ms;
    },
  };
}

describe('work queue requeues', () => {
  it('a key that keeps waiting backs off, doubling up to its bound', async () => {
    const t = recordingTimer();
    const result: WorkResult = { requeueAfterMs: 1000, backoffUpToMs: 8000 };
    let runs = 0;
    const q = new WorkQueue(
      async () => {
        runs++;
        return result;
      },
      { concurrency: 1, timer: t.timer },
    );
    q.add('ns/s');
    await q.idle();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      delays.push(t.fire());
      await q.idle();
    }
    // ±10 % jitter on each delay.
    const around = (ms: number, want: number) => ms >= want * 0.9 && ms <= want * 1.1;
    const wanted = [1000, 2000, 4000, 8000, 8000];
    assert.ok(
      delays.every((d, i) => around(d, wanted[i]!)),
      `delays ${delays.map((d) => d.toFixed(0)).join(', ')} follow ${wanted.join(', ')}`,
    );
    await q.stop();
    assert.equal(runs, 6, 'each requeue ran the key once');
  });

  it('an event resets the backoff, and a requeue without a bound never backs off', async () => {
    const t = recordingTimer();
    let result: WorkResult = { requeueAfterMs: 1000, backoffUpToMs: 60_000 };
    const q = new WorkQueue(async () => result, { concurrency: 1, timer: t.timer });
    q.add('k');
    await q.idle();
    t.fire();
    await q.idle();
    t.fire();
    await q.idle(); // the third wait: 4 s
    q.add('k'); // an event: clears the timer, runs now
    await q.idle();
    const afterEvent = t.pending.filter((x) => !x.cleared).map((x) => x.ms);
    assert.equal(afterEvent.length, 1);
    assert.ok(afterEvent[0]! <= 1100, `after an event the wait starts over (${afterEvent[0]} ms)`);
    result = { requeueAfterMs: 1000 };
    for (let i = 0; i < 3; i++) {
      const ms = t.fire();
      await q.idle();
      if (i > 0) assert.ok(ms <= 1100, `no backoff without a bound (${ms} ms)`);
    }
    await q.stop();
  });

  it('a hold starts no work until released: keys added meanwhile queue once each and run after it', async () => {
    const ran: string[] = [];
    const q = new WorkQueue(
      async (key) => {
        ran.push(key);
      },
      { concurrency: 4 },
    );
    const release = q.hold();
    for (const k of ['a', 'b', 'a', 'c']) q.add(k);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(ran, [], 'nothing runs while held');
    assert.equal(q.size, 3);
    release();
    release(); // a second release is a no-op
    await q.idle();
    assert.deepEqual(ran, ['a', 'b', 'c']);
    await q.stop();
  });
});
