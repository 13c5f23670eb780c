// `restorectl plan`'s options as a pure function of argv and the environment.
import assert from 'node:assert/strict';
import { UsageError } from '../../src/cli/command.ts';
import { parsePlanOptions } from '../../src/cli/commands/plan.ts';

function refused(argv: string[], flag: string, message: RegExp): void {
  assert.throws(
    () => parsePlanOptions(argv),
    (e: unknown) => {
      assert.ok(e instanceof UsageError, String(e));
      assert.equal(e.data.flag, flag, e.message);
      assert.match(e.message, /^plan: /);
      assert.match(e.message, message);
      return true;
    },
    argv.join(' '),
  );
}

describe('restorectl plan: options', () => {
  it('defaults: a folder, text, cluster "default", restic on with 30 s per lookup', () => {
    assert.deepEqual(parsePlanOptions(['--source', 'm']), {
      input: { kind: 'dir', source: 'm' },
      cluster: 'default',
      restic: { enabled: true, timeoutMs: 30_000 },
      output: 'text',
    });
  });

  it('a change on a remote, with the ledger, the cluster state and every output option', () => {
    const o = parsePlanOptions(
      [
        '--git-url',
        'https://g/r.git',
        '--head',
        'refs/pull/7/head',
        '--base',
        'main',
        '--path',
        'clusters/prod',
        '--git-credentials-dir',
        '/c',
        '--cluster-state',
        'state.yaml',
        '--status-branch',
        'restore-status',
        '--cluster',
        'prod',
        '--restic-password-file',
        '/pw',
        '--restic-timeout',
        '5',
        '--no-restic',
        '-o',
        'json',
        '--default-namespace',
        'apps',
      ],
      { RESTIC_PASSWORD: 'from-env' },
    );
    assert.deepEqual(o, {
      input: { kind: 'git', head: 'refs/pull/7/head', base: 'main', path: 'clusters/prod' },
      remote: { url: 'https://g/r.git', credentialsDir: '/c' },
      clusterState: 'state.yaml',
      statusBranch: 'restore-status',
      cluster: 'prod',
      restic: { enabled: false, timeoutMs: 5000, passwordFile: '/pw', password: 'from-env' },
      output: 'json',
      defaultNamespace: 'apps',
    });
  });

  it("a folder with its base folder; --git-url then names only the status branch's remote", () => {
    const o = parsePlanOptions(['--source', 'head', '--base-dir', 'base', '--git-url', 'https://g/r.git', '--status-branch', 's']);
    assert.deepEqual(o.input, { kind: 'dir', source: 'head', baseDir: 'base' });
    assert.deepEqual(o.remote, { url: 'https://g/r.git' });
  });

  it('env RESTIC_PASSWORD when set and not empty', () => {
    assert.equal(parsePlanOptions(['--source', 'm'], { RESTIC_PASSWORD: 'pw' }).restic.password, 'pw');
    assert.equal(parsePlanOptions(['--source', 'm'], { RESTIC_PASSWORD: '' }).restic.password, undefined);
  });

  it('refuses each mistake, naming the flag', () => {
    assert.throws(() => parsePlanOptions(['--source', 'm', 'extra']), /plan: unexpected argument "extra"/);
    refused(['--source', 'm', '--output', 'yaml'], '--output', /--output must be one of text, markdown, json, not "yaml"/);
    for (const flag of ['head', 'base', 'path'])
      refused(['--source', 'm', `--${flag}`, 'x'], `--${flag}`, new RegExp(`--${flag} reads a git revision and goes with --git-url, not --source`));
    refused([], '--source', /give --source DIR \(a folder\), or --git-url URL with --head REF/);
    refused(['--git-url', 'u'], '--head', /--git-url needs --head REF/);
    refused(['--git-url', 'u', '--head', 'h', '--base-dir', 'b'], '--base-dir', /--base-dir goes with --source; with --git-url give --base REF/);
    refused(['--source', 'm', '--status-branch', 's'], '--status-branch', /--status-branch is read from the --git-url remote/);
    for (const bad of ['0', '-1', 'soon'])
      refused(['--source', 'm', `--restic-timeout=${bad}`], '--restic-timeout', new RegExp(`--restic-timeout must be a number of seconds, not "${bad}"`));
  });
});
