// `restorectl run`'s --notify-* flags, through parseRunOptions: what each gives, the repository
// and API taken from --git-url, and every mistake named with its flag.
import assert from 'node:assert/strict';
import { UsageError } from '../../src/cli/command.ts';
import { parseRunOptions } from '../../src/cli/commands/run-options.ts';
import { restorectl } from '../support/cli.ts';

const GIT = ['--git-url', 'git@gitlab.example:platform/dr/restores.git'];

function refused(argv: string[], flag: string, message: RegExp): void {
  assert.throws(
    () => parseRunOptions(argv, {}, '/home/op'),
    (e: unknown) => e instanceof UsageError && e.data.flag === flag && message.test(e.message),
    argv.join(' '),
  );
}

describe('restorectl run: --notify-* options', () => {
  it('none given: no notifications', () => {
    assert.equal(parseRunOptions(GIT, {}, '/h').notify, undefined);
  });

  it('webhooks repeat; a commit status takes its API and repository from --git-url', () => {
    const o = parseRunOptions(
      [...GIT, '--notify-webhook', 'https://hooks.slack.com/services/T/B/X', '--notify-webhook', 'http://127.0.0.1:9/h', '--notify-commit-status', 'gitlab'],
      {},
      '/h',
    );
    assert.deepEqual(o.notify, {
      webhooks: ['https://hooks.slack.com/services/T/B/X', 'http://127.0.0.1:9/h'],
      commitStatus: { provider: 'gitlab', apiUrl: 'https://gitlab.example/api/v4', repo: 'platform/dr/restores' },
    });
    const gh = parseRunOptions(
      ['--git-url', 'https://github.com/team/restores.git', '--notify-commit-status', 'github', '--notify-token-file', '/var/run/token'],
      {},
      '/h',
    );
    assert.deepEqual(gh.notify?.commitStatus, { provider: 'github', apiUrl: 'https://api.github.com', repo: 'team/restores', tokenFile: '/var/run/token' });
  });

  it('refuses what cannot work, naming the flag', () => {
    refused([...GIT, '--notify-webhook', 'hooks.slack.com/x'], '--notify-webhook', /is not a URL/);
    refused([...GIT, '--notify-webhook', 'ftp://x.example/h'], '--notify-webhook', /must be an http:\/\/ or https:\/\/ URL/);
    refused([...GIT, '--notify-commit-status', 'bitbucket'], '--notify-commit-status', /"bitbucket" is not one of github, gitlab, gitea/);
    refused([...GIT, '--notify-repo', 'a/b'], '--notify-repo', /has no effect without --notify-commit-status/);
    refused([...GIT, '--notify-token-file', 't'], '--notify-token-file', /has no effect without --notify-commit-status/);
    refused(['--source-dir', 'm', '--no-status', '--notify-commit-status', 'gitea'], '--notify-repo', /give --notify-repo and --notify-api-url/);
    refused([...GIT, '--notify-commit-status', 'gitea', '--notify-repo', 'a/b/c'], '--notify-repo', /"a\/b\/c" is not OWNER\/NAME/);
  });

  it('a commit status without a token stops the daemon before it starts, saying where the token goes', async () => {
    const r = await restorectl(['run', '--git-url', 'https://github.com/team/restores.git', '--notify-commit-status', 'github'], {
      env: { NOTIFY_TOKEN: undefined },
    });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--notify-commit-status needs an API token: give --notify-token-file FILE or set env NOTIFY_TOKEN/);
    const empty = await restorectl([
      'run',
      '--git-url',
      'https://github.com/team/restores.git',
      '--notify-commit-status',
      'github',
      '--notify-token-file',
      '/dev/null',
    ]);
    assert.equal(empty.code, 2, empty.stderr);
    assert.match(empty.stderr, /--notify-token-file \/dev\/null is empty/);
  });
});
