#!/usr/bin/env node
// `restorectl demo`: a restorectl plugin (restorectl runs `restorectl-demo` for the command
// it does not know), run from the dev kit's TypeScript sources.
import './register.js';

const { runAsPlugin } = await import('../src/cli/plugin.ts');
const { demoCommand } = await import('../src/cli/demo.ts');
await runAsPlugin(demoCommand);
