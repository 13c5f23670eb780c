// Push webhooks: signature verification against published vectors, routing by event and ref, the
// secret's sources, and the HTTP edge over real requests (405, 413, 401 without detail, 202).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHttpServer, parseListenAddress } from '../../src/daemon/http-server.ts';
import type { RunningServer } from '../../src/daemon/http-server.ts';
import { jsonLogger, sinkLogger } from '../../src/common/log.ts';
import { MASK, Redactor } from '../../src/common/redact.ts';
import { handleWebhook, loadWebhookSecret, verifyGitHubSignature, verifyGiteaSignature, verifyGitLabToken, webhookHandler } from '../../src/daemon/webhook.ts';
import type { WebhookOutcome } from '../../src/daemon/webhook.ts';

const SECRET = 's3cr3t-"webhook"\\value';
const hmac = (body: string | Buffer, secret = SECRET) => createHmac('sha256', secret).update(body).digest('hex');
const push = (ref: string, after = 'a'.repeat(40)) => JSON.stringify({ ref, after, repository: { full_name: 'acme/restores' } });
const github = (body: string, event = 'push', secret = SECRET) => ({
  'x-github-event': event,
  'x-github-delivery': 'd-1',
  'x-hub-signature-256': `sha256=${hmac(body, secret)}`,
  'content-type': 'application/json',
});
const gitea = (body: string, event = 'push') => ({
  'x-gitea-event': event,
  'x-gitea-delivery': 'd-2',
  'x-gitea-signature': hmac(body),
  'content-type': 'application/json',
});
const gitlab = (event = 'Push Hook', token = SECRET) => ({ 'x-gitlab-event': event, 'x-gitlab-token': token, 'content-type': 'application/json' });
const MAIN = { branch: 'main' };

describe('webhook: verification', () => {
  it("accepts GitHub's documented example signature (X-Hub-Signature-256)", () => {
    // From GitHub's "Validating webhook deliveries": secret "It's a Secret to Everybody", payload "Hello, World!".
    const body = Buffer.from('Hello, World!');
    const sig = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
    assert.equal(verifyGitHubSignature(body, sig, "It's a Secret to Everybody"), true);
    assert.equal(verifyGitHubSignature(body, sig.toUpperCase().replace('SHA256=', 'sha256='), "It's a Secret to Everybody"), true, 'hex case does not matter');
    assert.equal(verifyGitHubSignature(body, sig, "It's a secret to everybody"), false, 'another secret');
    assert.equal(verifyGitHubSignature(Buffer.from('Hello, World?'), sig, "It's a Secret to Everybody"), false, 'another body');
    assert.equal(verifyGitHubSignature(body, sig.slice('sha256='.length), "It's a Secret to Everybody"), false, 'the sha256= prefix is required');
    assert.equal(verifyGitHubSignature(body, 'sha1=' + 'a'.repeat(40), "It's a Secret to Everybody"), false, 'SHA-1 signatures are not accepted');
    assert.equal(verifyGitHubSignature(body, undefined, "It's a Secret to Everybody"), false);
    assert.equal(verifyGitHubSignature(body, sig, ''), false, 'never with an empty secret');
  });

  it("accepts Gitea's bare hex HMAC (X-Gitea-Signature) and GitLab's token (X-Gitlab-Token)", () => {
    const body = Buffer.from(push('refs/heads/main'));
    assert.equal(verifyGiteaSignature(body, hmac(body), SECRET), true);
    assert.equal(verifyGiteaSignature(body, `sha256=${hmac(body)}`, SECRET), false);
    assert.equal(verifyGiteaSignature(body, hmac(body, 'other'), SECRET), false);
    assert.equal(verifyGitLabToken(SECRET, SECRET), true);
    assert.equal(verifyGitLabToken(SECRET + 'x', SECRET), false);
    assert.equal(verifyGitLabToken(SECRET.slice(1), SECRET), false);
    assert.equal(verifyGitLabToken('', SECRET), false);
    assert.equal(verifyGitLabToken(undefined, SECRET), false);
  });
});

