// `restorectl controller` as a child process, for tests that stop or kill it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { REPO_ROOT } from '../support/cli.ts';
import { eventually } from '../support/sandbox.ts';

export interface ControllerProcess {
  child: ChildProcess;
  /** Log lines so far, parsed. */
  logs(): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `restorectl controller` with `args`; resolves once it logs that it is running. */
export async function startControllerProcess(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ControllerProcess> {
  const child = spawn(process.execPath, ['bin/restorectl.js', 'controller', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const logs = () =>
    stderr
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return { unparsed: l };
        }
      });
  await Promise.race([
    eventually(() => logs().some((l) => l['msg'] === 'running'), 60_000, 50),
    exited.then((e) => assert.fail(`restorectl controller exited (${e.code ?? e.signal}) before running:\n${stderr}`)),
  ]);
  return { child, logs, exited };
}
