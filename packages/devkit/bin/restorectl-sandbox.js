#!/usr/bin/env node
// `restorectl sandbox`: a restorectl plugin (restorectl runs `restorectl-sandbox` for the command
// it does not know), run from the dev kit's TypeScript sources.
import './register.js';

const { runAsPlugin } = await import('../src/cli/plugin.ts');
const { sandboxCommand } = await import('../src/cli/sandbox.ts');
await runAsPlugin(sandboxCommand);
