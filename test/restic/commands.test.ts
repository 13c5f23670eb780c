// A matched rule → the exact restic command lines of the SPEC.
import assert from 'node:assert/strict';
import { cacheArgs, latestSnapshotArgv, restoreSteps, statsArgv, withSnapshot, wrapperArgv } from '../../src/restic/commands.ts';
import type { CommandContext } from '../../src/restic/commands.ts';

const ctx: CommandContext = { scratchDir: '/tmp/stash', backendArgs: ['--cacert', '/tmp/stash/ca.crt', '--option', 'gs.connections=4'] };
const CACHE = ['--cache-dir', '/tmp/stash/restic-cache'];
const BACKEND = ['--cacert', '/tmp/stash/ca.crt', '--option', 'gs.connections=4'];

describe('restic commands: rule → restore argv', () => {
  it('Stash StatefulSet example, hosts 3 and 4: latest of my-sts-1 for the path, with the include', () => {
    const steps = restoreSteps(
      { host: 'my-sts-3', rule: { targetHosts: [], sourceHost: 'my-sts-1', paths: ['/source/data'], include: ['*.json'] } as never, target: '/' },
      ctx,
    );
    assert.deepEqual(
      steps.map((s) => s.argv),
      [['restic', 'restore', 'latest', '--path', '/source/data', '--host', 'my-sts-1', '--target', '/', '--include', '*.json', ...CACHE, ...BACKEND]],
    );
    assert.deepEqual(
      { ...steps[0], argv: undefined },
      { snapshot: 'latest', host: 'my-sts-1', path: '/source/data', include: ['*.json'], exclude: [], argv: undefined },
    );
  });

  it('the catch-all rule restores the host itself, minus the excludes, one command per path', () => {
    const steps = restoreSteps(
      { host: 'my-sts-0', rule: { sourceHost: '', paths: ['/source/data', '/source/config'], exclude: ['tmp.json', '*.txt'] }, target: '/' },
      ctx,
    );
    assert.deepEqual(
      steps.map((s) => s.argv),
      [
        [
          'restic',
          'restore',
          'latest',
          '--path',
          '/source/data',
          '--host',
          'my-sts-0',
          '--target',
          '/',
          '--exclude',
          'tmp.json',
          '--exclude',
          '*.txt',
          ...CACHE,
          ...BACKEND,
        ],
        [
          'restic',
          'restore',
          'latest',
          '--path',
          '/source/config',
          '--host',
          'my-sts-0',
          '--target',
          '/',
          '--exclude',
          'tmp.json',
          '--exclude',
          '*.txt',
          ...CACHE,
          ...BACKEND,
        ],
      ],
    );
  });

  it('snapshots: one restore per id; latest is resolved for the source host; target.args last', () => {
    const steps = restoreSteps(
      { host: 'host-0', rule: { sourceHost: 'old-host', snapshots: ['4bba301e', 'latest'] }, target: '/tmp/pod', args: ['--verify'] },
      { scratchDir: '/scratch', tempDir: { disableCaching: true } },
    );
    assert.deepEqual(
      steps.map((s) => s.argv),
      [
        ['restic', 'restore', '4bba301e', '--target', '/tmp/pod', '--no-cache', '--verify'],
        ['restic', 'restore', 'latest', '--host', 'old-host', '--target', '/tmp/pod', '--no-cache', '--verify'],
      ],
    );
    assert.equal(steps[1]!.host, 'old-host');
  });

  it('nice and ionice wrap the command', () => {
    const steps = restoreSteps(
      { host: 'h', rule: { snapshots: ['abcd1234'] }, target: '/' },
      { scratchDir: '/s', nice: { adjustment: 5 }, ionice: { class: 2, classData: 7 } },
    );
    assert.deepEqual(steps[0]!.argv, [
      'ionice',
      '-c',
      '2',
      '-n',
      '7',
      'nice',
      '-n',
      '5',
      'restic',
      'restore',
      'abcd1234',
      '--target',
      '/',
      '--cache-dir',
      '/s/restic-cache',
    ]);
    assert.deepEqual(wrapperArgv({ nice: { adjustment: -3 } }), ['nice', '-n', '-3']);
    assert.deepEqual(wrapperArgv({ ionice: { class: 3 } }), ['ionice', '-c', '3']);
    assert.deepEqual(wrapperArgv({}), []);
  });

  it('a rule with neither snapshots nor paths runs nothing', () => {
    assert.deepEqual(restoreSteps({ host: 'h', rule: { include: ['x'] }, target: '/' }, ctx), []);
  });

  it('withSnapshot pins latest to the resolved id, keeping the rest of the line', () => {
    const [step] = restoreSteps({ host: 'h', rule: { paths: ['/data'] }, target: '/' }, { scratchDir: '/s' });
    const id = 'a'.repeat(64);
    const pinned = withSnapshot(step!, id);
    assert.deepEqual(pinned.argv, ['restic', 'restore', id, '--path', '/data', '--host', 'h', '--target', '/', '--cache-dir', '/s/restic-cache']);
    assert.equal(pinned.snapshot, id);
    assert.throws(() => withSnapshot(step!, '--help'), { code: 'CommandInvalid' });
  });

  it('refuses what restic would refuse, before running anything', () => {
    const t = (rule: object, code: string) => assert.throws(() => restoreSteps({ host: 'h', rule, target: '/' }, ctx), { code });
    t({ snapshots: ['abcd1234'], paths: ['/a'] }, 'CommandInvalid');
    t({ snapshots: ['--target=/etc'] }, 'CommandInvalid');
    t({ paths: ['relative/path'] }, 'CommandInvalid');
    t({ paths: ['/a'], include: ['['] }, 'BadPattern');
    t({ paths: ['/a'], include: ['*.json'], exclude: ['tmp.json'] }, 'IncludeExcludeExclusive');
  });

  it('builds the helper commands with the same common flags', () => {
    assert.deepEqual(latestSnapshotArgv(ctx, { host: 'my-sts-1', path: '/source/data' }), [
      'restic',
      'snapshots',
      '--json',
      '--host',
      'my-sts-1',
      '--path',
      '/source/data',
      'latest',
      ...CACHE,
      ...BACKEND,
    ]);
    assert.deepEqual(statsArgv({ scratchDir: '/s', tempDir: { disableCaching: true } }, 'abcd'), [
      'restic',
      'stats',
      '--json',
      '--mode',
      'restore-size',
      'abcd',
      '--no-cache',
      '--no-lock',
    ]);
    assert.deepEqual(cacheArgs({ scratchDir: '/s/' }), ['--cache-dir', '/s/restic-cache']);
  });
});
