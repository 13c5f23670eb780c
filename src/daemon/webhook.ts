// Push webhooks from GitHub, Gitea and GitLab (DESIGN §6): a verified push to the followed branch
// runs a cycle at once instead of at the next interval. Verification and routing are pure
// functions over (headers, raw body, secret); the HTTP edge only reads the body within a limit.
//
//   GitHub  X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>   (Gitea and Forgejo send it too)
//   Gitea   X-Gitea-Signature: <hex HMAC-SHA256 of the body>
//   GitLab  X-Gitlab-Token: <the secret itself>
//   restorectl reconcile  X-Restorectl-Signature-256: sha256=<hex HMAC-SHA256 of the body>, a body
//           {"action":"reconcile","requestedAt","by"} no older than 5 minutes (a replay is refused)
//
// Comparisons are constant-time; an unauthenticated caller learns nothing but 401.
import { createHmac, createHash, timingSafeEqual } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RestoreError } from '../common/errors.ts';
import { reply } from './http-server.ts';

export type WebhookProvider = 'github' | 'gitea' | 'gitlab' | 'restorectl';

/** The header `restorectl reconcile` signs its request with. */
export const RECONCILE_SIGNATURE_HEADER = 'x-restorectl-signature-256';
/** How far a reconcile request's `requestedAt` may be from the daemon's clock. */
export const RECONCILE_MAX_SKEW_MS = 5 * 60_000;

/** The body and headers of a `restorectl reconcile` request, signed with the webhook's secret. */
export function reconcileRequest(secret: string, by: string, now: Date = new Date()): { body: string; headers: Record<string, string> } {
  const body = JSON.stringify({ action: 'reconcile', requestedAt: now.toISOString(), by });
  return { body, headers: { 'content-type': 'application/json', [RECONCILE_SIGNATURE_HEADER]: `sha256=${hmacSha256Hex(secret, Buffer.from(body))}` } };
}

/** What the daemon follows: a branch, or a pinned tag/commit (`--ref`). */
export interface FollowedRef {
  branch?: string;
  ref?: string;
}

export type WebhookOutcome =
  | { status: 202; outcome: 'triggered'; provider: WebhookProvider; ref: string; after?: string; delivery?: string; by?: string }
  | { status: 200; outcome: 'ignored'; provider: WebhookProvider; message: string; delivery?: string }
  | { status: 200; outcome: 'ping'; provider: WebhookProvider; delivery?: string }
  | { status: 400; outcome: 'bad-request'; provider: WebhookProvider; message: string; delivery?: string }
  | { status: 401; outcome: 'unauthorized' };

export type Headers = Record<string, string | string[] | undefined>;

/** Default body limit: push payloads carry at most 20 commits; GitHub caps any payload at 25 MB. */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

export function hmacSha256Hex(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Constant-time equality for strings of any length (both are hashed to 32 bytes first). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb) && a.length === b.length;
}

/** GitHub's `X-Hub-Signature-256: sha256=<hex>`. */
export function verifyGitHubSignature(body: Buffer, header: string | undefined, secret: string): boolean {
  if (!header || !secret) return false;
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  return m ? safeEqual(m[1]!.toLowerCase(), hmacSha256Hex(secret, body)) : false;
}

/** Gitea's `X-Gitea-Signature: <hex>`. */
export function verifyGiteaSignature(body: Buffer, header: string | undefined, secret: string): boolean {
  if (!header || !secret) return false;
  const sig = header.trim();
  return /^[0-9a-fA-F]{64}$/.test(sig) ? safeEqual(sig.toLowerCase(), hmacSha256Hex(secret, body)) : false;
}

/** GitLab's `X-Gitlab-Token`, the shared secret itself. */
export function verifyGitLabToken(header: string | undefined, secret: string): boolean {
  if (header === undefined || !secret) return false;
  return safeEqual(header, secret);
}

