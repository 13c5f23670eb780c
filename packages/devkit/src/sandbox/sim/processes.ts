// Child processes for containers that run for real. Output goes to a log file per container;
// stop() ends them all (SIGTERM, then SIGKILL after a grace period).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { constants } from 'node:os';

export interface ProcessSpec {
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
}

export class ProcessTable {
  private readonly procs = new Map<string, ChildProcess>();
  /** Killed but not yet exited. */
  private readonly stopping = new Map<string, ChildProcess>();
  private readonly graceMs: number;

  constructor(graceMs = 2000) {
    this.graceMs = graceMs;
  }

  /** Starts `spec`; `onExit` gets the exit code (128 + signal number when killed by a signal). */
  start(key: string, spec: ProcessSpec, onExit: (code: number) => void): void {
    mkdirSync(dirname(spec.logFile), { recursive: true });
    const fd = openSync(spec.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.argv[0]!, spec.argv.slice(1), { cwd: spec.cwd, env: spec.env, stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.procs.set(key, child);
    let reported = false;
    const report = (code: number): void => {
      if (reported) return;
      reported = true;
      if (this.procs.get(key) === child) this.procs.delete(key);
      onExit(code);
    };
    child.on('error', () => report(127));
    child.on('exit', (code, signal) => report(code ?? 128 + ((signal && constants.signals[signal]) || 9)));
  }

  running(key: string): boolean {
    return this.procs.has(key);
  }

  kill(key: string): void {
    const child = this.procs.get(key);
    if (!child) return;
    this.procs.delete(key);
    this.stopping.set(key, child);
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), this.graceMs);
    t.unref();
    child.once('exit', () => {
      clearTimeout(t);
      if (this.stopping.get(key) === child) this.stopping.delete(key);
    });
  }

  /** Whether a process with this key prefix runs or is still shutting down. */
  runningWithPrefix(prefix: string): boolean {
    return [...this.procs.keys(), ...this.stopping.keys()].some((k) => k.startsWith(prefix));
  }

  /** Stops every process whose key starts with `prefix`; `onExit` runs once each has exited. */
  killPrefix(prefix: string, onExit?: () => void): void {
    for (const key of [...this.procs.keys()]) {
      if (!key.startsWith(prefix)) continue;
      const child = this.procs.get(key)!;
      if (onExit) child.once('exit', onExit);
      this.kill(key);
    }
  }

  async stopAll(): Promise<void> {
    const children = [...this.procs.values(), ...this.stopping.values()];
    this.procs.clear();
    this.stopping.clear();
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const t = setTimeout(() => child.kill('SIGKILL'), this.graceMs);
            child.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            child.kill('SIGTERM');
          }),
      ),
    );
  }
}
