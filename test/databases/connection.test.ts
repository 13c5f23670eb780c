// How the built-in database restores reach and log in to a database, from its AppBinding and
// Secrets, as Stash's addons do (kmodules AppBinding Hostname/Port/TransformSecret, the addons'
// credential keys, TLS and sslmode), and the client command lines they run. Pure.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import type { AppBinding } from '../../src/api/appbinding.ts';
import {
  DATABASE_ADDONS,
  DropLines,
  POSTGRES_PASSWORD_LINE,
  appBindingSecretNames,
  builtInDatabaseTask,
  connectionOf,
  databaseHostPlan,
  databaseCommands,
  databaseParams,
  isDatabaseError,
  versionNote,
} from '../../src/databases/index.ts';
import type { RestoreSession } from '../../src/api/index.ts';
import type { DatabaseErrorCode } from '../../src/databases/index.ts';

const binding = (spec: Partial<AppBinding['spec']>, name = 'sample-postgres'): AppBinding => ({
  apiVersion: 'appcatalog.appscode.com/v1alpha1',
  kind: 'AppBinding',
  metadata: { name, namespace: 'demo' },
  spec: { clientConfig: {}, ...spec },
});
const { postgres, mysql, mariadb, redis } = DATABASE_ADDONS;
const auth = { 'sample-postgres-auth': { username: 'postgres', password: 's3cret' } };
const code = (c: DatabaseErrorCode) => (e: unknown) => isDatabaseError(e, c);

describe('databases: connection from an AppBinding', () => {
  it("takes the host from clientConfig.service as <name>.<namespace>.svc (Stash's docs AppBinding), and sslmode from its query", () => {
    const ab = binding({
      clientConfig: { service: { name: 'sample-postgres', path: '/', port: 5432, query: 'sslmode=disable', scheme: 'postgresql' } },
      secret: { name: 'sample-postgres-auth' },
    });
    const c = connectionOf({ appBinding: ab, addon: postgres, secrets: auth });
    assert.deepEqual(
      { host: c.host, port: c.port, username: c.username, password: c.password, sslmode: c.sslmode },
      { host: 'sample-postgres.demo.svc', port: 5432, username: 'postgres', password: 's3cret', sslmode: 'disable' },
    );
    const other = binding({
      clientConfig: { service: { name: 'db', namespace: 'data', port: 0, scheme: 'postgresql' } },
      secret: { name: 'sample-postgres-auth' },
    });
    assert.deepEqual(connectionOf({ appBinding: other, addon: postgres, secrets: auth }).host, 'db.data.svc');
    assert.equal(connectionOf({ appBinding: other, addon: postgres, secrets: auth }).port, 5432, "the addon's default port when the service names none");
  });

  it("takes host, port and sslmode from clientConfig.url, MySQL's tcp(host:port) form too, and refuses one without a host", () => {
    const url = (u: string, addon = postgres) =>
      connectionOf({ appBinding: binding({ clientConfig: { url: u }, secret: { name: 'sample-postgres-auth' } }), addon, secrets: auth });
    const pg = url('postgresql://10.0.0.7:6432/app?sslmode=verify-full');
    assert.deepEqual([pg.host, pg.port, pg.sslmode], ['10.0.0.7', 6432, 'verify-full']);
    assert.deepEqual([url('db.example:3307', mysql).host, url('db.example:3307', mysql).port], ['db.example', 3307]);
    const dsn = url('root:pw@tcp(mysql.demo.svc:3306)/', mysql);
    assert.deepEqual([dsn.host, dsn.port], ['mysql.demo.svc', 3306]);
    assert.equal(url('redis://cache').port, 5432);
    assert.throws(
      () => url('postgresql:///nohost'),
      (e: unknown) => code('AppBindingInvalid')(e) && /names no host/.test((e as Error).message),
    );
    assert.throws(() => connectionOf({ appBinding: binding({ secret: { name: 'x' } }), addon: postgres, secrets: {} }), code('AppBindingInvalid'));
  });

  it("reads the Secret's username/password keys, and PostgreSQL's deprecated POSTGRES_USER/POSTGRES_PASSWORD", () => {
    const ab = binding({ clientConfig: { url: 'postgresql://127.0.0.1:5432/' }, secret: { name: 'old' } });
    const c = connectionOf({ appBinding: ab, addon: postgres, secrets: { old: { POSTGRES_USER: 'admin', POSTGRES_PASSWORD: 'old-pw' } } });
    assert.deepEqual([c.username, c.password], ['admin', 'old-pw']);
    assert.throws(
      () => connectionOf({ appBinding: ab, addon: mysql, secrets: { old: { POSTGRES_USER: 'admin' } } }),
      (e: unknown) =>
        code('DatabaseSecretKeyMissing')(e) && /Secret demo\/old of AppBinding demo\/sample-postgres has no username key/.test((e as Error).message),
    );
    assert.throws(() => connectionOf({ appBinding: binding({ clientConfig: { url: 'x:1' } }), addon: postgres, secrets: {} }), /names no spec\.secret/);
    // Redis may run without a password: no Secret, no credentials.
    const r = connectionOf({ appBinding: binding({ clientConfig: { url: 'redis://127.0.0.1:6379' } }), addon: redis, secrets: {} });
    assert.deepEqual([r.username, r.password], [undefined, undefined]);
  });

  it("applies the AppBinding's secretTransforms in order (Stash's MariaDB helm docs: addKey username, renameKey the root password)", () => {
    const ab = binding(
      {
        clientConfig: { service: { name: 'sample-mariadb', path: '/', port: 3306, scheme: 'mysql' } },
        secret: { name: 'sample-mariadb' },
        secretTransforms: [{ addKey: { key: 'username', stringValue: 'root' } }, { renameKey: { from: 'mariadb-root-password', to: 'password' } }],
      },
      'sample-mariadb',
    );
    const c = connectionOf({ appBinding: ab, addon: mariadb, secrets: { 'sample-mariadb': { 'mariadb-root-password': 'rootpw' } } });
    assert.deepEqual([c.username, c.password], ['root', 'rootpw']);
    const more = binding({
      clientConfig: { url: 'tcp(db:3306)/' },
      secret: { name: 'a' },
      secretTransforms: [
        { addKeysFrom: { secretRef: { name: 'b' } } },
        { removeKey: { key: 'junk' } },
        { addKey: { key: 'username', value: Buffer.from('u64').toString('base64') } },
      ],
    });
    assert.deepEqual(appBindingSecretNames(more), ['a', 'b']);
    const m = connectionOf({ appBinding: more, addon: mysql, secrets: { a: { junk: 'x' }, b: { password: 'from-b' } } });
    assert.deepEqual([m.username, m.password], ['u64', 'from-b']);
  });

  it('takes the CA from clientConfig.caBundle and the client certificate from spec.tlsSecret; task param user replaces the PostgreSQL user then', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n';
    const ab = binding({
      clientConfig: { url: 'postgresql://db:5432/', caBundle: Buffer.from(ca).toString('base64') },
      secret: { name: 'sample-postgres-auth' },
      tlsSecret: { name: 'client-tls' },
    });
    assert.deepEqual(appBindingSecretNames(ab), ['sample-postgres-auth', 'client-tls']);
    const c = connectionOf({ appBinding: ab, addon: postgres, secrets: { ...auth, 'client-tls': { 'tls.crt': 'CERT', 'tls.key': 'KEY' } }, user: 'app' });
    assert.deepEqual([c.caCert, c.clientCert, c.clientKey, c.username], [ca, 'CERT', 'KEY', 'app']);
    assert.throws(() => connectionOf({ appBinding: ab, addon: postgres, secrets: { ...auth, 'client-tls': { 'tls.crt': 'CERT' } } }), /has no tls\.key key/);
  });
});

