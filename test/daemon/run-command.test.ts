// `restorectl run` as the Deployment runs it: real processes with --leader-elect, --metrics-addr
// and --webhook-addr against the sandbox and an authenticating git server. A push webhook makes
// a cycle at once; kill -9 of the leader hands over to the other replica; SIGTERM releases the
// Lease, closes the servers and exits 0; no secret is ever logged.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { restorectl } from '../support/cli.ts';
import { eventually } from '../support/sandbox.ts';
import { DEFAULT_FILES, example, startFixture } from './fixture.ts';
import type { Fixture } from './fixture.ts';

const BIN = fileURLToPath(new URL('../../bin/restorectl.js', import.meta.url));
const WEBHOOK_SECRET = 'run-test-webhook-secret';
const GIT_PASSWORD = 'run-test-git-token-0123456789';

interface Proc {
  name: string;
  child: ChildProcess;
  stderr(): string;
  /** The parsed JSON log lines so far. */
  lines(): { level: string; msg: string; [k: string]: unknown }[];
  exited: Promise<number | null>;
}

function start(name: string, args: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn(process.execPath, [BIN, 'run', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    name,
    child,
    stderr: () => err,
    lines: () =>
      err
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l)),
    exited,
  };
}

/** The URL a process logged for one of its servers (port 0 picks a free one). */
const serverUrl = (p: Proc, what: RegExp) => {
  const m = p
    .lines()
    .map((l) => what.exec(l.msg))
    .find(Boolean);
  return m ? m[1] : undefined;
};

