// The client command lines of a built-in database restore, as Stash's addons build them, with
// the password always in the environment (PGPASSWORD, MYSQL_PWD, REDISCLI_AUTH), never in argv:
//   PostgreSQL  psql --username=U --host=H --port=P [args]            (ready: pg_isready)
//   MySQL       mysql -u U -h H --port=P [--ssl-ca=F] [args]          (ready: mysqladmin ping)
//   MariaDB     the same clients (Debian's mariadb-client provides mysql and mysqladmin)
//   Redis       redis-cli [--tls --cacert F [--cert C --key K]] --pipe -h H -p P [args]  (ready: redis-cli ping)
// The ready checks say whether the server answers, not whether the login works (mysqladmin ping
// exits 0 on "Access denied"; pg_isready does not log in), so a wrong password fails at once in
// the restore with the client's own message instead of waiting out the timeout. Pure.
import { join } from 'node:path';
import type { DatabaseAddon } from './addons.ts';
import type { Connection } from './connection.ts';
import type { DatabaseParams } from './params.ts';

export interface ClientCommand {
  argv: string[];
  /** Added to the agent's environment (never logged: it holds the password). */
  env: Record<string, string>;
}

export interface ScratchFile {
  path: string;
  content: string;
}

export interface DatabaseCommands {
  /** Exits 0 once the server accepts connections. */
  ready: ClientCommand;
  /** Reads the dump on stdin. */
  restore: ClientCommand;
  /** Files to write (mode 0600) before either runs: CA, client certificate and key. */
  files: ScratchFile[];
  /** Runs once the dump is in (Redis: DEL the key count Stash's backup adds). */
  after?: ClientCommand;
}

/** The key redis-dump-go's `--set-total-keys` (Stash's Redis backup) adds to the dump, deleted after a restore as Stash does. */
export const REDIS_TOTAL_KEYS = '__redisdump_total_keys';

export function databaseCommands(addon: DatabaseAddon, conn: Connection, params: DatabaseParams, scratchDir: string): DatabaseCommands {
  const files: ScratchFile[] = [];
  const file = (name: string, content: string | undefined): string | undefined => {
    if (content === undefined) return undefined;
    const path = join(scratchDir, name);
    files.push({ path, content });
    return path;
  };
  const ca = file('ca.crt', conn.caCert);
  const cert = file('tls.crt', conn.clientCert);
  const key = file('tls.key', conn.clientKey);
  switch (addon.kind) {
    case 'postgres': {
      const env: Record<string, string> = {};
      if (conn.password !== undefined) env['PGPASSWORD'] = conn.password;
      if (conn.sslmode) env['PGSSLMODE'] = conn.sslmode;
      if (ca) env['PGSSLROOTCERT'] = ca;
      if (cert) env['PGSSLCERT'] = cert;
      if (key) env['PGSSLKEY'] = key;
      const common = [`--username=${conn.username ?? 'postgres'}`, `--host=${conn.host}`, `--port=${conn.port}`];
      return { files, ready: { argv: ['pg_isready', ...common, '--timeout=5'], env }, restore: { argv: ['psql', ...common, ...params.args], env } };
    }
    case 'mysql':
    case 'mariadb': {
      const env: Record<string, string> = {};
      if (conn.password !== undefined) env['MYSQL_PWD'] = conn.password;
      const common = ['-u', conn.username ?? '', '-h', conn.host, `--port=${conn.port}`, ...(ca ? [`--ssl-ca=${ca}`] : [])];
      return {
        files,
        ready: { argv: ['mysqladmin', ...common, '--connect-timeout=5', 'ping'], env },
        restore: { argv: ['mysql', ...common, ...params.args], env },
      };
    }
    case 'redis': {
      const env: Record<string, string> = {};
      if (conn.password) env['REDISCLI_AUTH'] = conn.password;
      const tls = ca ? ['--tls', '--cacert', ca, ...(cert && key ? ['--cert', cert, '--key', key] : [])] : [];
      const user = conn.username && conn.password ? ['--user', conn.username] : [];
      const server = ['-h', conn.host, '-p', String(conn.port)];
      return {
        files,
        ready: { argv: ['redis-cli', ...tls, ...server, 'ping'], env },
        restore: { argv: ['redis-cli', ...tls, ...user, '--pipe', ...server, ...params.args], env },
        after: { argv: ['redis-cli', ...tls, ...user, ...server, 'DEL', REDIS_TOTAL_KEYS], env },
      };
    }
  }
}