describe('databases: client commands', () => {
  const conn = { host: 'db', port: 5432, username: 'postgres', password: 'pw-in-env-only', appBinding: 'demo/db' };
  const params = { args: ['--echo-errors'], waitTimeoutSeconds: 300 };

  it('PostgreSQL: psql --username --host --port then task.params args; PGPASSWORD, PGSSLMODE and the TLS files in the environment', () => {
    const cmds = databaseCommands(postgres, { ...conn, sslmode: 'require', caCert: 'CA' }, params, '/tmp/database');
    assert.deepEqual(cmds.restore.argv, ['psql', '--username=postgres', '--host=db', '--port=5432', '--echo-errors']);
    assert.deepEqual(cmds.ready.argv, ['pg_isready', '--username=postgres', '--host=db', '--port=5432', '--timeout=5']);
    assert.deepEqual(cmds.restore.env, { PGPASSWORD: 'pw-in-env-only', PGSSLMODE: 'require', PGSSLROOTCERT: '/tmp/database/ca.crt' });
    assert.deepEqual(cmds.files, [{ path: '/tmp/database/ca.crt', content: 'CA' }]);
  });

  it('MySQL and MariaDB: mysql -u -h --port [--ssl-ca]; the password in MYSQL_PWD; readiness by mysqladmin ping', () => {
    for (const addon of [mysql, mariadb]) {
      const cmds = databaseCommands(addon, { ...conn, port: 3306, username: 'root', caCert: 'CA' }, { args: [], waitTimeoutSeconds: 5 }, '/s');
      assert.deepEqual(cmds.restore.argv, ['mysql', '-u', 'root', '-h', 'db', '--port=3306', '--ssl-ca=/s/ca.crt']);
      assert.deepEqual(cmds.ready.argv.at(-1), 'ping');
      assert.deepEqual(cmds.restore.env, { MYSQL_PWD: 'pw-in-env-only' });
    }
  });

  it('Redis: redis-cli --pipe -h -p, REDISCLI_AUTH, --tls --cacert with a caBundle', () => {
    const cmds = databaseCommands(
      redis,
      { host: 'cache', port: 6379, password: 'pw-in-env-only', caCert: 'CA', appBinding: 'demo/c' },
      { args: [], waitTimeoutSeconds: 5 },
      '/s',
    );
    assert.deepEqual(cmds.restore.argv, ['redis-cli', '--tls', '--cacert', '/s/ca.crt', '--pipe', '-h', 'cache', '-p', '6379']);
    assert.deepEqual(cmds.restore.env, { REDISCLI_AUTH: 'pw-in-env-only' });
  });

  it('never puts the password in a command line', () => {
    for (const addon of [postgres, mysql, mariadb, redis]) {
      const cmds = databaseCommands(addon, conn, params, '/s');
      for (const c of [cmds.ready, cmds.restore]) assert.ok(!c.argv.join(' ').includes('pw-in-env-only'), `${addon.kind}: ${c.argv.join(' ')}`);
    }
  });
});

