// A database restore of an unpinned `latest` (issue #16): restic dump resolves latest itself and
// starts at once, the repository's snapshots listed beside it instead of before it, and what is
// recorded is the snapshot restic dump dumped, also when a backup lands between the listing and
// the dump. Real PostgreSQL, real restic (wrapped only to log and to hold a command), the
// DatabaseRestorer as the agent runs it.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { whichExecutable } from '@restore-controller/devkit/seed';
import type { AppBinding } from '../../src/api/appbinding.ts';
import type { Repository } from '../../src/api/repository.ts';
import type { RestoreSession } from '../../src/api/restoresession.ts';
import { sinkLogger } from '../../src/common/log.ts';
import { DatabaseRestorer } from '../../src/databases/index.ts';
import { startPostgres } from '../support/databases.ts';
import type { DatabaseServer } from '../support/databases.ts';
import { tempDir } from '../support/restic-repo.ts';
import { RESTIC_PASSWORD, backupDump, initRepository } from './harness.ts';

const PASSWORD = 'pg password of the latest suite';

describe('database restores: an unpinned latest, resolved by restic dump itself (real PostgreSQL and restic)', function () {
  this.timeout(120_000);
  let pg: DatabaseServer;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let n = 0;

  before(async function () {
    const started = await startPostgres(PASSWORD);
    if ('skip' in started) {
      console.warn(`      skipped: ${started.skip}`);
      this.skip();
    }
    pg = started;
    tmp = await tempDir('db-latest');
  });
  after(async () => {
    await pg?.stop();
    await tmp?.cleanup();
  });

  /** A fresh repository holding one pg_dumpall backup of database `db` with `item` in its one row; its short id, and how to add another. */
  const repoWith = (db: string, item: string): { repo: string; backup: (item: string) => string; first: string } => {
    const repo = initRepository(join(tmp.path, `repo-${++n}`));
    const backup = (value: string) => {
      pg.client(`DROP DATABASE IF EXISTS ${db} WITH (FORCE);`);
      pg.client(`CREATE DATABASE ${db};`);
      pg.client(`CREATE TABLE t (id int PRIMARY KEY, item text); INSERT INTO t VALUES (1, '${value}');`, { args: [`--dbname=${db}`] });
      return backupDump(repo, ['pg_dumpall', ...pg.clientArgs().argv], pg.clientArgs().env, 'dumpfile.sql');
    };
    const first = backup(item);
    pg.client(`DROP DATABASE ${db} WITH (FORCE);`);
    return { repo, backup, first };
  };
  const item = (db: string) => pg.client('SELECT item FROM t;', { args: [`--dbname=${db}`, '-tA'] }).trim();

  /**
   * restic wrapped in `dir`: each call's start and end go to `calls.log`; `dump` touches
   * `dump-started`, then waits for `go` when holdDump; `snapshots` waits (at most 10 s) for
   * `dump-started` when holdSnapshots, and touches `snapshots-done` when it ends.
   */
  const wrapper = async (dir: string, opts: { holdSnapshots?: boolean; holdDump?: boolean }) => {
    const real = await whichExecutable('restic');
    await mkdir(dir, { recursive: true });
    const f = (name: string) => `'${join(dir, name)}'`;
    const wait = (file: string, tries: number) => `i=0; while [ ! -f ${f(file)} ] && [ $i -lt ${tries} ]; do sleep 0.05; i=$((i+1)); done`;
    const script = [
      '#!/bin/sh',
      `echo "start $*" >> ${f('calls.log')}`,
      'case "$1" in',
      `  dump) touch ${f('dump-started')}; ${opts.holdDump ? wait('go', 600) : ':'}; '${real}' "$@"; rc=$?;;`,
      `  snapshots) ${opts.holdSnapshots ? wait('dump-started', 200) : ':'}; '${real}' "$@"; rc=$?; touch ${f('snapshots-done')};;`,
      `  *) '${real}' "$@"; rc=$?;;`,
      'esac',
      `echo "end $1" >> ${f('calls.log')}`,
      'exit $rc',
    ].join('\n');
    writeFileSync(join(dir, 'restic'), `${script}\n`);
    chmodSync(join(dir, 'restic'), 0o755);
    return {
      restic: join(dir, 'restic'),
      calls: () => (existsSync(join(dir, 'calls.log')) ? readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n') : []),
      touch: (name: string) => writeFileSync(join(dir, name), ''),
      exists: (name: string) => existsSync(join(dir, name)),
    };
  };

  const restore = (repo: string, db: string, restic: string, logged: string[] = [], snapshots = ['latest']) => {
    const appBinding: AppBinding = {
      apiVersion: 'appcatalog.appscode.com/v1alpha1',
      kind: 'AppBinding',
      metadata: { name: db, namespace: 'demo' },
      spec: { clientConfig: { url: `postgresql://127.0.0.1:${pg.port}/` }, secret: { name: 'auth' } },
    };
    const restorer = new DatabaseRestorer(
      { appBinding: async () => appBinding, secretData: async () => ({ username: 'postgres', password: PASSWORD }) },
      { restic, pollMs: 100 },
    );
    const session = {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: db, namespace: 'demo' },
      spec: { task: { name: 'postgres-restore-15.1' }, target: { ref: { apiVersion: 'appcatalog.appscode.com/v1alpha1', kind: 'AppBinding', name: db } } },
    } as unknown as RestoreSession;
    const repository = {
      metadata: { name: 'r', namespace: 'demo' },
      spec: { backend: { local: { mountPath: repo }, storageSecretName: 's' } },
    } as unknown as Repository;
    return restorer.restore({
      session,
      repository,
      secret: { RESTIC_PASSWORD },
      plan: { host: 'host-0', sourceHost: 'host-0', snapshots, restores: true },
      root: '/',
      scratchDir: join(tmp.path, `scratch-${++n}`),
      signal: new AbortController().signal,
      onProgress: () => {},
      log: sinkLogger((r) => logged.push(r.msg), { level: 'debug' }),
    });
  };

  it('restic dump latest --host host-0 starts before the listing beside it ends; the outcome is the snapshot it dumped', async () => {
    const { repo, first } = repoWith('atonce', 'tea');
    const w = await wrapper(join(tmp.path, 'wrap-at-once'), { holdSnapshots: true });
    const out = await restore(repo, 'atonce', w.restic);
    assert.equal(item('atonce'), 'tea');
    assert.equal(out.snapshots.length, 1);
    assert.match(out.snapshots[0]!, new RegExp(`^${first}[0-9a-f]{56}$`), 'the full id of the snapshot dumped (backup --json names its short id)');
    const calls = w.calls();
    const dump = calls.findIndex((c) => c.startsWith('start dump '));
    assert.match(calls[dump]!, /^start dump --host host-0 latest \/dumpfile\.sql /, 'restic resolves latest itself, for the source host');
    assert.ok(dump < calls.indexOf('end snapshots'), `restic dump started before the listing ended: ${calls.join(' | ')}`);
    assert.equal(calls.filter((c) => c.startsWith('start snapshots')).length, 1, 'one listing: it knew the snapshot dumped');
  });

  it('a backup landing between the listing and restic dump: the snapshot dumped is the one recorded, never the listing’s', async () => {
    const { repo, first, backup } = repoWith('race', 'older');
    const w = await wrapper(join(tmp.path, 'wrap-race'), { holdDump: true });
    const logged: string[] = [];
    const running = restore(repo, 'race', w.restic, logged);
    running.catch(() => undefined);
    // the listing has seen the older snapshot only and ended; restic dump waits: a backup lands now
    for (let i = 0; !w.exists('snapshots-done'); i++) {
      assert.ok(i < 600, 'the listing did not end');
      await new Promise((r) => setTimeout(r, 50));
    }
    const newer = backup('newer');
    pg.client('DROP DATABASE race WITH (FORCE);');
    w.touch('go');
    const out = await running;
    assert.notEqual(first, newer);
    assert.equal(item('race'), 'newer', 'restic dump dumped the newer snapshot');
    assert.equal(out.snapshots.length, 1);
    assert.match(out.snapshots[0]!, new RegExp(`^${newer}[0-9a-f]{56}$`), 'the outcome names what was dumped');
    assert.equal(w.calls().filter((c) => c.startsWith('start snapshots')).length, 2, 'listed anew for the snapshot the first listing had not seen');
    assert.ok(
      logged.some((m) => m.includes(`dumped ${newer.slice(0, 8)}`)),
      logged.join('\n'),
    );
  });

  it('a snapshot id given is dumped as given; no listing', async () => {
    const { repo, first, backup } = repoWith('given', 'older');
    backup('newer');
    pg.client('DROP DATABASE given WITH (FORCE);');
    const w = await wrapper(join(tmp.path, 'wrap-given'), {});
    const out = await restore(repo, 'given', w.restic, [], [first]);
    assert.equal(item('given'), 'older');
    assert.deepEqual(out.snapshots, [first]);
    assert.deepEqual(
      w
        .calls()
        .filter((c) => c.startsWith('start '))
        .map((c) => c.split(' ').slice(0, 3).join(' ')),
      [`start dump ${first}`],
    );
  });

  it('no snapshot of the source host: SnapshotNotFound, saying which host', async () => {
    const repo = initRepository(join(tmp.path, `repo-${++n}`));
    const w = await wrapper(join(tmp.path, 'wrap-none'), {});
    await assert.rejects(restore(repo, 'none', w.restic), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'SnapshotNotFound');
      assert.match(e.message, /no snapshot for host host-0/);
      return true;
    });
  });
});