describe('restorectl run (processes)', function () {
  this.timeout(240_000);

  it('--help documents every flag, the webhook, metrics and leader election among them', async () => {
    const r = await restorectl(['run', '--help']);
    assert.equal(r.code, 0);
    for (const flag of [
      '--git-url',
      '--branch',
      '--ref',
      '--path',
      '--source-dir',
      '--git-credentials-dir',
      '--status-branch',
      '--cluster',
      '--no-status',
      '--kubeconfig',
      '--namespace',
      '--agent-image',
      '--interval',
      '--once',
      '--allow-empty',
      '--cache-dir',
      '--webhook-addr',
      '--webhook-secret-file',
      '--metrics-addr',
      '--leader-elect',
      '--leader-election-namespace',
      '--leader-election-id',
      '--leader-election-lease-duration',
    ]) {
      assert.match(r.stdout, new RegExp(`^  ${flag}\\b`, 'm'), flag);
    }
    assert.doesNotMatch(r.stdout, /not (yet )?implemented/i);
    assert.match(r.stdout, /WEBHOOK_SECRET/);
    assert.match(r.stdout, /\/healthz/);
    assert.match(r.stdout, /\/readyz/);
  });

  it('refuses a webhook without a secret, a bad listen address and --once with the servers, saying what to do', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--git-url', 'http://127.0.0.1:1/r.git', '--webhook-addr', ':0'],
        /--webhook-addr needs a secret to verify pushes with: give --webhook-secret-file PATH or set WEBHOOK_SECRET/,
      ],
      [['--git-url', 'http://127.0.0.1:1/r.git', '--metrics-addr', '8080'], /--metrics-addr "8080" is not a listen address: give HOST:PORT or :PORT/],
      [['--git-url', 'http://127.0.0.1:1/r.git', '--once', '--leader-elect'], /--once runs one cycle and exits; it cannot be combined with --leader-elect/],
      [['--source-dir', '.', '--no-status', '--webhook-addr', ':0'], /--webhook-addr needs --git-url/],
      [['--git-url', 'http://127.0.0.1:1/r.git', '--leader-election-id', 'x'], /--leader-election-id has no effect without --leader-elect/],
      [['--git-url', 'http://127.0.0.1:1/r.git', '--namespace', 'Not_A_Namespace'], /--namespace "Not_A_Namespace" is not a namespace name/],
    ];
    const results = await Promise.all(cases.map(([args]) => restorectl(['run', ...args], { env: { WEBHOOK_SECRET: undefined } })));
    cases.forEach(([args, message], i) => {
      assert.equal(results[i]!.code, 2, `${args.join(' ')}: ${results[i]!.stderr}`);
      assert.match(results[i]!.stderr, message);
    });
  });

  describe('two replicas with --leader-elect', () => {
    let f: Fixture;
    const procs: Proc[] = [];
    let secretFile: string;
    const holder = async () =>
      (await f.coordination.readNamespacedLease({ namespace: 'default', name: 'restore-controller' }).catch(() => undefined))?.spec?.holderIdentity;
    const args = (n: number) => [
      '--git-url',
      f.url,
      '--path',
      'clusters/demo',
      '--cluster',
      'demo',
      '--interval',
      '1h',
      '--cache-dir',
      join(f.git.tmp, `proc-cache-${n}`),
      '--agent-image',
      'restorectl:test',
      '--leader-elect',
      '--leader-election-lease-duration',
      '6s',
      '--metrics-addr',
      '127.0.0.1:0',
      '--webhook-addr',
      '127.0.0.1:0',
      '--webhook-secret-file',
      secretFile,
    ];
    const env = (n: number) => ({
      KUBECONFIG: f.t.kubeconfigPath,
      POD_NAMESPACE: 'default',
      POD_NAME: `restorectl-${n}`,
      GIT_USERNAME: 'bot',
      GIT_PASSWORD,
      WEBHOOK_SECRET: undefined,
      LOG_LEVEL: 'info',
    });
    const leaderProc = async () => {
      const h = await holder();
      return procs.find((p) => h?.startsWith(`restorectl-${p.name}_`) && p.child.exitCode === null);
    };

    before(async () => {
      f = await startFixture(DEFAULT_FILES, { auth: { username: 'bot', password: GIT_PASSWORD } });
      secretFile = join(f.git.tmp, 'webhook-secret');
      writeFileSync(secretFile, WEBHOOK_SECRET + '\n');
    });
    after(async () => {
      for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
      await f?.close();
    });

    it('one leads and creates the sessions; both serve /readyz 200 and /metrics', async () => {
      procs.push(start('1', args(1), env(1)), start('2', args(2), env(2)));
      await eventually(async () => (await f.sessions('demo')).some((s) => s.metadata.name === 'sts-restore'), 120_000, 200);
      const leader = (await leaderProc())!;
      assert.ok(leader, `a process holds the Lease (${await holder()})`);
      for (const p of procs) {
        const metrics = await eventually(() => serverUrl(p, /^metrics on (http:\/\/\S+)\/metrics/), 60_000, 100);
        await eventually(async () => (await fetch(metrics + '/readyz')).status === 200, 60_000, 200);
        const m = await (await fetch(metrics + '/metrics')).text();
        assert.match(m, new RegExp(`^restore_controller_leader ${p === leader ? 1 : 0}$`, 'm'), p.name);
        assert.equal((await fetch(metrics + '/healthz')).status, 200);
      }
    });

    it('a signed push webhook to the leader runs a cycle at once (the interval is an hour)', async () => {
      const leader = (await leaderProc())!;
      f.work.write({ 'clusters/demo/deployment-restore.yaml': example('deployment-restore.yaml') }).commit('Add the Deployment restore');
      f.work.push();
      const body = JSON.stringify({ ref: 'refs/heads/main', after: f.work.head() });
      const webhook = serverUrl(leader, /^push webhook on (http:\/\/\S+) /)!;
      const r = await fetch(webhook, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-gitea-event': 'push',
          'x-gitea-signature': createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex'),
        },
      });
      assert.equal(r.status, 202);
      await eventually(async () => (await f.sessions('demo')).some((s) => s.metadata.name === 'deployment-restore'), 60_000, 200);
      const bad = await fetch(webhook, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'x-gitea-event': 'push', 'x-gitea-signature': '0'.repeat(64) },
      });
      assert.equal(bad.status, 401);
    });

    it('kill -9 of the leader: the other process takes over, and nothing is created twice', async () => {
      const leader = (await leaderProc())!;
      const other = procs.find((p) => p !== leader)!;
      const uids = new Map((await f.sessions('demo')).map((s) => [s.metadata.name, s.metadata.uid]));
      leader.child.kill('SIGKILL');
      await leader.exited;
      await eventually(async () => (await holder())?.startsWith(`restorectl-${other.name}_`), 90_000, 200);
      await eventually(() => other.lines().some((l) => l.msg.startsWith('leader election: acquired')), 60_000, 200);
      const metrics = serverUrl(other, /^metrics on (http:\/\/\S+)\/metrics/)!;
      await eventually(
        async () => /^restore_controller_cycles_total\{result="success"\} [1-9]/m.test(await (await fetch(metrics + '/metrics')).text()),
        90_000,
        200,
      );
      assert.deepEqual(new Map((await f.sessions('demo')).map((s) => [s.metadata.name, s.metadata.uid])), uids, 'the same sessions, not re-created');
      assert.ok(!other.lines().some((l) => /^create RestoreSession/.test(l.msg)), 'the new leader created no session');
    });

    it('SIGTERM: the Lease is released, the servers close, exit 0; and no log line holds a secret', async () => {
      const leader = (await leaderProc())!;
      const metrics = serverUrl(leader, /^metrics on (http:\/\/\S+)\/metrics/)!;
      const webhook = serverUrl(leader, /^push webhook on (http:\/\/\S+) /)!;
      leader.child.kill('SIGTERM');
      assert.equal(await leader.exited, 0, leader.stderr().slice(-2000));
      assert.equal(await holder(), undefined, 'the Lease has no holder');
      await assert.rejects(fetch(metrics + '/healthz'));
      await assert.rejects(fetch(webhook, { method: 'POST' }));
      assert.ok(leader.lines().some((l) => l.msg === 'leader election: released Lease default/restore-controller'));
      assert.ok(leader.lines().some((l) => l.msg === 'stopped: SIGTERM received'));
      for (const p of procs) {
        for (const secret of [WEBHOOK_SECRET, GIT_PASSWORD, Buffer.from(`bot:${GIT_PASSWORD}`).toString('base64')])
          assert.ok(!p.stderr().includes(secret), `${p.name} never logs a secret`);
      }
    });
  });
});
