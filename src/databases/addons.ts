// What each built-in database restore does, as Stash's addons do it (stashed/postgres, mysql,
// mariadb, redis, pkg/restore.go and utils): the dump file inside the snapshot, the client that
// reads it, the default port, the filter between them, and the `task.params` the addon's Function
// takes. Pure data.
import { officialTask } from '../api/addons.ts';
import type { OfficialTask } from '../api/addons.ts';
import type { HostPlan } from '../hosts/types.ts';

export type DatabaseKind = 'postgres' | 'mysql' | 'mariadb' | 'redis';

export interface DatabaseAddon {
  kind: DatabaseKind;
  title: string;
  /** The file Stash's backup wrote with `restic backup --stdin --stdin-filename <dumpFile>`. */
  dumpFile: string;
  /** The client program the dump is piped into. */
  client: string;
  defaultPort: number;
  /** The line filter between `restic dump` and the client (PostgreSQL only). */
  filter?: 'drop-postgres-password';
}

export const DATABASE_ADDONS: Readonly<Record<DatabaseKind, DatabaseAddon>> = {
  // restic dump | sed '/ALTER ROLE postgres WITH … PASSWORD/d' | psql
  postgres: { kind: 'postgres', title: 'PostgreSQL', dumpFile: 'dumpfile.sql', client: 'psql', defaultPort: 5432, filter: 'drop-postgres-password' },
  // restic dump | mysql (MYSQL_PWD)
  mysql: { kind: 'mysql', title: 'MySQL', dumpFile: 'dumpfile.sql', client: 'mysql', defaultPort: 3306 },
  mariadb: { kind: 'mariadb', title: 'MariaDB', dumpFile: 'dumpfile.sql', client: 'mysql', defaultPort: 3306 },
  // restic dump | redis-cli --pipe (REDISCLI_AUTH); the dump is RESP commands (redis-dump-go)
  redis: { kind: 'redis', title: 'Redis', dumpFile: 'dumpfile.resp', client: 'redis-cli', defaultPort: 6379 },
};

/** Stash's default `waitTimeout` (seconds) for the database to accept connections. */
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 300;

export interface BuiltInDatabaseTask {
  task: OfficialTask;
  addon: DatabaseAddon;
}

/** The built-in database restore a task name selects (`postgres-restore-11.9`…), or undefined. */
export function builtInDatabaseTask(name: string | undefined): BuiltInDatabaseTask | undefined {
  const task = name ? officialTask(name) : undefined;
  if (task?.target !== 'AppBinding') return undefined;
  const addon = DATABASE_ADDONS[task.addon as DatabaseKind];
  return addon ? { task, addon } : undefined;
}

/**
 * What the version in the task name means here: the built-in restore runs with the client of
 * restore-controller's image, whatever the version; a version Stash's catalog lacks is said so.
 */
export function versionNote(t: BuiltInDatabaseTask): string {
  const v = t.task.version ?? '';
  if (t.task.knownVersion)
    return `${t.task.name}: ${t.addon.title} ${v} of Stash's catalog, restored with the ${t.addon.client} client of restore-controller's image`;
  return `${t.task.name}: Stash's catalog has no ${t.addon.title} ${v} (it has ${t.task.versions.join(', ')}); restored with the ${t.addon.client} client of restore-controller's image`;
}

/**
 * What a database host restores. Stash's addons dump `latest` of the source host when the
 * session's rules give no snapshot (stashed/apimachinery DumpOnce; their Functions take no
 * paths), also when no rule matches: a database session never "restores nothing".
 */
export function databaseHostPlan(plan: HostPlan): HostPlan {
  if (plan.restores && plan.snapshots?.length) return plan;
  const { paths: _paths, ...rest } = plan;
  return { ...rest, restores: true, sourceHost: plan.sourceHost || plan.host, snapshots: ['latest'] };
}
