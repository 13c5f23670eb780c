// Told when it is done (issue #15, item 8), as a user runs it: `restorectl run` as a process with
// --notify-webhook and --notify-commit-status, a real git server, the sandbox with the real agent
// and restic, and a local receiver that checks every request against Gitea's documented API. A
// restore that succeeds, one that fails (wrong restic password) and one blocked (a rule error)
// are each told once, on the commit that declared them; a restarted daemon does not tell them again.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { applyExampleCluster } from '../support/example-cluster.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import { startNotifyReceiver } from '../support/notify-receiver.ts';
import type { NotifyReceiver, ReceivedRequest } from '../support/notify-receiver.ts';
import { makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const BIN = fileURLToPath(new URL('../../bin/restorectl.js', import.meta.url));
const PASSWORD = 'notify-run restic password';
const TOKEN = 'notify-run-gitea-token-3c9d0e';
const HOOK_SECRET = 'T0NOTIFY/B0NOTIFY/xoxb-hook-secret';
const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');

/** A restore Job of one host (host-0) into a new claim. */
const pvcRestore = (name: string, repository: string) =>
  example('pvc-restore.yaml')
    .replace('name: pvc-restore', `name: ${name}`)
    .replace('name: local-repo', `name: ${repository}`)
    .replace('replicas: 3', 'replicas: 1')
    .replace(/data-restore-demo-/g, `${name}-`);
/** The Deployment example with a rule error (two catch-all rules): never applied. */
const twoCatchAll = () =>
  example('deployment-restore.yaml')
    .replace(/ {2}hooks:\n(?: {4}.*\n)+/, '')
    .replace(
      '    rules:\n      - paths:\n          - /source/data\n',
      '    rules:\n      - paths:\n          - /source/data\n      - paths:\n          - /source/data\n',
    );

describe('restorectl run --notify-* (processes, real restores)', function () {
  this.timeout(300_000);
  let t: TestSandbox;
  let git: Awaited<ReturnType<typeof startGitServer>>;
  let work: WorkTree;
  let url: string;
  let rx: NotifyReceiver;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let repoPath: string;
  let daemon: { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } | undefined;
  let stderrs = '';

  const repository = (name: string, secret: string) =>
    example('repository.yaml')
      .replace('name: local-repo', `name: ${name}`)
      .replace('storageSecretName: local-repo-secret', `storageSecretName: ${secret}`)
      .replace('/data/stash-test/restic-repo', repoPath);
  const startDaemon = () => {
    const tokenFile = join(tmp.path, 'gitea-token');
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const args = [
      'run',
      ...['--git-url', url, '--path', 'clusters/demo', '--cluster', 'demo', '--interval', '1s'],
      ...['--cache-dir', join(tmp.path, 'cache'), '--agent-image', t.sandbox.options.agentImage ?? 'ghcr.io/restore-controller/restorectl:0.1.0'],
      ...['--notify-webhook', `${rx.url}/hook/${HOOK_SECRET}`],
      ...['--notify-commit-status', 'gitea', '--notify-api-url', `${rx.url}/gitea/api/v1`, '--notify-repo', 'team/restores'],
      ...['--notify-token-file', tokenFile, '--notify-target-url', 'https://gitea.example/team/restores/src/branch/restore-status'],
    ];
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, KUBECONFIG: t.kubeconfigPath, LOG_LEVEL: 'debug' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr!.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    daemon = { child, stderr: () => err, exited };
    return daemon;
  };
  const stopDaemon = async () => {
    if (!daemon) return;
    daemon.child.kill('SIGTERM');
    assert.equal(await daemon.exited, 0, daemon.stderr().slice(-3000));
    stderrs += daemon.stderr();
    daemon = undefined;
  };
  const statuses = () => rx.accepted.filter((r) => r.provider === 'gitea');
  const hooks = () => rx.accepted.filter((r) => r.provider === 'webhook');
  const about = (rs: ReceivedRequest[], name: string) => rs.filter((r) => r.body.context === `restore-controller/demo/demo/${name}` || r.body.name === name);

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('notify-run');
    repoPath = (
      await makeRepo({ dir: tmp.path, password: PASSWORD, snapshots: [{ host: 'host-0', files: { '/source/data/host-0.json': '{"host":"host-0"}' } }] })
    ).repoPath;
    t = await startSandbox();
    await applyExampleCluster(t, { password: PASSWORD });
    const secret = await t.kubectl(
      ['apply', '-f', '-'],
      stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'wrong-secret', namespace: 'demo' }, stringData: { RESTIC_PASSWORD: 'not it' } }),
    );
    assert.equal(secret.code, 0, secret.stderr);
    rx = await startNotifyReceiver(TOKEN);
    git = await startGitServer();
    url = git.server.createRepo('restores');
    work = new WorkTree(join(tmp.path, 'work'), git.server.repoPath('restores'));
    work
      .write({
        'clusters/demo/repository.yaml': repository('local-repo', 'local-repo-secret'),
        'clusters/demo/wrong-repo.yaml': repository('wrong-repo', 'wrong-secret'),
        'clusters/demo/good-restore.yaml': pvcRestore('good-restore', 'local-repo'),
        'clusters/demo/wrong-password.yaml': pvcRestore('wrong-password', 'wrong-repo'),
        'clusters/demo/deployment-restore.yaml': twoCatchAll(),
      })
      .commit('Add the restores');
    work.push();
  });
  after(async () => {
    daemon?.child.kill('SIGKILL');
    await t?.stop();
    await git?.close();
    await rx?.close();
    await tmp?.cleanup();
  });

  it('tells each outcome once, on the declaring commit, in the shapes the APIs document', async () => {
    const declared = work.head();
    startDaemon();
    await eventually(() => ['good-restore', 'wrong-password', 'deployment-restore'].every((n) => about(statuses(), n).length > 0), 240_000, 250);
    assert.deepEqual(rx.rejected, [], 'every request matched the documented API');
    const [good] = about(statuses(), 'good-restore');
    const [wrong] = about(statuses(), 'wrong-password');
    const [blocked] = about(statuses(), 'deployment-restore');
    assert.equal(good!.body.state, 'success');
    assert.equal(good!.body.description, 'Succeeded 1/1 hosts');
    assert.equal(wrong!.body.state, 'failure');
    assert.match(String(wrong!.body.description), /^Failed: 0\/1 succeeded, 1 failed: host-0: restic .*wrong password/);
    assert.equal(blocked!.body.state, 'error');
    assert.match(String(blocked!.body.description), /^blocked: not applied: /);
    for (const s of [good!, wrong!, blocked!]) {
      assert.equal(s.sha, declared);
      assert.equal(s.repo, 'team/restores');
      assert.equal(s.headers.authorization, `token ${TOKEN}`);
    }
    const hook = hooks().find((h) => h.body.name === 'good-restore');
    assert.equal(hook!.body.text, 'Restore demo/good-restore on cluster demo Succeeded (1/1 hosts)');
    assert.equal(hook!.body.phase, 'Succeeded');
    // Nothing is told ahead of git: the status branch records each outcome told.
    const ledger = git.server.git('restores', ['show', 'restore-status:clusters/demo/demo/good-restore.yaml']);
    assert.match(ledger, /phase: Succeeded/);
  });

  it('tells nothing again while nothing changes, nor after a restart (a block is told again once)', async () => {
    // A few more cycles of the same daemon.
    const cycles = () => (daemon!.stderr().match(/"msg":"cycle timings"/g) ?? []).length;
    const seen = cycles();
    await eventually(() => cycles() >= seen + 3, 60_000, 200);
    const before = { statuses: statuses().length, hooks: hooks().length };
    assert.equal(before.statuses, 3, JSON.stringify(statuses().map((s) => s.body)));
    await stopDaemon();
    startDaemon();
    await eventually(() => (daemon!.stderr().match(/"msg":"cycle timings"/g) ?? []).length >= 3, 60_000, 200);
    await stopDaemon();
    const told = statuses().slice(before.statuses);
    assert.deepEqual(
      told.map((s) => [s.body.context, s.body.state]),
      [['restore-controller/demo/demo/deployment-restore', 'error']],
      'the finished restores are in the ledger: not told again',
    );
    assert.equal(hooks().length, before.hooks + 1);
  });

  it('never logs the token or the webhook URL’s secret path', () => {
    for (const secret of [TOKEN, HOOK_SECRET, 'xoxb-hook-secret', PASSWORD]) assert.ok(!stderrs.includes(secret), secret);
    assert.match(stderrs, /"msg":"running"/);
  });
});
