// `restorectl`: the one program behind the daemon, the agent, the sandbox and the CI tools.
import { EXIT_CANNOT_RUN, failureText } from './command.ts';
import type { Io } from './command.ts';
import { COMMANDS } from './commands/index.ts';

export function topLevelHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'restorectl: GitOps for Kubernetes restores (Stash RestoreSession API).',
    '',
    'Usage: restorectl <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `restorectl <command> --help` for the options of a command.',
  ].join('\n');
}

export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(topLevelHelp() + '\n');
    return name ? 0 : EXIT_CANNOT_RUN;
  }
  // `restorectl agent restore …` is the command `agent restore`.
  const entry = COMMANDS.find((c) => c.name === name) ?? COMMANDS.find((c) => c.name === `${name} ${rest[0]}`);
  if (!entry) {
    io.stderr(`restorectl: unknown command "${name}". Run \`restorectl --help\` for the list.\n`);
    return EXIT_CANNOT_RUN;
  }
  const command = await entry.load();
  const args = command.name.includes(' ') ? rest.slice(1) : rest;
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(command.help.trimEnd() + '\n');
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (e) {
    io.stderr(failureText(command.name, e, process.env['LOG_LEVEL'] === 'debug'));
    return EXIT_CANNOT_RUN;
  }
}

const isEntry = process.argv[1] && /restorectl(\.js)?$|cli[\\/]main\.(ts|js)$/.test(process.argv[1]);
if (isEntry) {
  const code = await main(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
  });
  process.exitCode = code;
}
