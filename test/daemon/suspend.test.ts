// Operations on a running daemon, all through the real program as processes (issue 15, item 5):
// `restorectl run` against the sandbox and a real git server; `restorectl suspend` holds it (a
// commit on the status branch: nothing created or pruned, running sessions still followed,
// STATUS.md says who, when and why), `restorectl reconcile` asks for a cycle now (signed with
// the webhook secret), `restorectl status NS/NAME` shows the held decision, `restorectl resume`
// lets the daemon go ahead.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { restorectl } from '../support/cli.ts';
import { eventually } from '../support/sandbox.ts';
import { DEFAULT_FILES, example, startFixture } from './fixture.ts';
import type { Fixture } from './fixture.ts';

const BIN = fileURLToPath(new URL('../../bin/restorectl.js', import.meta.url));
const SECRET = 'suspend-test-webhook-secret';

describe('suspend, resume, reconcile and status of one session, against a running daemon', function () {
  this.timeout(300_000);
  let f: Fixture;
  let daemon: ChildProcess;
  let log = '';
  let secretFile: string;
  let webhook: string;

  const file = (path: string) => {
    try {
      return f.git.server.git('restores', ['show', `restore-status:${path}`]);
    } catch {
      return '';
    }
  };
  const statusMd = () => file('clusters/demo/STATUS.md');
  const names = async () => (await f.sessions('demo')).map((s) => s.metadata.name).sort();
  const reconcile = (secret = secretFile) => restorectl(['reconcile', '--webhook-url', webhook, '--webhook-secret-file', secret, '--by', 'ops-test']);

  before(async () => {
    f = await startFixture(DEFAULT_FILES);
    secretFile = join(f.git.tmp, 'webhook-secret');
    writeFileSync(secretFile, SECRET + '\n');
    daemon = spawn(
      process.execPath,
      [
        BIN,
        'run',
        ...['--git-url', f.url, '--path', 'clusters/demo', '--cluster', 'demo', '--interval', '1h'],
        ...['--cache-dir', join(f.git.tmp, 'daemon-cache'), '--agent-image', 'restorectl:test'],
        ...['--webhook-addr', '127.0.0.1:0', '--webhook-secret-file', secretFile],
      ],
      { env: { ...process.env, KUBECONFIG: f.t.kubeconfigPath, WEBHOOK_SECRET: undefined, LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    daemon.stderr!.on('data', (d) => (log += d));
    webhook = await eventually(() => /push webhook on (http:\/\/\S+) /.exec(log)?.[1], 120_000, 100);
    await eventually(async () => (await names()).includes('sts-restore'), 120_000, 200);
  });
  after(async () => {
    daemon?.kill('SIGKILL');
    await f?.close();
  });

  it('--help of each command says what it does and its flags', async () => {
    const [suspend, resume, rec, status] = await Promise.all(['suspend', 'resume', 'reconcile', 'status'].map((c) => restorectl([c, '--help'])));
    assert.match(suspend!.stdout, /creates, reruns, updates and prunes nothing/);
    for (const flag of ['--cluster', '--reason', '--by', '--git-url', '--status-branch']) assert.ok(suspend!.stdout.includes(flag), flag);
    assert.match(resume!.stdout, /suspended: false/);
    assert.match(rec!.stdout, /signed with the webhook's shared secret/);
    assert.match(status!.stdout, /restorectl status NAMESPACE\/NAME/);
  });

  it('reconcile runs a cycle now: a pushed restore is created without waiting for the hour-long interval', async () => {
    f.work.write({ 'clusters/demo/pvc-restore.yaml': example('pvc-restore.yaml') }).commit('Add the PVC restore');
    f.work.push();
    const r = await reconcile();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /runs a cycle now/);
    await eventually(async () => (await names()).includes('pvc-restore'), 60_000, 200);
    assert.match(log, /"msg":"reconcile requested by ops-test"/);
  });

  it('reconcile with another secret is refused, saying the secrets differ; without a daemon it says where it looked', async () => {
    const wrong = join(f.git.tmp, 'wrong-secret');
    writeFileSync(wrong, 'not-the-secret\n');
    const r = await reconcile(wrong);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refused the signature: this secret is not the one it verifies with/);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const none = await restorectl(['reconcile', '--webhook-url', `http://127.0.0.1:${port}`, '--webhook-secret-file', secretFile]);
    assert.equal(none.code, 2);
    assert.ok(
      none.stderr.includes(
        `cannot reach the daemon at http://127.0.0.1:${port}/reconcile (ECONNREFUSED): is \`restorectl run --webhook-addr\` listening there?`,
      ),
      none.stderr,
    );
    const noSecret = await restorectl(['reconcile', '--webhook-url', webhook], { env: { WEBHOOK_SECRET: undefined } });
    assert.equal(noSecret.code, 2);
    assert.match(noSecret.stderr, /no secret to sign with: give --webhook-secret-file PATH/);
  });

  it('suspend: a commit on the status branch; the daemon then creates and prunes nothing, says why everywhere, and keeps following running sessions', async () => {
    const refused = await restorectl(['suspend', '--cluster', 'demo', '--git-url', f.url]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /--reason TEXT is required/);

    const s = await restorectl(['suspend', '--cluster', 'demo', '--reason', 'storage migration INC-42', '--by', 'ada@ops', '--git-url', f.url]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^suspended cluster demo: commit [0-9a-f]{7} on restore-status/);
    assert.match(f.statusLog()[0]!, /^suspend\(demo\): suspended by ada@ops: storage migration INC-42$/);
    assert.match(file('clusters/demo/suspension.yaml'), /suspended: true/);
    // STATUS.md says so at once, before the daemon's next cycle.
    assert.match(statusMd(), /^> ⏸️ \*\*Suspended\*\* by ada@ops at \d{4}-\d\d-\d\dT[\d:]+Z: storage migration INC-42\.$/m);
    const again = await restorectl(['suspend', '--cluster', 'demo', '--reason', 'again', '--git-url', f.url]);
    assert.match(again.stdout, /already suspended \(by ada@ops at .*: storage migration INC-42\); nothing written/);

    const before = new Map((await f.sessions('demo')).map((x) => [x.metadata.name, x.metadata.uid]));
    f.work.write({ 'clusters/demo/deployment-restore.yaml': example('deployment-restore.yaml') });
    f.work.remove('clusters/demo/pvc-restore.yaml');
    f.work.commit('Add the Deployment restore, drop the PVC restore');
    f.work.push();
    assert.equal((await reconcile()).code, 0);
    await eventually(() => /deployment-restore/.test(statusMd()), 60_000, 200);
    const md = statusMd();
    assert.match(md, /^> ⏸️ \*\*Suspended\*\* by ada@ops/m, 'the daemon renders the banner too');
    assert.match(md, /\*\*demo\/deployment-restore\*\* Blocked: create held: the daemon is suspended \(by ada@ops at .*: storage migration INC-42\)/);
    assert.match(log, /"msg":"suspended by ada@ops at [^"]*: storage migration INC-42; nothing is created, rerun, updated or pruned until/);
    // Nothing created, nothing pruned: the sessions are the ones there were.
    assert.deepEqual(new Map((await f.sessions('demo')).map((x) => [x.metadata.name, x.metadata.uid])), before);

    // A running session is still followed: its Secret appears, and its new status reaches the branch.
    assert.match(file('clusters/demo/demo/sts-restore.yaml'), /BackendSecretNotAvailable/);
    const secret = await f.t.kubectl(['create', 'secret', 'generic', 'local-repo-secret', '-n', 'demo', '--from-literal=RESTIC_PASSWORD=not-used-here']);
    assert.equal(secret.code, 0, secret.stderr);
    await eventually(
      async () => {
        await reconcile();
        return !/BackendSecretNotAvailable/.test(file('clusters/demo/demo/sts-restore.yaml'));
      },
      90_000,
      1000,
    );
    assert.deepEqual(new Map((await f.sessions('demo')).map((x) => [x.metadata.name, x.metadata.uid])), before, 'still nothing created or pruned');

    const st = await restorectl(['status', 'demo/deployment-restore', '--git-url', f.url]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /^Decision: +blocked: create held: the daemon is suspended \(by ada@ops/m);
    assert.match(st.stdout, /Source: .*main@[0-9a-f]{12}:clusters\/demo\/deployment-restore\.yaml/);
  });

  it('status NS/NAME of a created session: its execution, hosts, source and decision; an unknown one exits 1 naming those there are', async () => {
    const r = await restorectl(['status', 'demo/sts-restore', '--git-url', f.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^demo\/sts-restore in cluster demo \(/);
    assert.match(r.stdout, /^Content id: +[0-9a-f]{16}$/m);
    assert.match(r.stdout, /^Executions \(1, oldest first\):\n {2}CONTENT ID +PHASE +SOURCE COMMIT/m);
    assert.match(r.stdout, /^Hosts \(\d+ of [\d?]+ reported\):/m);
    assert.match(r.stdout, /^Decision: +noop: applied as declared: execution [0-9a-f]{16} is \w+/m);
    const json = JSON.parse((await restorectl(['status', 'demo/sts-restore', '--git-url', f.url, '-o', 'json'])).stdout);
    assert.equal(json.sessions[0].name, 'sts-restore');
    assert.equal(json.sessions[0].executions.length, 1);
    const missing = await restorectl(['status', 'demo/nope', '--git-url', f.url]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /no RestoreSession demo\/nope on .* restore-status \(sessions in demo: .*sts-restore.*\); check the name, the namespace and --cluster/,
    );
  });

  it('resume: the banner goes and the held restore is created', async () => {
    const r = await restorectl(['resume', '--cluster', 'demo', '--reason', 'migration done', '--by', 'ada@ops', '--git-url', f.url]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(f.statusLog()[0]!, /^resume\(demo\): resumed by ada@ops: migration done$/);
    assert.doesNotMatch(statusMd(), /Suspended/);
    assert.equal((await reconcile()).code, 0);
    await eventually(async () => (await names()).includes('deployment-restore'), 60_000, 200);
    await eventually(() => !/Suspended|held: the daemon is suspended/.test(statusMd()), 60_000, 200);
    assert.match(log, /"msg":"resumed by ada@ops at [^"]*: migration done"/);
    const again = await restorectl(['resume', '--cluster', 'demo', '--reason', 'x', '--git-url', f.url]);
    assert.match(again.stdout, /cluster demo is not suspended \(resumed by ada@ops at .*\); nothing written/);
  });
});
