import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runHook } from '../../src/agent/hooks.ts';
import { Redactor } from '../../src/common/redact.ts';

const ctx = { defaultHost: '127.0.0.1', redactor: new Redactor(['s3cr3t-value']) };

describe('hooks', () => {
  let port: number;
  const seen: { method?: string; url?: string; body: string; type?: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ method: req.method, url: req.url, body, type: req.headers['content-type'] });
      const status = Number(new URL(req.url!, 'http://x').searchParams.get('status') ?? 200);
      res.writeHead(status).end(`answer with s3cr3t-value inside`);
    });
  });
  before((done) => {
    server.listen(0, '127.0.0.1', () => {
      port = (server.address() as AddressInfo).port;
      done();
    });
  });
  after((done) => void server.close(done));

  it('exec succeeds on exit 0 and fails with the exit code and the tail of its output, redacted', async () => {
    assert.equal((await runHook({ exec: { command: ['sh', '-c', 'echo ready'] } }, ctx)).ok, true);
    const r = await runHook({ exec: { command: ['sh', '-c', 'echo token s3cr3t-value >&2; exit 3'] } }, ctx);
    assert.equal(r.ok, false);
    assert.match(r.message, /exited 3: token <redacted>/);
  });

  it('exec of a missing program fails with a message, not a crash', async () => {
    const r = await runHook({ exec: { command: ['/no/such/program'] } }, ctx);
    assert.equal(r.ok, false);
    assert.match(r.message, /cannot run \/no\/such\/program/);
  });

  it('httpGet succeeds on 200–399, fails otherwise; the host defaults to the pod IP', async () => {
    assert.equal((await runHook({ httpGet: { port, path: '/ok?status=302' } }, ctx)).ok, true);
    const r = await runHook({ httpGet: { port, path: '/bad?status=500' } }, ctx);
    assert.equal(r.ok, false);
    assert.match(r.message, /→ 500: answer with <redacted> inside/);
  });

  it('httpPost sends the body, or the form url-encoded', async () => {
    await runHook({ httpPost: { port, path: '/b', body: '{"flush":true}' } }, ctx);
    await runHook({ httpPost: { port, path: '/f', form: [{ key: 'mode', values: ['read only'] }] } }, ctx);
    const [b, f] = seen.slice(-2);
    assert.deepEqual([b!.method, b!.body], ['POST', '{"flush":true}']);
    assert.deepEqual([f!.body, f!.type], ['mode=read+only', 'application/x-www-form-urlencoded']);
  });

  it('tcpSocket succeeds when something listens and fails when nothing does', async () => {
    assert.equal((await runHook({ tcpSocket: { port } }, ctx)).ok, true);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const free = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    assert.equal((await runHook({ tcpSocket: { port: free } }, ctx)).ok, false);
  });
});
