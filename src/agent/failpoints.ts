// Crash points of the agent for tests of "never restores twice" (issue 17): with
// RESTORECTL_FAILPOINT=<name> the agent kills itself with SIGKILL at that point, as an OOM kill or
// a node failure would. Unset (always, outside tests) they do nothing. Same variable as the
// daemon's (src/daemon/failpoints.ts); the names differ.

export type AgentFailpointName =
  /** restic finished and the outcome marker is on disk; the host's stat is not written yet. */
  'agent-after-restore';

export function agentFailpoint(name: AgentFailpointName, env: Record<string, string | undefined> = process.env): void {
  if (env['RESTORECTL_FAILPOINT'] !== name) return;
  process.stderr.write(`failpoint ${name}: killing this process (RESTORECTL_FAILPOINT)\n`);
  process.kill(process.pid, 'SIGKILL');
}
