// Built-in PostgreSQL restores (issue #14) end to end: a real PostgreSQL server, a pg_dumpall
// backup made as Stash's postgres addon makes it, the AppBinding and RestoreSession of Stash's
// docs (stashed/docs addons/postgres/standalone; the session is examples/databases/postgres), run by the daemon from git on the sandbox with
// the real agent and restic; afterwards the rows are in the server. Wrong password, missing
// AppBinding and an unreachable server end with their reason, never Succeeded.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { freePort, startPostgres } from '../support/databases.ts';
import type { DatabaseServer } from '../support/databases.ts';
import { tempDir } from '../support/restic-repo.ts';
import { REPO_ROOT } from '../support/sandbox.ts';
import { appBinding, backupDump, databaseSession, initRepository, secret, startDatabaseCluster } from './harness.ts';
import type { DatabaseCluster } from './harness.ts';

const BACKED_UP_PASSWORD = 'pg password at backup time';
const PASSWORD = 'pg password of the AppBinding';
const WRONG = 'not the pg password';
const example = parse(readFileSync(join(REPO_ROOT, 'examples/databases/postgres/clusters/demo/postgres-restore.yaml'), 'utf8'));
const condition = (s: RestoreSession, type: string) => s.status?.conditions?.find((c) => c.type === type);