const header = (h: Headers, name: string): string | undefined => {
  const v = h[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
};

/** Which provider signed the request, by its signature header (Gitea's own wins over its GitHub-style copy). */
export function detectProvider(h: Headers): WebhookProvider | undefined {
  if (header(h, RECONCILE_SIGNATURE_HEADER) !== undefined) return 'restorectl';
  if (header(h, 'x-gitea-signature') !== undefined) return 'gitea';
  if (header(h, 'x-hub-signature-256') !== undefined) return 'github';
  if (header(h, 'x-gitlab-token') !== undefined) return 'gitlab';
  return undefined;
}

export function verifyWebhook(h: Headers, body: Buffer, secret: string): WebhookProvider | undefined {
  const provider = detectProvider(h);
  switch (provider) {
    case 'gitea':
      return verifyGiteaSignature(body, header(h, 'x-gitea-signature'), secret) ? provider : undefined;
    case 'github':
      return verifyGitHubSignature(body, header(h, 'x-hub-signature-256'), secret) ? provider : undefined;
    case 'gitlab':
      return verifyGitLabToken(header(h, 'x-gitlab-token'), secret) ? provider : undefined;
    case 'restorectl':
      return verifyGitHubSignature(body, header(h, RECONCILE_SIGNATURE_HEADER), secret) ? provider : undefined;
    default:
      return undefined;
  }
}

/** Whether a push of `pushed` (a full ref name) moves what the daemon follows. */
export function followsRef(follow: FollowedRef, pushed: string): boolean {
  if (follow.branch) return pushed === `refs/heads/${follow.branch}`;
  if (follow.ref) return pushed === follow.ref || pushed === `refs/tags/${follow.ref}` || pushed === `refs/heads/${follow.ref}`;
  return false;
}

function followedText(follow: FollowedRef): string {
  return follow.branch ? `refs/heads/${follow.branch}` : `${follow.ref ?? '(nothing)'}`;
}

/** GitHub may send `application/x-www-form-urlencoded` with the JSON in `payload`. */
function parsePayload(h: Headers, body: Buffer): { ref?: unknown; after?: unknown } | undefined {
  try {
    const text = body.toString('utf8');
    const type = header(h, 'content-type') ?? '';
    const json = type.startsWith('application/x-www-form-urlencoded') ? (new URLSearchParams(text).get('payload') ?? '') : text;
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as { ref?: unknown; after?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

/** A verified `restorectl reconcile`: a cycle now, unless the request is stale (a replay). */
function handleReconcile(body: Buffer, now: Date): WebhookOutcome {
  const payload = parsePayload({}, body) as { action?: unknown; requestedAt?: unknown; by?: unknown } | undefined;
  if (payload?.action !== 'reconcile' || typeof payload.requestedAt !== 'string')
    return { status: 400, outcome: 'bad-request', provider: 'restorectl', message: 'the reconcile request is not JSON {"action":"reconcile","requestedAt"}' };
  const skew = Math.abs(now.getTime() - Date.parse(payload.requestedAt));
  // Signed but old (or from a clock far off): a recorded request played again is refused like a bad signature.
  if (!(skew <= RECONCILE_MAX_SKEW_MS)) return { status: 401, outcome: 'unauthorized' };
  return {
    status: 202,
    outcome: 'triggered',
    provider: 'restorectl',
    ref: 'reconcile',
    ...(typeof payload.by === 'string' ? { by: payload.by.slice(0, 200) } : {}),
  };
}

/** The whole decision for one request whose body was read: verify, then route by event and ref. */
export function handleWebhook(h: Headers, body: Buffer, secret: string, follow: FollowedRef, now: Date = new Date()): WebhookOutcome {
  const provider = verifyWebhook(h, body, secret);
  if (!provider) return { status: 401, outcome: 'unauthorized' };
  if (provider === 'restorectl') return handleReconcile(body, now);
  const delivery = header(h, 'x-github-delivery') ?? header(h, 'x-gitea-delivery') ?? header(h, 'x-gitlab-event-uuid');
  const d = delivery ? { delivery } : {};
  const event = (provider === 'gitlab' ? header(h, 'x-gitlab-event') : (header(h, 'x-gitea-event') ?? header(h, 'x-github-event'))) ?? '';
  if (event === 'ping') return { status: 200, outcome: 'ping', provider, ...d };
  const isPush = provider === 'gitlab' ? event === 'Push Hook' || event === 'Tag Push Hook' : event === 'push';
  if (!isPush) return { status: 200, outcome: 'ignored', provider, message: `ignored: event "${event}" is not a push`, ...d };
  const payload = parsePayload(h, body);
  if (!payload || typeof payload.ref !== 'string')
    return { status: 400, outcome: 'bad-request', provider, message: 'the push payload is not JSON with a "ref"', ...d };
  if (!followsRef(follow, payload.ref)) {
    return { status: 200, outcome: 'ignored', provider, message: `ignored: push to ${payload.ref}; this daemon follows ${followedText(follow)}`, ...d };
  }
  return { status: 202, outcome: 'triggered', provider, ref: payload.ref, ...(typeof payload.after === 'string' ? { after: payload.after } : {}), ...d };
}

export interface WebhookHandlerOptions {
  secret: string;
  follow: FollowedRef;
  maxBodyBytes?: number;
  /** A verified push of the followed ref. */
  onPush(outcome: Extract<WebhookOutcome, { outcome: 'triggered' }>): void;
  /** Every request's outcome, for logs and metrics (never the signature or the secret). */
  onOutcome?(outcome: WebhookOutcome | { status: 405 | 413; outcome: 'method-not-allowed' | 'too-large' }, req: IncomingMessage): void;
}

/** The HTTP edge: POST only, a body within the limit, then handleWebhook. */
export function webhookHandler(opts: WebhookHandlerOptions) {
  const max = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'POST') {
      opts.onOutcome?.({ status: 405, outcome: 'method-not-allowed' }, req);
      reply(res, 405, 'method not allowed: send the push webhook as POST', { allow: 'POST' });
      return;
    }
    const tooLarge = () => {
      opts.onOutcome?.({ status: 413, outcome: 'too-large' }, req);
      reply(res, 413, `payload too large: the limit is ${max} bytes`, { connection: 'close' });
    };
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > max) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    const within = await new Promise<boolean>((resolve, reject) => {
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) {
          req.pause();
          resolve(false);
        } else chunks.push(c);
      });
      req.on('end', () => resolve(true));
      req.on('error', reject);
    });
    if (!within) return tooLarge();
    const outcome = handleWebhook(req.headers, Buffer.concat(chunks), opts.secret, opts.follow);
    opts.onOutcome?.(outcome, req);
    switch (outcome.outcome) {
      case 'unauthorized':
        return reply(res, 401, 'unauthorized');
      case 'bad-request':
      case 'ignored':
        return reply(res, outcome.status, outcome.message);
      case 'ping':
        return reply(res, 200, 'pong');
      case 'triggered':
        opts.onPush(outcome);
        return reply(res, 202, outcome.provider === 'restorectl' ? 'cycle triggered (restorectl reconcile)' : `cycle triggered by the push to ${outcome.ref}`);
    }
  };
}

