// Every `restorectl` subcommand, in the order `restorectl --help` lists them.
import type { Command } from '../command.ts';

export const COMMANDS: Command[] = [];