describe('databases: task names, params and the dump filter', () => {
  it("selects the built-in restore by Stash's catalog names, and says what the version means", () => {
    assert.equal(builtInDatabaseTask('postgres-restore-11.9')?.addon.dumpFile, 'dumpfile.sql');
    assert.equal(builtInDatabaseTask('redis-restore-6.2.5')?.addon.dumpFile, 'dumpfile.resp');
    assert.equal(builtInDatabaseTask('mariadb-restore-10.5.8')?.addon.client, 'mysql');
    for (const n of ['pvc-restore', 'mongodb-restore-4.4.6', 'my-restore', undefined]) assert.equal(builtInDatabaseTask(n), undefined, String(n));
    assert.match(
      versionNote(builtInDatabaseTask('postgres-restore-11.9')!),
      /PostgreSQL 11\.9 of Stash's catalog, restored with the psql client of restore-controller's image/,
    );
    assert.match(versionNote(builtInDatabaseTask('mariadb-restore-10.5.8')!), /Stash's catalog has no MariaDB 10\.5\.8 \(it has 10\.6\.23\)/);
  });

  it("restores latest of the host when the rules give no snapshot or none matches, as Stash's addons dump latest; snapshots given are kept", () => {
    assert.deepEqual(databaseHostPlan({ host: 'host-0', sourceHost: '', restores: false }), {
      host: 'host-0',
      sourceHost: 'host-0',
      restores: true,
      snapshots: ['latest'],
    });
    assert.deepEqual(databaseHostPlan({ host: 'host-0', sourceHost: 'host-1', restores: true, paths: ['/data'], rule: 0 }), {
      host: 'host-0',
      sourceHost: 'host-1',
      restores: true,
      snapshots: ['latest'],
      rule: 0,
    });
    const pinned = { host: 'host-0', sourceHost: 'host-0', restores: true, snapshots: ['4bba3011'], rule: 0 };
    assert.equal(databaseHostPlan(pinned), pinned);
  });

  const session = (params?: { name: string; value: string }[]) =>
    ({
      metadata: { name: 's', namespace: 'demo' },
      spec: { task: { name: 'postgres-restore-11.9', ...(params ? { params } : {}) } },
    }) as unknown as RestoreSession;
  it("reads task.params args (split on white space) and waitTimeout (Stash's default 300 s), and refuses a waitTimeout that is not seconds", () => {
    assert.deepEqual(databaseParams(session()), { args: [], waitTimeoutSeconds: 300 });
    assert.deepEqual(
      databaseParams(
        session([
          { name: 'args', value: ' --dbname=app  -v ON_ERROR_STOP=1' },
          { name: 'waitTimeout', value: '20' },
        ]),
      ),
      {
        args: ['--dbname=app', '-v', 'ON_ERROR_STOP=1'],
        waitTimeoutSeconds: 20,
      },
    );
    assert.throws(
      () => databaseParams(session([{ name: 'waitTimeout', value: '5m' }])),
      (e: unknown) => code('TaskParamInvalid')(e) && /waitTimeout "5m"/.test((e as Error).message),
    );
  });

  it("drops pg_dumpall's ALTER ROLE postgres … PASSWORD line, however the stream is cut, and nothing else", async () => {
    const dump = [
      'CREATE ROLE postgres;',
      `${POSTGRES_PASSWORD_LINE} 'SCRAM-SHA-256$4096:abc';`,
      'CREATE ROLE app;',
      `ALTER ROLE app WITH LOGIN PASSWORD 'x';`,
      'COPY t FROM stdin;',
      'x'.repeat(200_000),
      '\\.',
      '',
    ].join('\n');
    const expected = dump
      .split('\n')
      .filter((l) => !l.startsWith('ALTER ROLE postgres'))
      .join('\n');
    for (const size of [1, 7, 64, 4096, dump.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < dump.length; i += size) chunks.push(Buffer.from(dump.slice(i, i + size)));
      const filter = new DropLines();
      const out: Buffer[] = [];
      await new Promise<void>((resolve, reject) => {
        Readable.from(chunks)
          .pipe(filter)
          .on('data', (c: Buffer) => out.push(c))
          .on('end', resolve)
          .on('error', reject);
      });
      assert.equal(Buffer.concat(out).toString(), expected, `chunks of ${size}`);
      assert.equal(filter.dropped, 1);
    }
  });
});
