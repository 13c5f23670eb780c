// What `restorectl <cmd>` prints when it cannot run, and the error classes of the CLI and the daemon:
// each a RestoreError with a stable code a caller can switch on.
import assert from 'node:assert/strict';
import { isRestoreError } from '../../src/common/errors.ts';
import { UsageError, failureText, parseCommandArgs } from '../../src/cli/command.ts';
import { ListenAddressError, parseListenAddress } from '../../src/daemon/http-server.ts';
import { WebhookSecretError, loadWebhookSecret } from '../../src/daemon/webhook.ts';
import { SnapshotsUnavailable } from '../../src/plan/index.ts';

describe('restorectl: a command that cannot run', () => {
  it('prints "restorectl <cmd>: <message>", a usage mistake with a pointer to --help', () => {
    assert.equal(failureText('plan', new Error('boom')), 'restorectl plan: boom\n');
    assert.equal(
      failureText('run', new UsageError('run: --interval "x" is not a duration')),
      'restorectl run: --interval "x" is not a duration\nRun `restorectl run --help` for usage.\n',
    );
  });

  it('with LOG_LEVEL=debug also prints the code, and the codes of the causes', () => {
    const e = new SnapshotsUnavailable('restic is not installed here', {}, { cause: new TypeError('spawn restic ENOENT') });
    assert.equal(failureText('plan', e, true), 'restorectl plan: restic is not installed here\nrestorectl plan: code SnapshotsUnavailable <- TypeError\n');
  });
});

describe('error classes of the CLI and the daemon', () => {
  it('UsageError: code UsageError, from the parser too, with the parser error as its cause', () => {
    assert.throws(
      () => parseCommandArgs('run', ['--nope'], {}),
      (e: unknown) => isRestoreError(e, 'UsageError') && e instanceof UsageError && /^run: Unknown option '--nope'/.test(e.message) && e.cause instanceof Error,
    );
  });

  it('ListenAddressError: ListenAddressInvalid naming the flag and the text', () => {
    assert.throws(
      () => parseListenAddress('--metrics-addr', '8080'),
      (e: unknown) => e instanceof ListenAddressError && e.code === 'ListenAddressInvalid' && e.data.flag === '--metrics-addr' && e.data.address === '8080',
    );
  });

  it('WebhookSecretError: WebhookSecretInvalid naming where the secret was looked for', () => {
    assert.throws(
      () => loadWebhookSecret({ env: { WEBHOOK_SECRET: '' } }),
      (e: unknown) => e instanceof WebhookSecretError && e.code === 'WebhookSecretInvalid' && e.data.env === 'WEBHOOK_SECRET',
    );
    assert.throws(
      () => loadWebhookSecret({ env: {} }),
      (e: unknown) => isRestoreError(e, 'WebhookSecretInvalid') && e.name === 'WebhookSecretError',
    );
  });
});
