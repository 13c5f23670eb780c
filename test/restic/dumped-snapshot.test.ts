// latestAmong: restic's `latest` of a host among the snapshots a `restic dump latest` loaded (its
// fresh cache), as restic.FindLatestSnapshot chooses it; cachedSnapshotIds reads a real restic
// cache (test/databases/latest.test.ts runs the whole path with real restic).
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cachedSnapshotIds, latestAmong } from '../../src/restic/dumped-snapshot.ts';
import type { SnapshotInfo } from '../../src/restic/runner.ts';
import { tempDir } from '../support/restic-repo.ts';

const id = (c: string) => c.repeat(64);
const snap = (c: string, hostname: string, time: string): SnapshotInfo => ({ id: id(c), shortId: id(c).slice(0, 8), time, hostname, paths: [], tags: [] });

describe('latestAmong: the snapshot restic dump latest chose, from what it loaded', () => {
  const a = snap('a', 'host-0', '2026-12-01T10:00:00.000000001Z');
  const b = snap('b', 'host-0', '2026-12-01T10:00:00.000000002Z');
  const other = snap('c', 'host-1', '2026-12-01T11:00:00Z');
  const zoned = snap('d', 'host-0', '2026-12-01T11:30:00+02:00'); // 09:30 UTC: older than a

  it('the newest of the host by time, to the nanosecond and across time zones; other hosts never', () => {
    assert.equal(latestAmong([a.id, b.id, other.id, zoned.id], [a, b, other, zoned], 'host-0').latest?.id, b.id);
    assert.equal(latestAmong([zoned.id, a.id], [a, zoned], 'host-0').latest?.id, a.id);
    assert.equal(latestAmong([other.id], [a, other], 'host-0').latest, undefined);
  });

  it('only what the dump loaded: a snapshot listed but not in its cache landed after it chose', () => {
    assert.equal(latestAmong([a.id], [a, b], 'host-0').latest?.id, a.id);
  });

  it('what the dump loaded but the listing lacks is unknown (listed anew by dumpedSnapshot)', () => {
    assert.deepEqual(latestAmong([a.id, b.id], [a], 'host-0'), { latest: a, unknown: [b.id] });
  });

  it('cachedSnapshotIds: <cache>/<repository id>/snapshots/<2 hex>/<id>; nothing when there is no cache', async () => {
    const tmp = await tempDir('cached-ids');
    try {
      const dir = join(tmp.path, 'restic-cache', 'f'.repeat(64), 'snapshots', 'aa');
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, id('a')), '');
      await writeFile(join(dir, 'aa-tmp'), '');
      assert.deepEqual(await cachedSnapshotIds(join(tmp.path, 'restic-cache')), [id('a')]);
      assert.deepEqual(await cachedSnapshotIds(join(tmp.path, 'none')), []);
    } finally {
      await tmp.cleanup();
    }
  });
});
