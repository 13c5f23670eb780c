// `restorectl version`: the same line as `restorectl --version`.
import type { Command } from '../command.ts';
import { EXIT_OK, UsageError, parseCommandArgs } from '../command.ts';
import { productVersion, versionText } from '../version.ts';

export const versionCommand: Command = {
  name: 'version',
  help: `Usage: restorectl version [--output text|json]

Prints the version of restorectl, the Node.js runtime and the platform, e.g.
  restorectl 0.1.0 (node v20.11.1, linux/x64)
Every command also takes --version and prints the same line.

Options:
  --output FORMAT   text (default) or json: {"version", "node", "platform"}
  -h, --help        show this help`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('version', argv, { output: { type: 'string', short: 'o', default: 'text' } });
    if (positionals.length) throw new UsageError(`version: unexpected argument "${positionals[0]}"`, { flag: positionals[0] });
    if (values.output === 'json') {
      io.stdout(JSON.stringify({ version: productVersion(), node: process.version, platform: `${process.platform}/${process.arch}` }) + '\n');
    } else if (values.output === 'text') {
      io.stdout(versionText());
    } else {
      throw new UsageError(`version: --output must be text or json, not "${values.output}"`, { flag: '--output' });
    }
    return EXIT_OK;
  },
};
