// Crash points for tests of exactly-once (DESIGN §2): with RESTORECTL_FAILPOINT=<name> the daemon
// kills itself with SIGKILL at that point of a cycle, as a node failure or an OOM kill would. Unset
// (always, outside tests) they do nothing.

export type FailpointName =
  /** The ledger's `Accepted` entries are pushed; nothing is created yet. */
  | 'after-ledger-push'
  /** The RestoreSessions are created; no status has been written for them. */
  | 'after-create';

export function failpoint(name: FailpointName): void {
  if (process.env['RESTORECTL_FAILPOINT'] !== name) return;
  process.stderr.write(`failpoint ${name}: killing this process (RESTORECTL_FAILPOINT)\n`);
  process.kill(process.pid, 'SIGKILL');
}
