// How the dev kit's commands run as restorectl plugins (`restorectl sandbox` runs the executable
// `restorectl-sandbox`, see the product's src/cli/plugins.ts): the product's own runCommand (help,
// usage errors, exit codes), on this process's stdio.
import type { Command } from 'restore-controller/cli/command';
import { runCommand } from 'restore-controller/cli/main';

export async function runAsPlugin(command: Command, argv: string[] = process.argv.slice(2)): Promise<void> {
  // Started by restorectl, which keeps an IPC channel open: when restorectl dies without passing a
  // signal on (SIGKILL), stop as on SIGTERM instead of running on as an orphan.
  const orphaned = () => process.kill(process.pid, 'SIGTERM');
  if (process.connected) process.on('disconnect', orphaned);
  const code = await runCommand(command, argv, {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    inheritStdio: true,
  });
  process.off('disconnect', orphaned);
  if (process.connected) process.disconnect();
  process.exitCode = code;
}
