// Every `restorectl` subcommand, in the order `restorectl --help` lists them.
import type { Command } from '../command.ts';
import { agentRestoreCommand } from './agent.ts';
import { planCommand } from './plan.ts';
import { sandboxCommand } from './sandbox.ts';
import { validateCommand } from './validate.ts';

export const COMMANDS: Command[] = [validateCommand, planCommand, sandboxCommand, agentRestoreCommand];
