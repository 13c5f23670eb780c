// Counting the restic runs of the agents a sandbox starts: a `restic` wrapper first in their PATH
// appends `<pod> <args>` to a log, optionally holds one pod's restore until released, then runs
// the real restic. Tests of "never twice" read the log back.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { whichExecutable } from '@restore-controller/devkit/seed';
import { REPO_ROOT } from './sandbox.ts';

export interface ResticCounter {
  /** The sandbox's `agentCommand`: the agent CLI with the wrapper first in PATH. */
  agentCommand: string[];
  /** `restic restore` runs so far, per pod. */
  restoresByPod(): Record<string, number>;
  /** Every `restic restore` run so far, as logged (`<pod> restore …`). */
  restores(): string[];
  /** Lets the held pod's restore go (safe to call more than once). */
  release(): void;
}

export async function countResticRuns(dir: string, opts: { holdPod?: string } = {}): Promise<ResticCounter> {
  const real = await whichExecutable('restic');
  if (!real) throw new Error('restic is not on PATH: run scripts/install-deps.sh');
  const bin = join(dir, 'restic-wrapper');
  mkdirSync(bin, { recursive: true });
  const log = join(dir, 'restic-runs.log');
  const gate = join(dir, 'restic-gate');
  const hold = opts.holdPod
    ? `if [ "$1" = restore ] && [ "\${POD_NAME:-}" = '${opts.holdPod}' ]; then\n  while [ ! -e '${gate}' ]; do sleep 0.1; done\nfi\n`
    : '';
  writeFileSync(join(bin, 'restic'), `#!/bin/sh\necho "\${POD_NAME:-?} $*" >> '${log}'\n${hold}exec '${real}' "$@"\n`);
  chmodSync(join(bin, 'restic'), 0o755);
  const restores = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n') : []).filter((line) => line.split(' ')[1] === 'restore');
  return {
    agentCommand: ['/usr/bin/env', `PATH=${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, process.execPath, join(REPO_ROOT, 'bin', 'restorectl.js')],
    restores,
    restoresByPod: () => {
      const runs: Record<string, number> = {};
      for (const line of restores()) {
        const pod = line.split(' ')[0]!;
        runs[pod] = (runs[pod] ?? 0) + 1;
      }
      return runs;
    },
    release: () => writeFileSync(gate, ''),
  };
}
