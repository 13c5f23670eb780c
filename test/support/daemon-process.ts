// `restorectl run` as its own process, for tests that kill it, restart it or cut what it talks to:
// started with a git remote and a kubeconfig, its stderr (JSON lines) kept, and how it ended.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.ts';

export const RESTORECTL = join(REPO_ROOT, 'bin', 'restorectl.js');

export interface DaemonExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

export interface DaemonProcess {
  child: ChildProcess;
  exited: Promise<DaemonExit>;
  stderr(): string;
  /** The JSON log lines so far. */
  lines(): Record<string, unknown>[];
}

export interface DaemonProcessOptions {
  url: string;
  kubeconfig: string;
  cacheDir: string;
  /** Default `clusters/demo`. */
  path?: string;
  /** Default `demo`. */
  cluster?: string;
  /** Default `1s`. */
  interval?: string;
  extraArgs?: string[];
  env?: Record<string, string>;
}

/** Every process started here, so a test's `after` can kill what is left (killAll). */
const running = new Set<ChildProcess>();

export function startDaemonProcess(o: DaemonProcessOptions): DaemonProcess {
  const args = [
    RESTORECTL,
    'run',
    '--git-url',
    o.url,
    '--path',
    o.path ?? 'clusters/demo',
    '--cluster',
    o.cluster ?? 'demo',
    '--kubeconfig',
    o.kubeconfig,
    '--interval',
    o.interval ?? '1s',
    '--cache-dir',
    o.cacheDir,
    ...(o.extraArgs ?? []),
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, env: { ...process.env, LOG_LEVEL: 'info', ...o.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<DaemonExit>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stderr });
    }),
  );
  const lines = () =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  return { child, exited, stderr: () => stderr, lines };
}

/** SIGKILLs every daemon process still running (for `after` hooks). */
export function killAllDaemonProcesses(): void {
  for (const c of running) c.kill('SIGKILL');
}
