// What every `restorectl` subcommand looks like, and the exit codes they share (DESIGN §5).
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';

export const EXIT_OK = 0;
/** At least one error diagnostic (or the thing checked failed). */
export const EXIT_ERRORS = 1;
/** The tool could not run: bad usage, unreadable input, unreachable remote. */
export const EXIT_CANNOT_RUN = 2;

export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** stdout and stderr are this process's own, so a plugin can inherit them (see plugins.ts). */
  inheritStdio?: boolean;
}

export interface Command {
  name: string;
  /** The full `restorectl <name> --help` text. */
  help: string;
  run(argv: string[], io: Io): Promise<number>;
}

/**
 * A command as `restorectl --help` lists it; its module is imported only when it runs, so a
 * short command does not pay for the Kubernetes client, git and the sandbox.
 */
export interface CommandEntry {
  name: string;
  /** One line for `restorectl --help`. */
  summary: string;
  load(): Promise<Command>;
}

/** A mistake in how the command was called; printed with a pointer to --help, exit 2. */
export class UsageError extends Error {
  readonly code = 'UsageError';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with errors turned into UsageError messages a person can act on. */
export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${command}: ${msg}`);
  }
}
