// Built-in database restores (issue #14): Stash's PostgreSQL, MySQL, MariaDB and Redis addons'
// restores run by the agent itself when Stash's catalog Task is not installed. The pure parts
// (addons, connection, params, commands, filter) and the I/O edge (restorer).
export { DATABASE_ADDONS, DEFAULT_WAIT_TIMEOUT_SECONDS, builtInDatabaseTask, databaseHostPlan, versionNote } from './addons.ts';
export type { BuiltInDatabaseTask, DatabaseAddon, DatabaseKind } from './addons.ts';
export { appBindingSecretNames, connectionOf, serverName, serverOf, sslmodeOf, transformSecret } from './connection.ts';
export type { Connection } from './connection.ts';
export { databaseParams } from './params.ts';
export type { DatabaseParams } from './params.ts';
export { databaseCommands } from './commands.ts';
export type { ClientCommand, DatabaseCommands } from './commands.ts';
export { DropLines, POSTGRES_PASSWORD_LINE, dropsLine } from './filter.ts';
export { DatabaseError, isDatabaseError } from './errors.ts';
export type { DatabaseErrorCode, DatabaseErrorData } from './errors.ts';
export { DatabaseRestorer } from './restorer.ts';
export type { DatabaseSource } from './restorer.ts';
