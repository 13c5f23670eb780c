// What every `restorectl` subcommand looks like, and the exit codes they share (DESIGN §5).
import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { RestoreError, errorMessage, isRestoreError } from '../common/errors.ts';

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

export interface UsageErrorData {
  /** The flag (`--interval`) or argument at fault, when one is. */
  flag?: string;
}

/**
 * A mistake in how the command was called; printed with a pointer to --help, exit 2. The message
 * starts with the command (`run: --interval …`) and says what to give instead.
 */
export class UsageError extends RestoreError<'UsageError', UsageErrorData> {
  constructor(message: string, data: UsageErrorData = {}, options?: { cause?: unknown }) {
    super('UsageError', message, data, options);
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with errors turned into UsageError messages a person can act on. */
export function parseCommandArgs<O extends Options>(command: string, argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new UsageError(`${command}: ${msg}`, {}, { cause: e });
  }
}

/**
 * What a command that could not run prints: `restorectl <cmd>: <message>` (a usage mistake with a
 * pointer to --help); with LOG_LEVEL=debug also the error's code and the codes of its causes.
 */
export function failureText(command: string, e: unknown, debug = false): string {
  const head =
    e instanceof UsageError ? `restorectl ${e.message}\nRun \`restorectl ${command} --help\` for usage.\n` : `restorectl ${command}: ${errorMessage(e)}\n`;
  if (!debug) return head;
  const chain: string[] = [];
  for (let c: unknown = e; c !== undefined && chain.length < 5; c = c instanceof Error ? c.cause : undefined) {
    chain.push(isRestoreError(c) ? c.code : c instanceof Error ? c.name : typeof c);
  }
  return `${head}restorectl ${command}: code ${chain.join(' <- ')}\n`;
}
