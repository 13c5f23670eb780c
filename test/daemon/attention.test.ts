// Every decision reaches people (issue #15): the daemon with the real agent and restic on the
// sandbox, a real smart-HTTP git server, and `restorectl status` / `restorectl plan` as processes.
// The story of a user who pushes a broken manifest, reads why in git, fixes it, and sees it run;
// a wrong restic password that names the host and the Secret; a rerun that runs the new spec;
// and `restorectl plan --status-branch` deciding exactly as the daemon does.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { sinkLogger } from '../../src/common/log.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { CycleReport } from '../../src/daemon/daemon.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { GitSource } from '../../src/source/index.ts';
import { StatusWriter, readLedger } from '../../src/status/index.ts';
import { restorectl } from '../support/cli.ts';
import { applyExampleCluster } from '../support/example-cluster.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import { makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const PASSWORD = 'attention test password';
const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');
/** The Deployment example without its exec hook (it would run on this machine, not in a pod). */
const deploymentRestore = () => example('deployment-restore.yaml').replace(/ {2}hooks:\n(?: {4}.*\n)+/, '');
/** The same with a rule error: two catch-all rules. */
const twoCatchAll = () =>
  deploymentRestore().replace(
    '    rules:\n      - paths:\n          - /source/data\n',
    '    rules:\n      - paths:\n          - /source/data\n      - paths:\n          - /source/data\n',
  );
/** A restore Job of one host (host-0) into a new claim, from a Repository whose Secret holds a wrong password. */
const wrongPassword = (extra = '') =>
  example('pvc-restore.yaml')
    .replace('name: pvc-restore', 'name: wrong-password')
    .replace('name: local-repo', 'name: wrong-repo')
    .replace('replicas: 3', 'replicas: 1')
    .replace(/data-restore-demo-/g, 'wrong-restore-') + extra;

