// `restorectl reconcile`: asks the running daemon for a cycle now, through its webhook server,
// signed with the webhook's secret (the same file or env the daemon reads), so nobody computes an
// HMAC by hand. A standby replica passes the request on to the leader through the Lease.
import { loadWebhookSecret, reconcileRequest } from '../../daemon/webhook.ts';
import { errorMessage } from '../../common/errors.ts';
import type { Command } from '../command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK, UsageError, parseCommandArgs } from '../command.ts';
import { defaultBy } from './suspend.ts';

export interface ReconcileOptions {
  url: string;
  secretFile?: string;
  by: string;
  timeoutMs: number;
}

export function parseReconcileOptions(argv: string[]): ReconcileOptions {
  const { values, positionals } = parseCommandArgs('reconcile', argv, {
    'webhook-url': { type: 'string' },
    'webhook-secret-file': { type: 'string' },
    by: { type: 'string' },
    timeout: { type: 'string', default: '30' },
  });
  if (positionals.length) throw new UsageError(`reconcile: unexpected argument "${positionals[0]}"`, { flag: positionals[0] });
  const raw = values['webhook-url'] ?? process.env['RESTORECTL_WEBHOOK_URL'];
  if (!raw)
    throw new UsageError(
      'reconcile: --webhook-url URL is required (or env RESTORECTL_WEBHOOK_URL): where the daemon listens with --webhook-addr, e.g. http://127.0.0.1:9292 through `kubectl port-forward`',
      { flag: '--webhook-url' },
    );
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`reconcile: --webhook-url "${raw}" is not a URL: give http://HOST:PORT of the daemon's --webhook-addr`, { flag: '--webhook-url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`reconcile: --webhook-url must be http:// or https://, not ${url.protocol}`, { flag: '--webhook-url' });
  if (url.username || url.password)
    throw new UsageError('reconcile: --webhook-url must not hold credentials: the request is signed with the webhook secret', { flag: '--webhook-url' });
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/reconcile';
  const seconds = Number(values.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new UsageError(`reconcile: --timeout must be a number of seconds, not "${values.timeout}"`, { flag: '--timeout' });
  return {
    url: url.toString(),
    ...(values['webhook-secret-file'] ? { secretFile: values['webhook-secret-file'] } : {}),
    by: values.by?.trim() || defaultBy(),
    timeoutMs: seconds * 1000,
  };
}

export const reconcileCommand: Command = {
  name: 'reconcile',
  help: `Usage: restorectl reconcile --webhook-url URL [--webhook-secret-file PATH] [--by NAME]

Asks the running daemon (restorectl run --webhook-addr …) for a cycle now instead of at its next
--interval: it syncs the source, plans, applies and writes the status branch, as after a push.
The request is signed with the webhook's shared secret (HMAC-SHA256 of the body, with the time
it was made: a recorded request cannot be played again after 5 minutes); the daemon answers 202.
Sent to a standby replica, it is passed on to the leader.

Options:
  --webhook-url URL          the daemon's webhook server, e.g. http://127.0.0.1:9292 (a
                             \`kubectl port-forward deploy/restore-controller 9292\`), else env
                             RESTORECTL_WEBHOOK_URL; a URL without a path gets /reconcile
  --webhook-secret-file PATH the secret the daemon was given (else env WEBHOOK_SECRET)
  --by NAME                  who asks, for the daemon's log (default: user@host)
  --timeout SECONDS          default 30
  -h, --help                 show this help

Exit status: 0 the daemon took the request, 2 it could not be sent or was refused (the message
says why: unreachable, the secret differs, no webhook there).`,
  async run(argv, io) {
    const opts = parseReconcileOptions(argv);
    if (!opts.secretFile && process.env['WEBHOOK_SECRET'] === undefined)
      throw new UsageError("reconcile: no secret to sign with: give --webhook-secret-file PATH (the daemon's webhook secret) or set WEBHOOK_SECRET", {
        flag: '--webhook-secret-file',
      });
    const secret = loadWebhookSecret({ ...(opts.secretFile ? { file: opts.secretFile } : {}) });
    if ('absent' in secret) {
      io.stderr(`restorectl reconcile: no webhook secret: ${secret.absent}\n`);
      return EXIT_CANNOT_RUN;
    }
    const { body, headers } = reconcileRequest(secret.secret, opts.by);
    let res: Response;
    try {
      res = await fetch(opts.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(opts.timeoutMs) });
    } catch (e) {
      const c = (e as { cause?: { code?: string; errors?: { code?: string }[]; message?: string } }).cause;
      const cause = c?.code ?? c?.errors?.[0]?.code ?? c?.message ?? errorMessage(e);
      io.stderr(
        `restorectl reconcile: cannot reach the daemon at ${opts.url} (${cause}): is \`restorectl run --webhook-addr\` listening there? In a cluster, \`kubectl port-forward\` to its webhook port first\n`,
      );
      return EXIT_CANNOT_RUN;
    }
    const text = (await res.text()).trim();
    if (res.status === 202) {
      io.stdout(`the daemon at ${opts.url} runs a cycle now (${text}); its result is in its log and on the status branch (restorectl status)\n`);
      return EXIT_OK;
    }
    const why =
      res.status === 401
        ? 'the daemon refused the signature: this secret is not the one it verifies with (its --webhook-secret-file or WEBHOOK_SECRET), or this clock is more than 5 minutes off'
        : res.status === 404 || res.status === 405
          ? "no restore-controller webhook there: point --webhook-url at the daemon's --webhook-addr"
          : `HTTP ${res.status}: ${text.slice(0, 200)}`;
    io.stderr(`restorectl reconcile: ${opts.url}: ${why}\n`);
    return EXIT_CANNOT_RUN;
  },
};
