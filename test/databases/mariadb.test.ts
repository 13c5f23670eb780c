// Built-in MySQL and MariaDB restores (issue #14) end to end on Debian's MariaDB server, which
// serves both tasks: a mysqldump backup made as Stash's mysql/mariadb addons make it, the
// AppBinding and RestoreSessions of Stash's docs (stashed/docs addons/mysql/standalone,
// addons/mariadb/helm), run by the daemon from git; afterwards the rows are in the server.
import assert from 'node:assert/strict';
import { startMariadb } from '../support/databases.ts';
import type { DatabaseServer } from '../support/databases.ts';
import { tempDir } from '../support/restic-repo.ts';
import { appBinding, backupDump, databaseSession, initRepository, secret, startDatabaseCluster } from './harness.ts';
import type { DatabaseCluster } from './harness.ts';

const PASSWORD = 'mariadb root password';
const WRONG = 'not the mariadb password';

describe('database restores: MySQL and MariaDB tasks, with a real MariaDB server, from git', function () {
  this.timeout(300_000);
  let db: DatabaseServer;
  let c: DatabaseCluster;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let snapshot: string;
  const rows = () => db.client('SELECT id, title FROM shop.books ORDER BY id;');
  const BOOKS = '1\tDune\n2\tEmma\n3\tUlysses\n';

  before(async function () {
    const started = await startMariadb(PASSWORD);
    if ('skip' in started) {
      console.warn(`      skipped: ${started.skip}`);
      this.skip();
    }
    db = started;
    tmp = await tempDir('db-mariadb');
    db.client(
      "CREATE DATABASE shop; CREATE TABLE shop.books (id int PRIMARY KEY, title text); INSERT INTO shop.books VALUES (1, 'Dune'), (2, 'Emma'), (3, 'Ulysses');",
    );
    const repo = initRepository(tmp.path);
    // As Stash's mysql and mariadb addons back up: mysqldump --all-databases | restic backup --stdin --stdin-filename dumpfile.sql --host host-0
    snapshot = backupDump(repo, ['mysqldump', ...db.clientArgs().argv, '--all-databases'], db.clientArgs().env, 'dumpfile.sql');
    db.client('DROP DATABASE shop;');
    const url = `tcp(127.0.0.1:${db.port})/`;
    c = await startDatabaseCluster(
      repo,
      {
        'restore-sample-mysql.yaml': databaseSession('restore-sample-mysql', 'mysql-restore-8.0.21', 'restored-mysql'),
        'wrong-password.yaml': databaseSession('wrong-password', 'mysql-restore-8.0.21', 'wrong-password-mysql'),
      },
      [
        secret('restored-mysql-auth', { username: 'root', password: PASSWORD }),
        secret('wrong-auth', { username: 'root', password: WRONG }),
        // Stash's MariaDB helm docs: the chart's Secret, made usable by secretTransforms.
        secret('sample-mariadb', { 'mariadb-root-password': PASSWORD }),
        appBinding('restored-mysql', url, 'restored-mysql-auth', 'kubedb.com/mysql', '8.0.21'),
        appBinding('wrong-password-mysql', url, 'wrong-auth', 'kubedb.com/mysql', '8.0.21'),
        {
          apiVersion: 'appcatalog.appscode.com/v1alpha1',
          kind: 'AppBinding',
          metadata: { name: 'sample-mariadb', namespace: 'demo' },
          spec: {
            clientConfig: { url: `mysql://127.0.0.1:${db.port}/` },
            secret: { name: 'sample-mariadb' },
            secretTransforms: [{ addKey: { key: 'username', stringValue: 'root' } }, { renameKey: { from: 'mariadb-root-password', to: 'password' } }],
            type: 'mariadb',
            version: '10.5.8',
          },
        },
      ],
    );
  });
  after(async () => {
    await c?.close();
    await db?.stop();
    await tmp?.cleanup();
  });

  it("restores the rows of Stash's mysqldump backup with the mysql-restore-8.0.21 task", async () => {
    const done = await c.phase('restore-sample-mysql', ['Succeeded', 'Failed', 'Unknown']);
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.equal(done.status?.stats?.[0]?.snapshot?.slice(0, snapshot.length), snapshot);
    assert.equal(rows(), BOOKS);
  });

  it("ends Failed with the client's Access denied when the AppBinding's Secret has the wrong password, never showing it", async () => {
    const done = await c.phase('wrong-password', ['Succeeded', 'Failed', 'Unknown']);
    assert.equal(done.status?.phase, 'Failed');
    assert.match(done.status!.stats![0]!.error!, /mysql exited 1 restoring into MySQL: .*Access denied for user 'root'@'127\.0\.0\.1' \(using password: /);
    const shown = JSON.stringify(done) + (await c.events('wrong-password')).join('\n') + c.logs.join('\n');
    for (const pw of [WRONG, PASSWORD]) assert.ok(!shown.includes(pw), `a password is shown: ${pw}`);
  });

  it("restores again from a later commit with Stash's MariaDB docs session (mariadb-restore-10.5.8, secretTransforms), reporting that the version is not Stash's", async () => {
    db.client('DROP DATABASE shop;');
    assert.throws(rows, /Unknown database 'shop'|doesn't exist/);
    c.commit(
      { 'sample-mariadb-restore.yaml': databaseSession('sample-mariadb-restore', 'mariadb-restore-10.5.8', 'sample-mariadb') },
      'Restore the MariaDB database',
    );
    const done = await c.phase('sample-mariadb-restore', ['Succeeded', 'Failed', 'Unknown']);
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.equal(rows(), BOOKS);
    const target = done.status?.conditions?.find((x) => x.type === 'RestoreTargetFound');
    assert.match(
      target!.message!,
      /into MariaDB at 127\.0\.0\.1:\d+ \(built-in mariadb-restore-10\.5\.8: Stash's catalog has no MariaDB 10\.5\.8 \(it has 10\.6\.23\); restored with the mysql client/,
    );
  });
});
