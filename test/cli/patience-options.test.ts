// The controller's patience as flags (issue 18): --stuck-after (default 10m) and
// --orphaned-hook-after (default 1m) on `restorectl controller` and `restorectl run`.
import assert from 'node:assert/strict';
import { UsageError } from '../../src/cli/command.ts';
import { parsePatience } from '../../src/cli/commands/patience-options.ts';
import { parseRunOptions } from '../../src/cli/commands/run-options.ts';
import { restorectl } from '../support/cli.ts';

const DIR = ['--source-dir', 'manifests', '--no-status'];

describe('restorectl controller and run: --stuck-after, --orphaned-hook-after', () => {
  it('run: the durations reach the controller in ms; absent, the controller keeps its defaults', () => {
    assert.deepEqual(parseRunOptions([...DIR, '--stuck-after', '3m', '--orphaned-hook-after', '30s'], {}, '/h').patience, {
      stuckAfterMs: 180_000,
      orphanedHookAfterMs: 30_000,
    });
    assert.equal(parseRunOptions(DIR, {}, '/h').patience, undefined);
  });

  it('refuses what is not a duration of at least 1s, naming the flag', () => {
    for (const [flag, value] of [
      ['--stuck-after', 'soon'],
      ['--orphaned-hook-after', '0s'],
    ] as const) {
      assert.throws(
        () => parseRunOptions([...DIR, flag, value], {}, '/h'),
        (e: unknown) =>
          e instanceof UsageError && e.data.flag === flag && new RegExp(`^run: ${flag} "${value}" is not a duration of at least 1s`).test(e.message),
      );
    }
    assert.deepEqual(parsePatience('controller', { 'stuck-after': '90s' }), { stuckAfterMs: 90_000 });
  });

  it('controller: refuses a bad value with exit 2, and --help of both commands documents the flags and their defaults', async () => {
    const bad = await restorectl(['controller', '--stuck-after', 'never']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /controller: --stuck-after "never" is not a duration of at least 1s/);
    for (const command of ['controller', 'run']) {
      const help = (await restorectl([command, '--help'])).stdout;
      assert.match(help, /--stuck-after DURATION\s+how long a restore agent may stay unable to run[\s\S]*\(default 10m/, command);
      assert.match(help, /--orphaned-hook-after DURATION\s+how long a postRestore hook may stay undecided[\s\S]*\(default 1m\)/, command);
    }
  });
});
