// `restorectl status`: its options, and the text it prints for a ledger, without a remote.
import assert from 'node:assert/strict';
import { UsageError } from '../../src/cli/command.ts';
import { parseStatusOptions, statusText } from '../../src/cli/commands/status.ts';

type Ledger = Parameters<typeof statusText>[0];

describe('restorectl status: options and text', () => {
  it('reads every flag; --output defaults to text', () => {
    assert.deepEqual(parseStatusOptions(['--git-url', 'https://g/r.git']), { url: 'https://g/r.git', output: 'text' });
    assert.deepEqual(parseStatusOptions(['--git-url', 'u', '--status-branch', 'b', '--cluster', 'c', '--git-credentials-dir', '/d', '-o', 'json']), {
      url: 'u',
      statusBranch: 'b',
      cluster: 'c',
      credentialsDir: '/d',
      output: 'json',
    });
  });

  it('refuses a missing --git-url, another output, an extra argument, naming the flag', () => {
    const refused = (argv: string[], flag: string, message: RegExp) =>
      assert.throws(
        () => parseStatusOptions(argv),
        (e: unknown) => e instanceof UsageError && e.data.flag === flag && message.test(e.message),
      );
    refused([], '--git-url', /^status: --git-url URL is required$/);
    refused(['--git-url', 'u', '--output', 'yaml'], '--output', /^status: --output must be one of text, json, not "yaml"$/);
    refused(['--git-url', 'u', 'extra'], 'extra', /^status: "extra" is not NAMESPACE\/NAME of a RestoreSession \(e\.g\. demo\/sts-restore/);
    refused(['--git-url', 'u', 'demo/a', 'demo/b'], 'demo/b', /^status: unexpected argument "demo\/b": give one NAMESPACE\/NAME$/);
    assert.deepEqual(parseStatusOptions(['demo/sts-restore', '--git-url', 'u']), {
      session: { namespace: 'demo', name: 'sts-restore' },
      url: 'u',
      output: 'text',
    });
  });

  it('a remote without the branch yet, and a branch without sessions', () => {
    assert.equal(
      statusText({ url: 'https://g/r.git', branch: 'restore-status', commit: null, sessions: [], diagnostics: [] } as unknown as Ledger),
      'https://g/r.git: no branch "restore-status" yet: nothing has been recorded.\n',
    );
    assert.equal(
      statusText({ url: 'https://g/r.git', branch: 'restore-status', commit: '1a2b3c4d5e', sessions: [], diagnostics: [] } as unknown as Ledger),
      'https://g/r.git restore-status at 1a2b3c4: 0 session(s)\n\n',
    );
  });
});
