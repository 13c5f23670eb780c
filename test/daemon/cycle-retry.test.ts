// How soon the next cycle comes while the git remote is unreachable (issue 17, item 5): a daemon
// must notice a remote that came back within seconds, not a full interval (or a 60 s backoff) later.
import assert from 'node:assert/strict';
import { OUTAGE_RETRY_MAX_MS, nextCycleDelayMs } from '../../src/daemon/cycle.ts';

describe('daemon cycle: retrying while git is unreachable', () => {
  it('the interval when the remote answers', () => {
    assert.equal(nextCycleDelayMs(60_000, 0), 60_000);
  });

  it('1 s, doubling per unreachable cycle, never more than 8 s nor the interval', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 50].map((n) => nextCycleDelayMs(60_000, n)),
      [1000, 2000, 4000, 8000, 8000, 8000],
    );
    assert.equal(OUTAGE_RETRY_MAX_MS, 8000);
    assert.equal(nextCycleDelayMs(3000, 10), 3000, 'a short interval stays the interval');
  });
});
