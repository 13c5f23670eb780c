// Every `restorectl` subcommand, in the order `restorectl --help` lists them.
import type { Command } from '../command.ts';
import { sandboxCommand } from './sandbox.ts';

export const COMMANDS: Command[] = [sandboxCommand];
