// Sends notifications (the edge): each sink's requests in order, in the background so a slow or
// unreachable receiver never holds a cycle up, each request retried on network errors, 429 and
// 5xx with backoff, then given up with a warning. Webhook URLs (a Slack URL is its own secret) and
// the token are redacted from every line.
import type { Logger } from '../common/log.ts';
import { nullLogger } from '../common/log.ts';
import { Redactor } from '../common/redact.ts';
import { errorMessage } from '../common/errors.ts';
import type { Notification } from './events.ts';
import { commitStatusRequest, webhookRequest } from './requests.ts';
import type { CommitStatusTarget, NotifyRequest } from './requests.ts';

export interface NotifierOptions {
  /** JSON webhooks: each notification is POSTed to each. */
  webhooks?: string[];
  /** A commit status on each notification's source commit, with the API token. */
  commitStatus?: CommitStatusTarget & { token: string };
  log?: Logger;
  /** Attempts per request (default 4), the first retry's delay (default 1 s, doubling), each attempt's timeout (default 10 s). */
  attempts?: number;
  retryDelayMs?: number;
  timeoutMs?: number;
  /** Told about every request's outcome (metrics). */
  sent?: (sink: 'webhook' | 'commit-status', ok: boolean) => void;
}

interface Sink {
  kind: 'webhook' | 'commit-status';
  /** For log lines: never the secret part. */
  label: string;
  request(n: Notification): NotifyRequest | undefined;
  token?: string;
}

export class Notifier {
  private readonly opts: NotifierOptions;
  private readonly sinks: Sink[];
  private readonly log: Logger;
  private readonly redactor: Redactor;
  private queue: Promise<void> = Promise.resolve();

  constructor(opts: NotifierOptions) {
    this.opts = opts;
    this.log = opts.log ?? nullLogger;
    const cs = opts.commitStatus;
    this.sinks = [
      ...(opts.webhooks ?? []).map((url): Sink => ({ kind: 'webhook', label: `webhook ${originOf(url)}`, request: (n) => webhookRequest(url, n) })),
      ...(cs
        ? [{ kind: 'commit-status', label: `${cs.provider} commit status ${cs.repo}`, request: (n) => commitStatusRequest(cs, n), token: cs.token } as Sink]
        : []),
    ];
    this.redactor = new Redactor([...(opts.webhooks ?? []).flatMap(webhookSecrets), cs?.token]);
  }

  get enabled(): boolean {
    return this.sinks.length > 0;
  }

  /** Queues the notifications; they are sent in order after those queued before. Never throws. */
  notify(notifications: Notification[]): void {
    if (!notifications.length || !this.sinks.length) return;
    this.queue = this.queue.then(() => this.sendAll(notifications));
  }

  /** Resolves when everything queued so far has been sent or given up. */
  flush(): Promise<void> {
    return this.queue;
  }

  private async sendAll(notifications: Notification[]): Promise<void> {
    for (const n of notifications) {
      for (const sink of this.sinks) {
        let request: NotifyRequest | undefined;
        try {
          request = sink.request(n);
        } catch (e) {
          this.log.warn(`${sink.label}: not sent: ${this.redactor.text(errorMessage(e))}`, { namespace: n.namespace, name: n.name });
          continue;
        }
        if (!request) continue;
        const ok = await this.send(sink, request, n);
        this.opts.sent?.(sink.kind, ok);
      }
    }
  }

  private async send(sink: Sink, request: NotifyRequest, n: Notification): Promise<boolean> {
    const attempts = Math.max(1, this.opts.attempts ?? 4);
    let delay = this.opts.retryDelayMs ?? 1000;
    const fields = { namespace: n.namespace, name: n.name, phase: n.phase };
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.attempt(sink, request);
      if (outcome.ok) {
        this.log.debug(`${sink.label}: sent`, fields);
        return true;
      }
      if (!outcome.retry || attempt >= attempts) {
        this.log.warn(`${sink.label}: not sent after ${attempt} attempt(s): ${outcome.error}`, fields);
        return false;
      }
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }

  private async attempt(sink: Sink, request: NotifyRequest): Promise<{ ok: true } | { ok: false; retry: boolean; error: string }> {
    const headers = { ...request.headers };
    if (request.auth && sink.token) headers[request.auth.header] = request.auth.scheme ? `${request.auth.scheme} ${sink.token}` : sink.token;
    try {
      const res = await fetch(request.url, { method: request.method, headers, body: request.body, signal: AbortSignal.timeout(this.opts.timeoutMs ?? 10_000) });
      if (res.ok) {
        await res.body?.cancel();
        return { ok: true };
      }
      const text = (await res.text().catch(() => '')).slice(0, 300);
      const retry = res.status === 429 || res.status >= 500;
      const hint = res.status === 401 || res.status === 403 ? ' (check the token and its permission to set commit statuses)' : '';
      return { ok: false, retry, error: this.redactor.text(`HTTP ${res.status}${hint}${text ? `: ${text}` : ''}`) };
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? `: ${e.cause.message}` : '';
      return { ok: false, retry: true, error: this.redactor.text(`${errorMessage(e)}${cause}`) };
    }
  }
}

/**
 * What of a webhook URL to mask: the URL and its path with the query (Slack's and Discord's
 * secret), unless the path is too short to be one (masking "/" would mask every slash).
 */
export function webhookSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    const rest = `${u.pathname}${u.search}`;
    return rest.length >= 8 ? [url, rest] : [url];
  } catch {
    return [url];
  }
}

/** `https://hooks.slack.com/services/T/B/X` → `https://hooks.slack.com`: the path of a webhook URL is often its secret. */
function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}