/** Where the secret was looked for: the file of --webhook-secret-file, or env WEBHOOK_SECRET. */
export interface WebhookSecretErrorData {
  file?: string;
  env?: 'WEBHOOK_SECRET';
}

/** The webhook's secret is empty, unreadable or not given: the webhook never runs without one. */
export class WebhookSecretError extends RestoreError<'WebhookSecretInvalid', WebhookSecretErrorData> {
  constructor(message: string, data: WebhookSecretErrorData) {
    super('WebhookSecretInvalid', message, data);
  }
}

/**
 * The webhook's shared secret: the file `--webhook-secret-file` (a trailing newline dropped), else
 * env WEBHOOK_SECRET. A file that is absent from an empty folder is an optional Secret that does not
 * exist: the webhook stays off (`absent` says why) and the daemon polls. Anything else unclear is an
 * error: a webhook never runs without a secret.
 */
export function loadWebhookSecret(opts: { file?: string; env?: NodeJS.ProcessEnv }): { secret: string } | { absent: string } {
  const env = opts.env ?? process.env;
  if (opts.file) {
    const file = opts.file;
    if (existsSync(file)) {
      const secret = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      if (!secret) throw new WebhookSecretError(`--webhook-secret-file ${file} is empty: put the secret your git host signs webhooks with in it`, { file });
      return { secret };
    }
    const dir = dirname(file);
    if (!existsSync(dir)) throw new WebhookSecretError(`--webhook-secret-file ${file}: no such file, nor folder ${dir}`, { file });
    const present = readdirSync(dir).filter((f) => !f.startsWith('..'));
    if (present.length) throw new WebhookSecretError(`--webhook-secret-file ${file}: no such file (${dir} holds: ${present.join(', ')})`, { file });
    return { absent: `${file} does not exist and ${dir} is empty (an optional Secret that was not created)` };
  }
  const fromEnv = env['WEBHOOK_SECRET'];
  if (fromEnv !== undefined) {
    if (!fromEnv) throw new WebhookSecretError('WEBHOOK_SECRET is set but empty: a webhook never runs without a secret', { env: 'WEBHOOK_SECRET' });
    return { secret: fromEnv };
  }
  throw new WebhookSecretError('--webhook-addr needs a secret to verify pushes with: give --webhook-secret-file PATH or set WEBHOOK_SECRET', {});
}
