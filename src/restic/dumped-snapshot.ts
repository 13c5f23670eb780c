// Which snapshot a `restic dump latest` dumped. restic 0.14's dump prints nothing about the
// snapshot it chose (checked: nothing on stdout beside the data, nothing on stderr, even with
// -vv), so the database restore learns it from what the dump left behind: to choose `latest`,
// restic loads every snapshot file of the repository, and its cache keeps each one it loaded
// (`<cache-dir>/<repository id>/snapshots/<2 hex>/<id>`). Run with a cache of its own that starts
// empty, the dump's cache names exactly the snapshots it chose among; restic's choice is the
// newest by time of those of the host (restic.FindLatestSnapshot: strictly newer wins, so the
// first in order on a tie). Their hosts and times come from `restic snapshots --json`, listed
// beside the dump (off its path); a snapshot the dump saw that the listing did not (a backup that
// landed in between) is listed anew after the dump, so what is recorded is what was dumped.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../common/log.ts';
import { notFound } from './runner.ts';
import type { ResticRunner, SnapshotInfo } from './runner.ts';

/** The ids of the snapshot files a restic cache directory holds (none when it does not exist). */
export async function cachedSnapshotIds(cacheDir: string): Promise<string[]> {
  const ids: string[] = [];
  const list = (dir: string) => readdir(dir).catch(() => [] as string[]);
  for (const repo of await list(cacheDir)) {
    for (const prefix of await list(join(cacheDir, repo, 'snapshots'))) {
      for (const id of await list(join(cacheDir, repo, 'snapshots', prefix))) if (/^[0-9a-f]{64}$/.test(id)) ids.push(id);
    }
  }
  return ids;
}

/** RFC 3339 time with up to nanoseconds as [ms since epoch, ns within the ms], comparable. */
function instant(time: string): [number, number] {
  const frac = /\.(\d+)/.exec(time)?.[1] ?? '';
  return [Date.parse(time), Number(frac.slice(3, 9).padEnd(6, '0'))];
}

/**
 * restic's `latest` of `host` among the snapshots a dump loaded (`cached`), with `listed` giving
 * their hosts and times; `unknown`: cached ids the listing lacks (their host and time unknown).
 */
export function latestAmong(cached: readonly string[], listed: readonly SnapshotInfo[], host: string): { latest?: SnapshotInfo; unknown: string[] } {
  const byId = new Map(listed.map((s) => [s.id, s]));
  let latest: SnapshotInfo | undefined;
  for (const id of cached) {
    const s = byId.get(id);
    if (!s || s.hostname !== host) continue;
    if (!latest) latest = s;
    else {
      const [a, b] = [instant(latest.time), instant(s.time)];
      if (b[0] > a[0] || (b[0] === a[0] && b[1] > a[1])) latest = s;
    }
  }
  return { latest, unknown: cached.filter((id) => !byId.has(id)) };
}

/**
 * The snapshot a `restic dump latest --host <host>` that ran with the (fresh) cache `cacheDir`
 * dumped, from `listed` (the repository's snapshots listed beside it) and, only when the dump saw
 * a snapshot that listing did not, a second listing. Throws SnapshotNotFound when none is of the host.
 */
export async function dumpedSnapshot(
  runner: ResticRunner,
  opts: { cacheDir: string; host: string; listed: Promise<SnapshotInfo[]>; signal: AbortSignal; log?: Logger },
): Promise<SnapshotInfo> {
  const cached = await cachedSnapshotIds(opts.cacheDir);
  // the data is in the database by now: a listing that failed beside the dump is tried once more
  const listed = await opts.listed.catch(() => runner.snapshots(opts.signal));
  if (cached.length === 0) {
    // restic went on without a cache (it only warns when it cannot make one): fall back to the listing's latest
    const { latest } = latestAmong(
      listed.map((s) => s.id),
      listed,
      opts.host,
    );
    if (!latest) throw notFound({ snapshot: 'latest', host: opts.host });
    opts.log?.warn(`restic dump kept no cache to tell which snapshot it dumped; recording ${latest.shortId}, the latest listed beside it`, {
      snapshot: latest.id,
    });
    return latest;
  }
  let found = latestAmong(cached, listed, opts.host);
  if (found.unknown.length) {
    // a backup landed between the listing and the dump's own resolution of latest
    const again = await runner.snapshots(opts.signal);
    found = latestAmong(cached, [...listed, ...again], opts.host);
    if (found.latest) opts.log?.info(`a snapshot landed as restic dump started: it dumped ${found.latest.shortId}`, { snapshot: found.latest.id });
    if (found.unknown.length) {
      opts.log?.warn(
        `snapshot(s) ${found.unknown.map((i) => i.slice(0, 8)).join(', ')} that restic dump saw were removed since; not counted as its choice`,
        {},
      );
    }
  }
  if (!found.latest) throw notFound({ snapshot: 'latest', host: opts.host });
  return found.latest;
}