describe('database restores: PostgreSQL, with a real server, from git', function () {
  this.timeout(300_000);
  let pg: DatabaseServer;
  let c: DatabaseCluster;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let snapshot: string;

  before(async function () {
    const started = await startPostgres(BACKED_UP_PASSWORD);
    if ('skip' in started) {
      console.warn(`      skipped: ${started.skip}`);
      this.skip();
    }
    pg = started;
    tmp = await tempDir('db-postgres');
    pg.client(`CREATE DATABASE appdb;`);
    pg.client(`CREATE TABLE orders (id int PRIMARY KEY, item text); INSERT INTO orders VALUES (1, 'tea'), (2, 'coffee'), (3, 'cocoa');`, {
      args: ['--dbname=appdb'],
    });
    const repo = initRepository(tmp.path);
    // As Stash's postgres addon backs up: pg_dumpall | restic backup --stdin --stdin-filename dumpfile.sql --host host-0
    snapshot = backupDump(repo, ['pg_dumpall', ...pg.clientArgs().argv], pg.clientArgs().env, 'dumpfile.sql');
    // The data is lost, and the server's postgres password is no longer the one in the dump.
    pg.client('DROP DATABASE appdb;');
    pg.client(`ALTER ROLE postgres PASSWORD '${PASSWORD}';`);
    pg.password = PASSWORD;
    const url = `postgresql://127.0.0.1:${pg.port}/?sslmode=disable`;
    c = await startDatabaseCluster(
      repo,
      {
        // The example (Stash's docs session), with the Repository of this machine.
        'sample-postgres-restore.yaml': { ...example, spec: { ...example.spec, repository: { name: 'local-repo' } } },
        'wrong-password.yaml': databaseSession('wrong-password', 'postgres-restore-11.9', 'wrong-password-postgres'),
        'missing-appbinding.yaml': databaseSession('missing-appbinding', 'postgres-restore-11.9', 'no-such-postgres'),
        'unreachable.yaml': databaseSession('unreachable', 'postgres-restore-16.1', 'unreachable-postgres', [{ name: 'waitTimeout', value: '3' }]),
      },
      [
        secret('restored-postgres-auth', { username: 'postgres', password: PASSWORD }),
        secret('wrong-auth', { username: 'postgres', password: WRONG }),
        appBinding('restored-postgres', url, 'restored-postgres-auth', 'kubedb.com/postgres', '11.2'),
        appBinding('wrong-password-postgres', url, 'wrong-auth', 'kubedb.com/postgres', '11.2'),
        appBinding('unreachable-postgres', `postgresql://127.0.0.1:${await freePort()}/`, 'restored-postgres-auth', 'kubedb.com/postgres', '16.1'),
      ],
    );
  });
  after(async () => {
    await c?.close();
    await pg?.stop();
    await tmp?.cleanup();
  });

  it("restores the rows of Stash's pg_dumpall backup into the AppBinding's server, which keeps the password of the AppBinding's Secret", async () => {
    const done = await c.phase('sample-postgres-restore', ['Succeeded', 'Failed', 'Unknown']);
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual(
      done.status?.stats?.map((s) => [s.hostname, s.phase, s.snapshot?.slice(0, snapshot.length)]),
      [['host-0', 'Succeeded', snapshot]],
    );
    assert.equal(pg.client('SELECT id, item FROM orders ORDER BY id;', { args: ['--dbname=appdb'] }), '1|tea\n2|coffee\n3|cocoa\n');
    // The dump's ALTER ROLE postgres … PASSWORD line was dropped: the Secret's password still logs in.
    assert.equal(pg.client('SELECT 1;', { password: PASSWORD }), '1\n');
    assert.throws(() => pg.client('SELECT 1;', { password: BACKED_UP_PASSWORD }), /password authentication failed/);
  });

  it('says what it restored into: the AppBinding and server in RestoreTargetFound, the host event, and the status file', async () => {
    const done = await c.session('sample-postgres-restore');
    const target = condition(done, 'RestoreTargetFound');
    assert.equal(target?.status, 'True');
    assert.match(
      target!.message!,
      new RegExp(
        `AppBinding demo/restored-postgres found: restoring dumpfile\\.sql into PostgreSQL at 127\\.0\\.0\\.1:${pg.port} \\(built-in postgres-restore-11\\.9`,
      ),
    );
    const events = await c.events('sample-postgres-restore');
    assert.ok(
      events.some((e) =>
        new RegExp(
          `^Host Restore Succeeded: host host-0: restored snapshot ${snapshot}[0-9a-f]* into PostgreSQL at 127\\.0\\.0\\.1:${pg.port} \\(AppBinding demo/restored-postgres\\)$`,
        ).test(e),
      ),
      events.join('\n'),
    );
    await c.daemon.cycle();
    const file = c.statusFile('clusters/demo/demo/sample-postgres-restore.yaml');
    assert.match(file, /AppBinding demo\/restored-postgres found: restoring dumpfile\.sql into PostgreSQL at 127\.0\.0\.1/);
    assert.match(file, /phase: Succeeded/);
  });

  it("ends Failed with psql's reason when the AppBinding's Secret has the wrong password, never showing a password", async () => {
    const done = await c.phase('wrong-password', ['Succeeded', 'Failed', 'Unknown']);
    assert.equal(done.status?.phase, 'Failed');
    const stat = done.status?.stats?.find((s) => s.hostname === 'host-0');
    assert.equal(stat?.phase, 'Failed');
    assert.match(stat!.error!, /psql exited 2 restoring into PostgreSQL: .*password authentication failed for user "postgres"/);
    const shown = JSON.stringify(done) + (await c.events('wrong-password')).join('\n') + c.logs.join('\n');
    for (const pw of [WRONG, PASSWORD, BACKED_UP_PASSWORD]) assert.ok(!shown.includes(pw), `a password is shown: ${pw}`);
  });

  it('waits as Pending with RestoreTargetFound=False while the AppBinding does not exist, and creates no Job', async () => {
    const s = await c.phase('missing-appbinding', ['Pending', 'Running', 'Succeeded', 'Failed']);
    assert.equal(s.status?.phase, 'Pending');
    const target = condition(s, 'RestoreTargetFound');
    assert.equal(target?.status, 'False');
    assert.equal(target?.reason, 'TargetNotAvailable');
    assert.match(target!.message!, /AppBinding demo\/no-such-postgres does not exist: create it/);
    const jobs = await c.batch.listNamespacedJob({ namespace: 'demo' });
    assert.ok(!jobs.items.some((j) => j.metadata?.labels?.['restore.gitops/session'] === 'missing-appbinding'), 'no Job for it');
  });

  it('ends Failed after the task param waitTimeout when nothing answers at the AppBinding, saying so', async () => {
    const done = await c.phase('unreachable', ['Succeeded', 'Failed', 'Unknown']);
    assert.equal(done.status?.phase, 'Failed');
    const stat = done.status?.stats?.find((s) => s.hostname === 'host-0');
    assert.match(
      stat!.error!,
      /PostgreSQL at 127\.0\.0\.1:\d+ \(AppBinding demo\/unreachable-postgres\) did not accept connections within 3 s .*raise the task param waitTimeout/,
    );
    assert.match(condition(done, 'RestoreTargetFound')!.message!, /built-in postgres-restore-16\.1: PostgreSQL 16\.1 of Stash's catalog/);
  });
});