describe('webhook: routing', () => {
  it('a verified push to the followed branch triggers a cycle, from each provider', () => {
    const body = push('refs/heads/main');
    for (const [headers, provider] of [
      [github(body), 'github'],
      [gitea(body), 'gitea'],
      [gitlab(), 'gitlab'],
    ] as const) {
      const o = handleWebhook(headers, Buffer.from(body), SECRET, MAIN);
      assert.deepEqual(
        { status: o.status, outcome: o.outcome, provider: 'provider' in o ? o.provider : undefined },
        { status: 202, outcome: 'triggered', provider },
      );
    }
  });

  it('a push to another branch is acknowledged and ignored, saying what is followed', () => {
    const body = push('refs/heads/feature');
    const o = handleWebhook(github(body), Buffer.from(body), SECRET, MAIN);
    assert.equal(o.status, 200);
    assert.equal(o.outcome, 'ignored');
    assert.match((o as { message: string }).message, /push to refs\/heads\/feature; this daemon follows refs\/heads\/main/);
  });

  it('a pinned tag (--ref) is triggered by a push of that tag, not of a branch', () => {
    const tag = push('refs/tags/v1.2');
    assert.equal(handleWebhook(github(tag), Buffer.from(tag), SECRET, { ref: 'v1.2' }).outcome, 'triggered');
    assert.equal(handleWebhook(gitlab('Tag Push Hook'), Buffer.from(tag), SECRET, { ref: 'v1.2' }).outcome, 'triggered');
    const main = push('refs/heads/main');
    assert.equal(handleWebhook(github(main), Buffer.from(main), SECRET, { ref: 'v1.2' }).outcome, 'ignored');
  });

  it("answers GitHub's ping with 200 and ignores events that are not pushes", () => {
    const ping = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    assert.deepEqual(handleWebhook(github(ping, 'ping'), Buffer.from(ping), SECRET, MAIN), {
      status: 200,
      outcome: 'ping',
      provider: 'github',
      delivery: 'd-1',
    });
    const issue = JSON.stringify({ action: 'opened' });
    const o = handleWebhook(github(issue, 'issues'), Buffer.from(issue), SECRET, MAIN);
    assert.equal(o.status, 200);
    assert.match((o as { message: string }).message, /event "issues" is not a push/);
    assert.equal(handleWebhook(gitlab('Merge Request Hook'), Buffer.from(issue), SECRET, MAIN).outcome, 'ignored');
  });

  it("reads GitHub's form-encoded deliveries (payload=…), signed over the raw form body", () => {
    const form = new URLSearchParams({ payload: push('refs/heads/main') }).toString();
    const headers = { ...github(form), 'content-type': 'application/x-www-form-urlencoded' };
    assert.equal(handleWebhook(headers, Buffer.from(form), SECRET, MAIN).outcome, 'triggered');
  });

  it('refuses anything that does not verify with 401 and nothing else: wrong secret, no signature, a signature of another body', () => {
    const body = push('refs/heads/main');
    const cases: Record<string, string | undefined>[] = [
      github(body, 'push', 'wrong'),
      { 'x-github-event': 'push' },
      { ...github(push('refs/heads/other')) },
      gitlab('Push Hook', 'wrong'),
      { ...gitea(body), 'x-gitea-signature': 'zz' },
    ];
    for (const h of cases) assert.deepEqual(handleWebhook(h, Buffer.from(body), SECRET, MAIN), { status: 401, outcome: 'unauthorized' });
    // A valid signature over a body that is not JSON is a 400, only once verified.
    const junk = 'not json';
    assert.equal(handleWebhook(github(junk), Buffer.from(junk), SECRET, MAIN).status, 400);
    assert.equal(handleWebhook({ ...github(junk), 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) }, Buffer.from(junk), SECRET, MAIN).status, 401);
  });
});

