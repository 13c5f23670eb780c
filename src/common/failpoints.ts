// Crash points for the tests of "never restores twice" (DESIGN §2, issue 17): with
// RESTORECTL_FAILPOINT=<name> the process kills itself with SIGKILL at that point, as an OOM kill
// or a node failure would. Unset (always, outside tests) they do nothing.

export type FailpointName =
  /** Daemon: the ledger's `Accepted` entries are pushed; nothing is created yet. */
  | 'after-ledger-push'
  /** Daemon: the RestoreSessions are created; no status has been written for them. */
  | 'after-create'
  /** Agent: restic finished and the outcome marker is on disk; the host's stat is not written yet. */
  | 'agent-after-restore';

export function failpoint(name: FailpointName, env: Record<string, string | undefined> = process.env): void {
  if (env['RESTORECTL_FAILPOINT'] !== name) return;
  process.stderr.write(`failpoint ${name}: killing this process (RESTORECTL_FAILPOINT)\n`);
  process.kill(process.pid, 'SIGKILL');
}
