// The controller's patience with sessions that cannot progress, as flags of `restorectl controller`
// and `restorectl run` (the same controller): how long a restore agent may stay unable to run, and
// how long a postRestore hook may stay undecided with no agent left to run it. Pure.
import { parseDuration } from '../../session/duration.ts';
import { UsageError } from '../command.ts';

export const PATIENCE_FLAGS = {
  'stuck-after': { type: 'string' },
  'orphaned-hook-after': { type: 'string' },
} as const;

/** The flags' lines of `--help`, aligned at `column` (the description's start). */
export function patienceHelp(column: number): string {
  const line = (flag: string, text: string[]) => {
    const head = `  ${flag}`;
    const pad = (s: string) => s.padEnd(column);
    return head.length < column ? [pad(head) + text[0], ...text.slice(1).map((t) => pad('') + t)] : [head, ...text.map((t) => pad('') + t)];
  };
  return [
    ...line('--stuck-after DURATION', [
      'how long a restore agent may stay unable to run (unschedulable, image',
      'not pulled, crash loop, pods refused) before its session fails with the',
      'reason (default 10m; a sooner spec.timeOut wins)',
    ]),
    ...line('--orphaned-hook-after DURATION', [
      'how long a postRestore hook may stay undecided once every host reported',
      'and no agent is left to run it, before it is marked not run and the',
      'session ends (default 1m)',
    ]),
  ].join('\n');
}

export interface Patience {
  stuckAfterMs?: number;
  orphanedHookAfterMs?: number;
}

/** The given flags in milliseconds (absent: the controller's defaults); a UsageError naming the flag otherwise. */
export function parsePatience(command: string, values: { 'stuck-after'?: string; 'orphaned-hook-after'?: string }): Patience {
  const out: Patience = {};
  const read = (flag: 'stuck-after' | 'orphaned-hook-after', minMs: number, what: string): number | undefined => {
    const text = values[flag];
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined || ms < minMs) throw new UsageError(`${command}: --${flag} "${text}" is not a duration of ${what}`, { flag: `--${flag}` });
    return ms;
  };
  const stuck = read('stuck-after', 1000, 'at least 1s (e.g. 10m)');
  const hook = read('orphaned-hook-after', 1000, 'at least 1s (e.g. 1m)');
  if (stuck !== undefined) out.stuckAfterMs = stuck;
  if (hook !== undefined) out.orphanedHookAfterMs = hook;
  return out;
}
