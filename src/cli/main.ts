// `restorectl`: the one program behind the daemon, the agent and the CI tools. Commands it does not
// know run as plugins (`restorectl-<name>` executables, see plugins.ts): the dev kit's `sandbox`
// and `demo` come that way.
import { EXIT_CANNOT_RUN, failureText } from './command.ts';
import type { Command, Io } from './command.ts';
import { COMMANDS } from './commands/index.ts';
import { findPlugin, listPlugins, pluginDirs, runPlugin } from './plugins.ts';
import type { Plugin, PluginSearch } from './plugins.ts';
import { versionText } from './version.ts';

export function topLevelHelp(plugins: Plugin[] = []): string {
  const builtIn = new Set(COMMANDS.map((c) => c.name.split(' ')[0]));
  const extra = plugins.filter((p) => !builtIn.has(p.name));
  const width = Math.max(...COMMANDS.map((c) => c.name.length), ...extra.map((p) => p.name.length));
  return [
    'restorectl: GitOps for Kubernetes restores (Stash RestoreSession API).',
    '',
    'Usage: restorectl <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    ...(extra.length
      ? ['', 'Plugins (restorectl-<name> executables found in node_modules/.bin or on PATH):', ...extra.map((p) => `  ${p.name.padEnd(width)}  ${p.file}`)]
      : []),
    '',
    'Run `restorectl <command> --help` for the options of a command; `--version` (on any command) prints the version.',
  ].join('\n');
}

/** Runs one command: `--help` or `--version`, else the command, with usage and other errors turned into exit 2. */
export async function runCommand(command: Command, args: string[], io: Io): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(command.help.trimEnd() + '\n');
    return 0;
  }
  if (args.includes('--version')) {
    io.stdout(versionText());
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (e) {
    io.stderr(failureText(command.name, e, process.env['LOG_LEVEL'] === 'debug'));
    return EXIT_CANNOT_RUN;
  }
}

export async function main(argv: string[], io: Io, search: PluginSearch = {}): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(topLevelHelp(listPlugins(search)) + '\n');
    return name ? 0 : EXIT_CANNOT_RUN;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(versionText());
    return 0;
  }
  // `restorectl agent restore …` is the command `agent restore`.
  const entry = COMMANDS.find((c) => c.name === name) ?? COMMANDS.find((c) => c.name === `${name} ${rest[0]}`);
  if (!entry) {
    const plugin = findPlugin(name, search);
    if (plugin) return runPlugin(plugin, rest, io);
    io.stderr(
      `restorectl: unknown command "${name}": not a restorectl command, and no plugin restorectl-${name} ` +
        `in node_modules/.bin or on PATH (looked in ${pluginDirs(search).length} folders). ` +
        'Run `restorectl --help` for the list.\n',
    );
    return EXIT_CANNOT_RUN;
  }
  const command = await entry.load();
  return runCommand(command, command.name.includes(' ') ? rest.slice(1) : rest, io);
}

const isEntry = process.argv[1] && /restorectl(\.js)?$|cli[\\/]main\.(ts|js)$/.test(process.argv[1]);
if (isEntry) {
  const code = await main(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    inheritStdio: true,
  });
  process.exitCode = code;
}