describe('daemon: every decision reaches people (issue #15)', function () {
  this.timeout(300_000);
  let t: TestSandbox;
  let git: Awaited<ReturnType<typeof startGitServer>>;
  let work: WorkTree;
  let url: string;
  let custom: k8s.CustomObjectsApi;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let d: Daemon;
  let repoPath: string;
  const logs: string[] = [];

  const session = (name: string) =>
    custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name }).then(
      (s) => s as RestoreSession,
      () => undefined,
    );
  const statusMd = () => git.server.git('restores', ['show', 'restore-status:clusters/demo/STATUS.md']);
  const statusFile = (name: string) => git.server.git('restores', ['show', `restore-status:clusters/demo/demo/${name}.yaml`]);
  const ledger = async () => readLedger({ url, cluster: 'demo', cacheDir: join(tmp.path, `ledger-${Math.random().toString(36).slice(2)}`) });
  const status = (args: string[] = []) => restorectl(['status', '--git-url', url, '--cluster', 'demo', ...args]);
  /** Cycles until `done` holds for what a cycle left behind (the controller and the agents run meanwhile). */
  const cycleUntil = async <T>(done: (r: CycleReport) => Promise<T | undefined> | T | undefined): Promise<NonNullable<T>> =>
    eventually(async () => done(await d.cycle()), 240_000, 300);
  const finalPhase = (name: string) =>
    cycleUntil(async () => {
      const s = await session(name);
      return s?.status?.phase && ['Succeeded', 'Failed', 'Unknown', 'Invalid'].includes(s.status.phase) ? s : undefined;
    });
  const repository = (name: string, secret: string) =>
    example('repository.yaml')
      .replace('name: local-repo', `name: ${name}`)
      .replace('storageSecretName: local-repo-secret', `storageSecretName: ${secret}`)
      .replace('/data/stash-test/restic-repo', repoPath);

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('attention');
    const files = (host: string) => ({ [`/source/data/${host}.json`]: `{"host":"${host}"}`, '/source/data/notes.txt': 'notes' });
    repoPath = (await makeRepo({ dir: tmp.path, password: PASSWORD, snapshots: ['app', 'host-0'].map((host) => ({ host, files: files(host) })) })).repoPath;
    t = await startSandbox();
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    await applyExampleCluster(t, { password: PASSWORD }); // the Repositories come from git
    const secret = await t.kubectl(
      ['apply', '-f', '-'],
      stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'wrong-secret', namespace: 'demo' },
        stringData: { RESTIC_PASSWORD: 'not the password at all' },
      }),
    );
    assert.equal(secret.code, 0, secret.stderr);
    git = await startGitServer();
    url = git.server.createRepo('restores');
    work = new WorkTree(join(tmp.path, 'work'), git.server.repoPath('restores'));
    work
      .write({
        'clusters/demo/repository.yaml': repository('local-repo', 'local-repo-secret'),
        'clusters/demo/wrong-repo.yaml': repository('wrong-repo', 'wrong-secret'),
        'clusters/demo/deployment-restore.yaml': twoCatchAll(),
        'clusters/demo/wrong-password.yaml': wrongPassword(),
      })
      .commit('Add the restores');
    work.push();
    d = new Daemon({
      source: new GitSource({ url, branch: 'main', path: 'clusters/demo', cacheDir: join(tmp.path, 'source') }),
      statusWriter: new StatusWriter({ url, cacheDir: join(tmp.path, 'status') }),
      ledger: await ledger(),
      kubeConfig: t.kc,
      cluster: 'demo',
      controller: { agent: { image: t.agentImage }, resyncMs: 500, pollMs: 100 },
      log: sinkLogger(({ level, msg }) => logs.push(`${level} ${msg}`)),
    });
    await d.watch();
  });
  after(async () => {
    d?.stop();
    await d?.drain();
    await t?.stop();
    await git?.close();
    await tmp?.cleanup();
  });

  it('a manifest with a rule error (two catch-all rules) is never applied: no RestoreSession, no ledger entry, cycle after cycle', async () => {
    const first = await d.cycle();
    const a = first.plan!.actions.find((x) => x.name === 'deployment-restore')!;
    assert.equal(a.action, 'blocked');
    assert.match(
      a.reason!,
      /^not applied: the manifest has 1 error \(clusters\/demo\/deployment-restore\.yaml:\d+:\d+: error: rules 0 and 1 both have empty targetHosts/,
    );
    assert.deepEqual(
      first.applied.filter((x) => x.action.kind === 'RestoreSession').map((x) => x.action.name),
      ['wrong-password'],
    );
    // A cycle after the Repository and the other session exist plans again and still refuses it.
    await d.cycle();
    assert.equal(await session('deployment-restore'), undefined);
    assert.deepEqual((await ledger()).sessions.find((s) => s.name === 'deployment-restore')?.executions ?? [], []);
  });

  it('the reason is visible in STATUS.md (Needs attention, first), its status file, `restorectl status` and the log, once', async () => {
    const md = statusMd();
    assert.ok(md.indexOf('## Needs attention') >= 0 && md.indexOf('## Needs attention') < md.indexOf('| Session |'), md);
    assert.match(
      md,
      /^- \S+ \*\*demo\/deployment-restore\*\* Blocked: not applied: the manifest has 1 error \(clusters\/demo\/deployment-restore\.yaml:\d+:\d+: error: rules 0 and 1 both have empty targetHosts/m,
    );
    assert.match(md, /^ {2}- to do: fix the manifest in git/m);
    assert.match(statusFile('deployment-restore'), /^decision:\n {2}action: blocked\n {2}reason: .*not applied/m);
    const text = await status();
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^demo\s+demo\/deployment-restore\s+Blocked\s/m);
    assert.match(text.stdout, /^Needs attention \(\d+\):\n(?:.*\n)*? {2}demo demo\/deployment-restore: Blocked: not applied: .*both have empty targetHosts/m);
    const json = JSON.parse((await status(['--output', 'json'])).stdout) as {
      sessions: { name: string; attention: { phase: string; problem: string } | null }[];
    };
    const s = json.sessions.find((x) => x.name === 'deployment-restore')!;
    assert.equal(s.attention?.phase, 'Blocked');
    assert.match(s.attention!.problem, /both have empty targetHosts/);
    // An unrelated push plans again: the same decision is not logged again.
    work
      .write({ 'clusters/demo/wrong-repo.yaml': `# The Secret holds a wrong password on purpose.\n${repository('wrong-repo', 'wrong-secret')}` })
      .commit('A comment');
    work.push();
    await d.cycle();
    assert.equal(logs.filter((l) => /^warn demo\/deployment-restore needs attention: Blocked: not applied/.test(l)).length, 1, logs.join('\n'));
    assert.equal(
      logs.filter((l) => /^warn clusters\/demo\/deployment-restore\.yaml:\d+:\d+: rules 0 and 1 both have empty targetHosts/.test(l)).length,
      1,
      logs.join('\n'),
    );
  });

  it('a wrong restic password: the failed host is not done, and its error and the Secret to fix are in STATUS.md and `restorectl status`', async () => {
    const failed = await finalPhase('wrong-password');
    assert.equal(failed.status?.phase, 'Failed', JSON.stringify(failed.status));
    const hostError = failed.status!.stats![0]!.error!;
    assert.match(hostError, /password/i);
    await cycleUntil(() => /demo\/wrong-password \| \S+ Failed \|/.test(statusMd()) || undefined);
    const md = statusMd();
    assert.match(md, /\| demo\/wrong-password \| \S+ Failed \| 0\/1, 1 failed \|/);
    assert.match(md, /^- \S+ \*\*demo\/wrong-password\*\* Failed 0\/1 succeeded, 1 failed: host-0: .*password/im);
    assert.match(md, /^ {2}- host host-0: .*password/im);
    assert.match(md, /^ {2}- to do: check the Secret that Repository demo\/wrong-repo names in spec\.backend\.storageSecretName/m);
    assert.doesNotMatch(md, /not the password at all/);
    const text = (await status()).stdout;
    assert.match(text, /^demo\s+demo\/wrong-password\s+Failed\s+0\/1, 1 failed\s/m);
    assert.match(text, /^ {2}demo demo\/wrong-password: Failed 0\/1 succeeded, 1 failed: host-0: .*password/im);
    assert.match(text, /^ {4}to do: check the Secret that Repository demo\/wrong-repo names/m);
    assert.equal(logs.filter((l) => /^warn demo\/wrong-password needs attention: Failed/.test(l)).length, 1, logs.join('\n'));
  });

  it('fixed in git, the manifest is applied and runs to Succeeded, with no kubectl by hand', async () => {
    work.write({ 'clusters/demo/deployment-restore.yaml': deploymentRestore() }).commit('One catch-all rule');
    work.push();
    const r = await d.cycle();
    assert.equal(r.plan!.actions.find((x) => x.name === 'deployment-restore')!.action, 'create');
    const done = await finalPhase('deployment-restore');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    await cycleUntil(() => /\| demo\/deployment-restore \| \S+ Succeeded \| 1\/1 \|/.test(statusMd()) || undefined);
    assert.doesNotMatch(statusMd(), /\*\*demo\/deployment-restore\*\*/);
    assert.match((await status()).stdout, /^demo\s+demo\/deployment-restore\s+Succeeded\s+1\/1\s/m);
    assert.deepEqual(
      (await ledger()).sessions.find((s) => s.name === 'deployment-restore')!.executions.map((e) => e.phase),
      ['Succeeded'],
    );
  });

  it('`restorectl plan --status-branch`, with or without --base, decides as the daemon then does: rerun, blocked, create', async () => {
    const base = work.head();
    work
      .write({
        // A changed spec with a bumped rerun: runs the new spec.
        'clusters/demo/deployment-restore.yaml': deploymentRestore()
          .replace('  namespace: demo\n', '  namespace: demo\n  annotations:\n    restore.gitops/rerun: "1"\n')
          .replace('          - /source/data\n', '          - /source/data\n        include:\n          - "*.json"\n'),
        // A changed spec without a bump: blocked.
        'clusters/demo/wrong-password.yaml': wrongPassword('  timeOut: 45m\n'),
        // A new one with a rule error: blocked; and a new valid one: create.
        'clusters/demo/broken.yaml': twoCatchAll().replace('name: deployment-restore', 'name: broken-restore'),
        'clusters/demo/pvc-restore.yaml': example('pvc-restore.yaml'),
      })
      .commit('Rerun with the JSON files only, more time, two new restores');
    work.push();
    const project = (actions: { kind: string; namespace: string; name: string; action: string; contentId: string }[]) =>
      actions
        .filter((a) => a.kind === 'RestoreSession')
        .map((a) => `${a.action} ${a.namespace}/${a.name} ${a.contentId}`)
        .sort();
    const planned = async (extra: string[]) => {
      const r = await restorectl([
        'plan',
        '--git-url',
        url,
        '--path',
        'clusters/demo',
        '--head',
        'main',
        '--status-branch',
        'restore-status',
        '--cluster',
        'demo',
        '--no-restic',
        '--output',
        'json',
        ...extra,
      ]);
      assert.ok(r.code === 0 || r.code === 1, r.stderr);
      return project(JSON.parse(r.stdout).actions);
    };
    const withoutBase = await planned([]);
    const withBase = await planned(['--base', base]);
    const daemon = await d.cycle();
    const decided = project(daemon.plan!.actions);
    assert.deepEqual(withoutBase, decided);
    assert.deepEqual(withBase, decided);
    assert.deepEqual(
      decided.map((x) => x.split(' ').slice(0, 2).join(' ')),
      ['blocked demo/broken-restore', 'blocked demo/wrong-password', 'create demo/pvc-restore', 'rerun demo/deployment-restore'],
    );
    const blocked = daemon.plan!.actions.find((a) => a.name === 'wrong-password')!;
    assert.match(blocked.reason!, /^the spec changed but restore\.gitops\/rerun did not/);
    assert.equal(await session('broken-restore'), undefined);
  });

  it('a rerun with a changed spec runs the spec now in git, once', async () => {
    const rerun = await cycleUntil(async () => {
      const s = await session('deployment-restore');
      return s?.metadata.annotations?.['restore.gitops/rerun'] === '1' ? s : undefined;
    });
    assert.deepEqual(rerun.spec.target?.rules?.[0]?.include, ['*.json']);
    const done = await finalPhase('deployment-restore');
    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status));
    assert.equal(done.metadata.annotations?.['restore.gitops/rerun'], '1');
    await cycleUntil(async () => {
      const e = (await ledger()).sessions.find((s) => s.name === 'deployment-restore')!.executions.map((x) => x.phase);
      return e.length === 2 && e.every((p) => p === 'Succeeded') ? e : undefined;
    });
    const again = await d.cycle();
    assert.equal(again.applied.filter((a) => a.action.name === 'deployment-restore').length, 0);
  });
});