describe('webhook: the secret', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'webhook-secret-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('comes from the file (trailing newline dropped), else WEBHOOK_SECRET; without either the webhook does not start', () => {
    writeFileSync(join(dir, 'secret'), 'from-file\n');
    assert.deepEqual(loadWebhookSecret({ file: join(dir, 'secret'), env: { WEBHOOK_SECRET: 'from-env' } }), { secret: 'from-file' });
    assert.deepEqual(loadWebhookSecret({ env: { WEBHOOK_SECRET: 'from-env' } }), { secret: 'from-env' });
    assert.throws(() => loadWebhookSecret({ env: {} }), /--webhook-addr needs a secret .*--webhook-secret-file PATH or set WEBHOOK_SECRET/);
    assert.throws(() => loadWebhookSecret({ env: { WEBHOOK_SECRET: '' } }), /WEBHOOK_SECRET is set but empty/);
    writeFileSync(join(dir, 'empty'), '\n');
    assert.throws(() => loadWebhookSecret({ file: join(dir, 'empty'), env: {} }), /is empty/);
  });

  it('an optional Secret not created (an empty mounted folder) leaves the webhook off; a wrong file name in a full folder is an error naming what is there', () => {
    const mount = join(dir, 'webhook');
    mkdirSync(mount);
    const r = loadWebhookSecret({ file: join(mount, 'secret'), env: {} });
    assert.ok('absent' in r && /empty/.test(r.absent));
    writeFileSync(join(mount, 'token'), 'x');
    assert.throws(() => loadWebhookSecret({ file: join(mount, 'secret'), env: {} }), /no such file \(.* holds: token\)/);
    assert.throws(() => loadWebhookSecret({ file: join(dir, 'nope', 'secret'), env: {} }), /no such file, nor folder/);
  });
});

describe('webhook: the HTTP server', () => {
  let server: RunningServer;
  const pushes: string[] = [];
  const outcomes: string[] = [];
  const logLines: string[] = [];
  const post = (body: string | Buffer, headers: Record<string, string>, path = '/') => fetch(server.url + path, { method: 'POST', body, headers });

  before(async () => {
    const log = jsonLogger((l) => logLines.push(l), { redactor: new Redactor([SECRET]) });
    const handler = webhookHandler({
      secret: SECRET,
      follow: MAIN,
      maxBodyBytes: 4096,
      onPush: (o) => pushes.push(o.ref),
      onOutcome: (o: WebhookOutcome | { outcome: string; status: number }, req) => {
        outcomes.push(`${o.status} ${o.outcome}`);
        // What the daemon logs: never headers, so never the signature.
        log.info(`webhook ${o.outcome}`, { remote: req.socket.remoteAddress, secretSeen: SECRET });
      },
    });
    server = await startHttpServer('--webhook-addr', parseListenAddress('--webhook-addr', '127.0.0.1:0'), handler);
  });
  after(() => server?.close());

  it('a signed push to the followed branch: 202, and the daemon is told at once', async () => {
    const body = push('refs/heads/main');
    const r = await post(body, github(body));
    assert.equal(r.status, 202);
    assert.match(await r.text(), /cycle triggered by the push to refs\/heads\/main/);
    assert.deepEqual(pushes, ['refs/heads/main']);
  });

  it('a bad signature: 401 with a body that says nothing about why', async () => {
    const body = push('refs/heads/main');
    const wrong = await post(body, github(body, 'push', 'guess'));
    const missing = await post(body, { 'content-type': 'application/json', 'x-github-event': 'push' });
    assert.equal(wrong.status, 401);
    assert.equal(missing.status, 401);
    const [a, b] = [await wrong.text(), await missing.text()];
    assert.equal(a, 'unauthorized\n');
    assert.equal(a, b, 'a wrong and a missing signature look the same');
    assert.equal(pushes.length, 1);
  });

  it('a body over the limit: 413, declared or not', async () => {
    const big = push('refs/heads/main') + ' '.repeat(5000);
    const r = await post(big, github(big));
    assert.equal(r.status, 413);
    assert.match(await r.text(), /payload too large: the limit is 4096 bytes/);
    // Chunked, with no Content-Length: the limit holds while reading.
    const chunked = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode(' '.repeat(1000)));
        c.close();
      },
    });
    const r2 = await fetch(server.url, { method: 'POST', body: chunked, headers: github(big), duplex: 'half' } as RequestInit);
    assert.equal(r2.status, 413);
    assert.equal(pushes.length, 1);
  });

  it('a method other than POST: 405 with Allow: POST', async () => {
    const r = await fetch(server.url, { method: 'GET' });
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'POST');
    const put = await fetch(server.url, { method: 'PUT', body: 'x' });
    assert.equal(put.status, 405);
  });

  it('ping: 200; a push to another branch: 200 and no cycle', async () => {
    const ping = '{"zen":"Design for failure."}';
    assert.equal((await post(ping, github(ping, 'ping'))).status, 200);
    const other = push('refs/heads/feature');
    const r = await post(other, gitea(other));
    assert.equal(r.status, 200);
    assert.match(await r.text(), /ignored: push to refs\/heads\/feature/);
    assert.deepEqual(pushes, ['refs/heads/main']);
  });

  it('never writes the secret in a log line, even one that tried to', () => {
    assert.ok(logLines.length >= 6);
    for (const l of logLines) {
      assert.ok(!l.includes(SECRET) && !l.includes(JSON.stringify(SECRET).slice(1, -1)), l);
      assert.ok(l.includes(MASK), l);
    }
    assert.deepEqual(outcomes.slice(0, 4), ['202 triggered', '401 unauthorized', '401 unauthorized', '413 too-large']);
  });
});

