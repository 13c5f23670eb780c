import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { restorectl } from '../../../../test/support/cli.ts';
import { ENGINE, skipUnlessEngine } from '../../../../test/support/sandbox.ts';

const BIN = fileURLToPath(new URL('../../../../bin/restorectl.js', import.meta.url));

/** `restorectl demo` as a process; `until` resolves once its output matches. */
function startDemo(args: string[]) {
  const child = spawn(process.execPath, [BIN, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const until = async (re: RegExp, ms = 300_000) => {
    for (const end = Date.now() + ms; !re.test(out); ) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`no ${re} in:\n${out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  return { child, out: () => out, exited, until };
}

// On both engines: `npm start` (embedded) and `npm start -- --engine kube-apiserver` (npm run test:kube).
describe(`restorectl demo (what \`npm start\` runs), on the ${ENGINE} engine`, function () {
  this.timeout(400_000);
  before(function () {
    skipUnlessEngine(this);
  });

  it('runs every example restore to Succeeded, shows a plan with hosts and pinned snapshots, the files, the status branch and the way on', async () => {
    const r = await restorectl(['demo', '--exit', '--engine', ENGINE]);
    assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr.slice(-2000));
    assert.match(r.stdout, /\+ create RestoreSession demo\/sts-restore/);
    assert.match(r.stdout, /source-data-recovered-statefulset-3\s+\.\/my-sts-1\.json {2}\.\/tmp\.json/);
    // Its own commit, or a line of a commit that records several sessions.
    assert.match(r.stdout, /(status\(demo\): | {6}- )demo\/sts-restore Running→Succeeded \(5\/5 hosts\)/);
    // The second commit, picked up through the signed push webhook, restores too.
    assert.match(r.stdout, /webhook answered 202: cycle triggered by the push to refs\/heads\/main/);
    assert.match(r.stdout, /RestoreSession demo\/audit-copy created \d+ ms after the webhook/);
    assert.match(r.stdout, /audit-copy-0\s+\.\/host-0\.json {2}\.\/tmp\.json\n/);
    assert.match(r.stdout, /status\(demo\): demo\/audit-copy .*Succeeded \(1\/1 hosts\)/);
    assert.match(r.stdout, /Every restore Succeeded\./);
    // On the real engine the daemon is deploy/'s ServiceAccount under deploy/rbac (a missing grant fails the restores above).
    if (ENGINE === 'kube-apiserver')
      assert.match(r.stdout, /runs as system:serviceaccount:restore-controller:restore-controller with deploy\/rbac's ClusterRole/);
    else assert.doesNotMatch(r.stdout, /runs as system:serviceaccount/);
    assert.doesNotMatch(r.stdout + r.stderr, /demo-only-password|demo-only-webhook-secret/);
    // The way on: the git URL, the commands for it, the daemon's log; and a temporary folder removed.
    const url = /git URL: (http:\/\/127\.0\.0\.1:\d+\/restores\.git)/.exec(r.stdout)?.[1];
    assert.ok(url, r.stdout.slice(0, 3000));
    assert.ok(r.stdout.includes(`restorectl status --git-url ${url}`));
    assert.ok(r.stdout.includes(`restorectl status demo/sts-restore --git-url ${url}`));
    assert.match(r.stdout, /restorectl reconcile --webhook-url http:\/\/127\.0\.0\.1:\d+ --webhook-secret-file \S+\/webhook-secret/);
    const dir = /removed (\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(dir && r.stdout.includes(`daemon log: ${dir}/daemon.log`), r.stdout.slice(-2000));
    assert.equal(existsSync(dir), false, 'the temporary folder is removed');
    // The plan is a pull request's: each host, and the snapshot id `latest` is pinned to.
    const plan = r.stdout.slice(r.stdout.indexOf('the plan, as `restorectl plan`'), r.stdout.indexOf('4. the daemon'));
    assert.match(plan, /HOST +SNAPSHOT +SOURCE HOST +PATHS/);
    for (const host of ['my-sts-0', 'my-sts-1', 'my-sts-3', 'host-0', 'app'])
      assert.match(plan, new RegExp(`^ +${host} +[0-9a-f]{8} \\(\\d{4}-\\d\\d-\\d\\dT[\\d:]+Z\\) `, 'm'), `${host} pinned:\n${plan}`);
    assert.doesNotMatch(plan, /not resolved/);
  });

  it('Ctrl-C while it stays up: everything stops, a --dir is left with the daemon log and said so; mid-way, a temporary folder is removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'demo-dir-'));
    try {
      const d = startDemo(['--dir', dir, '--engine', ENGINE]);
      await d.until(/The demo stays up; Ctrl-C stops it\./);
      d.child.kill('SIGINT');
      assert.equal(await d.exited, 0, d.out().slice(-2000));
      assert.ok(d.out().includes(`SIGINT: stopped the daemon, the git server and the sandbox; left ${dir} (given with --dir`), d.out().slice(-1000));
      assert.match(readFileSync(join(dir, 'daemon.log'), 'utf8'), /"msg":"create RestoreSession demo\/sts-restore"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const mid = startDemo(['--engine', ENGINE]);
    await mid.until(/4\. the daemon/);
    const made = /restore-controller demo in (\S+)/.exec(mid.out())![1]!;
    mid.child.kill('SIGINT');
    assert.equal(await mid.exited, 130, mid.out().slice(-2000));
    assert.ok(mid.out().includes(`SIGINT: stopped the daemon, the git server and the sandbox; removed ${made}`), mid.out().slice(-1000));
    assert.equal(existsSync(made), false);
  });
});
