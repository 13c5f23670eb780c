// Built-in Redis restores (issue #14) end to end: a real Redis server, a backup in the format of
// Stash's Redis addon (redis-dump-go's RESP commands as dumpfile.resp, host host-0; Debian does
// not package redis-dump-go, so the test writes that format itself), the AppBinding and
// RestoreSession of Stash's docs (stashed/docs addons/redis/helm), run by the daemon from git;
// afterwards the keys are in the server.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRedis } from '../support/databases.ts';
import type { DatabaseServer } from '../support/databases.ts';
import { tempDir } from '../support/restic-repo.ts';
import { appBinding, backupDump, databaseSession, initRepository, secret, startDatabaseCluster } from './harness.ts';
import type { DatabaseCluster } from './harness.ts';

const PASSWORD = 'redis password';
const WRONG = 'not the redis password';

/** redis-dump-go's RESP serializer: each command an array of bulk strings. */
const resp = (cmds: string[][]) => cmds.map((c) => `*${c.length}\r\n${c.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`).join('');

describe('database restores: Redis, with a real server, from git', function () {
  this.timeout(300_000);
  let db: DatabaseServer;
  let c: DatabaseCluster;
  let tmp: { path: string; cleanup: () => Promise<void> };

  before(async function () {
    const started = await startRedis(PASSWORD);
    if ('skip' in started) {
      console.warn(`      skipped: ${started.skip}`);
      this.skip();
    }
    db = started;
    tmp = await tempDir('db-redis');
    const dump = join(tmp.path, 'dump.resp');
    writeFileSync(
      dump,
      resp([
        ['SELECT', '0'],
        ['SET', 'greeting', 'hello world'],
        ['RPUSH', 'queue', 'a', 'b', 'c'],
        ['HSET', 'user:1', 'name', 'Ada', 'lang', 'en'],
        ['SET', '__redisdump_total_keys', '3'],
      ]),
    );
    const repo = initRepository(tmp.path);
    backupDump(repo, ['cat', dump], process.env, 'dumpfile.resp');
    const url = `redis://127.0.0.1:${db.port}`;
    c = await startDatabaseCluster(
      repo,
      {
        'sample-redis-restore.yaml': databaseSession('sample-redis-restore', 'redis-restore-6.2.5', 'sample-redis'),
        'wrong-password.yaml': databaseSession('wrong-password', 'redis-restore-6.2.5', 'wrong-password-redis'),
      },
      [
        secret('sample-redis-auth', { password: PASSWORD }),
        secret('wrong-auth', { password: WRONG }),
        appBinding('sample-redis', url, 'sample-redis-auth', 'kubedb.com/redis', '6.2.5'),
        appBinding('wrong-password-redis', url, 'wrong-auth', 'kubedb.com/redis', '6.2.5'),
      ],
    );
  });
  after(async () => {
    await c?.close();
    await db?.stop();
    await tmp?.cleanup();
  });

  it("restores the keys of Stash's RESP dump with redis-cli --pipe, and removes the dump's key count as Stash does", async () => {
    const done = await c.phase('sample-redis-restore', ['Succeeded', 'Failed', 'Unknown']);
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.equal(db.client('GET greeting\n'), 'hello world\n');
    assert.equal(db.client('LRANGE queue 0 -1\n'), 'a\nb\nc\n');
    assert.equal(db.client('HGET user:1 name\n'), 'Ada\n');
    assert.equal(db.client('EXISTS __redisdump_total_keys\n'), '0\n');
  });

  it('ends Failed with the reason when the password is wrong, never showing it', async () => {
    const done = await c.phase('wrong-password', ['Succeeded', 'Failed', 'Unknown']);
    assert.equal(done.status?.phase, 'Failed', JSON.stringify(done.status));
    assert.match(done.status!.stats![0]!.error!, /redis-cli exited 1 restoring into Redis: .*(WRONGPASS|invalid password|errors: [1-9])/);
    const shown = JSON.stringify(done) + (await c.events('wrong-password')).join('\n') + c.logs.join('\n');
    for (const pw of [WRONG, PASSWORD]) assert.ok(!shown.includes(pw), `a password is shown: ${pw}`);
  });
});