describe('listen addresses', () => {
  it('parses :PORT, HOST:PORT and [IPv6]:PORT, and says what is wrong otherwise', () => {
    assert.deepEqual(parseListenAddress('--metrics-addr', ':8080'), { host: undefined, port: 8080 });
    assert.deepEqual(parseListenAddress('--metrics-addr', '127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
    assert.deepEqual(parseListenAddress('--metrics-addr', '[::1]:9292'), { host: '::1', port: 9292 });
    assert.deepEqual(parseListenAddress('--metrics-addr', 'localhost:9292'), { host: 'localhost', port: 9292 });
    for (const bad of ['8080', ':', 'host:', ':99999', 'a:b:1', ''])
      assert.throws(() => parseListenAddress('--metrics-addr', bad), /--metrics-addr ".*" is not a listen address: give HOST:PORT or :PORT/);
  });

  it('a handler that throws: 500, the server stays up, and the failure is logged', async () => {
    const lines: string[] = [];
    const server = await startHttpServer(
      '--metrics-addr',
      { host: '127.0.0.1', port: 0 },
      () => {
        throw new Error('render failed');
      },
      sinkLogger(({ level, msg }) => lines.push(`${level} ${msg}`)),
    );
    try {
      const r = await fetch(server.url + '/metrics?x=1');
      assert.equal(r.status, 500);
      assert.equal(await r.text(), 'internal error\n');
      assert.equal((await fetch(server.url + '/healthz')).status, 500, 'still serving');
      assert.deepEqual(lines, ['error --metrics-addr: GET /metrics failed: render failed', 'error --metrics-addr: GET /healthz failed: render failed']);
    } finally {
      await server.close();
    }
  });

  it('a port in use is an error that says so', async () => {
    const first = await startHttpServer('--metrics-addr', { host: '127.0.0.1', port: 0 }, (_q, r) => void r.end());
    try {
      await assert.rejects(
        startHttpServer('--webhook-addr', { host: '127.0.0.1', port: first.port }, (_q, r) => void r.end()),
        /--webhook-addr: cannot listen on 127\.0\.0\.1:\d+: the port is in use by another process/,
      );
    } finally {
      await first.close();
    }
  });
});
