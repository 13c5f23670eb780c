// Real database servers for the database restore tests (test/databases): Debian's PostgreSQL,
// MariaDB (it serves the MySQL and MariaDB tasks) and Redis, each started by the test on
// 127.0.0.1 on a free port in a temp dir, as the current user (PostgreSQL refuses root: as root it
// runs as the `postgres` user Debian's package makes), stopped by `stop()`. A missing server is
// installed with scripts/install-deps.sh; `{skip}` with the reason only when that cannot be done.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.ts';

export interface DatabaseServer {
  kind: 'postgres' | 'mariadb' | 'redis';
  host: '127.0.0.1';
  port: number;
  dir: string;
  /** The administrator's user and password (postgres / root / default). */
  user: string;
  password: string;
  /** Runs `input` (SQL, or Redis commands) through the server's client as the administrator; stdout. */
  client(input: string, opts?: { password?: string; args?: string[] }): string;
  /** The client's environment and arguments to reach the server (for a backup pipe). */
  clientArgs(): { argv: string[]; env: NodeJS.ProcessEnv };
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function ensureInstalled(found: () => boolean, what: string): string | undefined {
  if (found()) return undefined;
  try {
    execFileSync('bash', [join(REPO_ROOT, 'scripts/install-deps.sh')], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    return `${what} is not installed and scripts/install-deps.sh could not install it (${String((e as Error).message).split('\n')[0]})`;
  }
  return found() ? undefined : `${what} is not installed and scripts/install-deps.sh did not install it`;
}

function postgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const majors = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(base, majors[0], 'bin') : undefined;
}

const isRoot = () => process.getuid?.() === 0;

function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** Resolves once `ready()` succeeds; rejects when the process exits first or after `ms`. */
async function waitReady(child: ChildProcess, ready: () => boolean, what: string, log: () => string, ms = 60_000): Promise<void> {
  try {
    await untilReady(child, ready, what, log, ms);
  } catch (e) {
    child.kill('SIGKILL'); // never leave a half-started server behind
    throw e;
  }
}

async function untilReady(child: ChildProcess, ready: () => boolean, what: string, log: () => string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  for (;;) {
    if (exited !== undefined) throw new Error(`${what} exited (${exited}) before it accepted connections: ${log().slice(-2000)}`);
    if (ready()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not accept connections within ${ms / 1000} s: ${log().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

function capture(child: ChildProcess): () => string {
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString('utf8')).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => out;
}

function run(argv: string[], env: NodeJS.ProcessEnv, input: string): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { input, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${argv[0]} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** PostgreSQL: initdb with password logins over TCP (scram-sha-256), superuser `postgres`. */
export async function startPostgres(password: string): Promise<DatabaseServer | { skip: string }> {
  const skip = ensureInstalled(() => Boolean(postgresBin()) && spawnSync('psql', ['--version']).status === 0, 'PostgreSQL (postgresql, postgresql-client)');
  if (skip) return { skip };
  const bin = postgresBin()!;
  const dir = tempDir('rc-postgres-');
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  // As root, the server runs as Debian's postgres user (PostgreSQL refuses to run as root).
  const as = isRoot() ? ['runuser', '-u', 'postgres', '--'] : [];
  if (isRoot()) {
    const pg = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, pg, gid);
    chownSync(pwfile, pg, gid);
  }
  execFileSync(
    as[0] ?? join(bin, 'initdb'),
    [
      ...as.slice(1),
      ...(as.length ? [join(bin, 'initdb')] : []),
      '-D',
      data,
      '-U',
      'postgres',
      '--auth-local=trust',
      '--auth-host=scram-sha-256',
      `--pwfile=${pwfile}`,
      '-E',
      'UTF8',
      '--no-sync',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const port = await freePort();
  const argv = [...as, join(bin, 'postgres'), '-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir, '-c', 'fsync=off'];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = capture(child);
  const env = (pw = srv.password): NodeJS.ProcessEnv => ({ ...process.env, PGPASSWORD: pw, PGCONNECT_TIMEOUT: '5' });
  const common = ['--host=127.0.0.1', `--port=${port}`, '--username=postgres'];
  await waitReady(child, () => spawnSync('pg_isready', [...common, '--timeout=2']).status === 0, 'postgres', log);
  const srv: DatabaseServer = {
    kind: 'postgres',
    host: '127.0.0.1',
    port,
    dir,
    user: 'postgres',
    password,
    client: (input, opts = {}) => run(['psql', ...common, '-X', '-q', '-t', '-A', '-v', 'ON_ERROR_STOP=1', ...(opts.args ?? [])], env(opts.password), input),
    clientArgs: () => ({ argv: common, env: env() }),
    stop: stopper(child, dir),
  };
  return srv;
}

/** MariaDB: a fresh data dir; root logs in with the password over TCP (`root@127.0.0.1`). */
export async function startMariadb(password: string): Promise<DatabaseServer | { skip: string }> {
  const skip = ensureInstalled(
    () => existsSync('/usr/sbin/mariadbd') && spawnSync('mysql', ['--version']).status === 0,
    'MariaDB (mariadb-server, mariadb-client)',
  );
  if (skip) return { skip };
  const dir = tempDir('rc-mariadb-');
  const data = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const user = userInfo().username;
  execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, `--user=${user}`, '--auth-root-authentication-method=normal', '--skip-test-db'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const port = await freePort();
  const child = spawn(
    '/usr/sbin/mariadbd',
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--socket=${socket}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-name-resolve',
      `--user=${user}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      '--innodb-flush-log-at-trx-commit=0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = capture(child);
  await waitReady(
    child,
    () => spawnSync('mysqladmin', ['--no-defaults', `--socket=${socket}`, '-u', 'root', 'ping'], { stdio: 'ignore' }).status === 0,
    'mariadbd',
    log,
  );
  // root over TCP from 127.0.0.1 with a password, as an AppBinding's Secret gives it.
  run(
    ['mysql', '--no-defaults', `--socket=${socket}`, '-u', 'root'],
    process.env,
    `CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '${password}'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;`,
  );
  const common = ['--no-defaults', '-h', '127.0.0.1', `--port=${port}`, '-u', 'root'];
  const env = (pw = srv.password): NodeJS.ProcessEnv => ({ ...process.env, MYSQL_PWD: pw });
  const srv: DatabaseServer = {
    kind: 'mariadb',
    host: '127.0.0.1',
    port,
    dir,
    user: 'root',
    password,
    client: (input, opts = {}) => run(['mysql', ...common, '-N', '-B', ...(opts.args ?? [])], env(opts.password), input),
    clientArgs: () => ({ argv: common, env: env() }),
    stop: stopper(child, dir),
  };
  return srv;
}

/** Redis with `requirepass`, no persistence. */
export async function startRedis(password: string): Promise<DatabaseServer | { skip: string }> {
  const skip = ensureInstalled(
    () => spawnSync('redis-server', ['--version']).status === 0 && spawnSync('redis-cli', ['--version']).status === 0,
    'Redis (redis-server, redis-tools)',
  );
  if (skip) return { skip };
  const dir = tempDir('rc-redis-');
  mkdirSync(join(dir, 'data'));
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', join(dir, 'data'), '--requirepass', password, '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const log = capture(child);
  const common = ['-h', '127.0.0.1', '-p', String(port)];
  const env = (pw = srv.password): NodeJS.ProcessEnv => ({ ...process.env, REDISCLI_AUTH: pw });
  const srv: DatabaseServer = {
    kind: 'redis',
    host: '127.0.0.1',
    port,
    dir,
    user: 'default',
    password,
    client: (input, opts = {}) => run(['redis-cli', ...common, ...(opts.args ?? [])], env(opts.password), input),
    clientArgs: () => ({ argv: common, env: env() }),
    stop: stopper(child, dir),
  };
  await waitReady(child, () => spawnSync('redis-cli', [...common, 'ping'], { env: env(), encoding: 'utf8' }).stdout?.trim() === 'PONG', 'redis-server', log);
  return srv;
}
