// The daemon end to end on the sandbox, with a real smart-HTTP git server: exactly-once restores
// from git, the ledger on the status branch. The hosts' agents are stood in for by status writes
// (the agent itself is tested in test/agent with real restic).
import { sinkLogger } from '../../src/common/log.ts';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { RestoreSession } from '../../src/api/index.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { GitSource } from '../../src/source/index.ts';
import { StatusWriter, readLedger } from '../../src/status/index.ts';
import { applyExampleCluster } from '../support/example-cluster.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import { startEngine } from '../support/sandbox.ts';
import type { EngineSandbox } from '../support/sandbox.ts';

const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');
const HOSTS = ['my-sts-0', 'my-sts-1', 'my-sts-2', 'my-sts-3', 'my-sts-4'];

describe('daemon: exactly-once restores from git', function () {
  this.timeout(120_000);
  let t: EngineSandbox;
  let git: Awaited<ReturnType<typeof startGitServer>>;
  let work: WorkTree;
  let url: string;
  let custom: k8s.CustomObjectsApi;
  const daemons: Daemon[] = [];
  const logs: string[] = [];

  const newDaemon = async (n: number) => {
    const cacheDir = join(git.tmp, `cache-${n}`);
    const ledger = await readLedger({ url, cluster: 'demo', cacheDir: join(cacheDir, 'ledger') });
    const d = new Daemon({
      source: new GitSource({ url, branch: 'main', path: 'clusters/demo', cacheDir: join(cacheDir, 'source') }),
      statusWriter: new StatusWriter({ url, cacheDir: join(cacheDir, 'status') }),
      ledger,
      kubeConfig: t.controllerKc,
      cluster: 'demo',
      controller: { agent: { image: 'restorectl:test' }, pollMs: 50 },
      log: sinkLogger(({ level, msg }) => logs.push(`${level} ${msg}`)),
    });
    daemons.push(d);
    return d;
  };
  const session = async (name = 'sts-restore') => (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name })) as RestoreSession;
  const exists = async (name = 'sts-restore') =>
    session(name).then(
      () => true,
      () => false,
    );
  /** Stands in for the five agents: every host reports Succeeded. */
  const hostsSucceed = async () => {
    const s = await session();
    await custom.replaceNamespacedCustomObjectStatus({
      ...RESTORE_SESSIONS,
      namespace: 'demo',
      name: 'sts-restore',
      body: { ...s, status: { ...s.status, stats: HOSTS.map((hostname) => ({ hostname, phase: 'Succeeded' })) } },
    });
  };
  const statusLog = () => git.server.git('restores', ['log', '--format=%s', 'restore-status']).trim().split('\n');
  const settle = async (d: Daemon) => {
    await d.controller.resync();
    await d.controller.idle();
  };

  before(async () => {
    t = await startEngine();
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    await applyExampleCluster(t, { password: 'x-not-used' }); // the Repository comes from git
    git = await startGitServer();
    url = git.server.createRepo('restores');
    // The work tree pushes by path: a synchronous push over HTTP to this process would deadlock.
    work = new WorkTree(join(git.tmp, 'work'), git.server.repoPath('restores'));
    work
      .write({ 'clusters/demo/repository.yaml': example('repository.yaml'), 'clusters/demo/sts-restore.yaml': example('sts-restore.yaml') })
      .commit('Add the StatefulSet restore');
    work.push();
  });
  after(async () => {
    for (const d of daemons) d.stop();
    await t?.stop();
    await git?.close();
  });

  it('records Accepted on the status branch, then creates the session with its labels, and follows it to Succeeded', async () => {
    const d = await newDaemon(1);
    const r = await d.cycle();
    assert.ok(r.ok, r.error);
    assert.deepEqual(
      r.applied.map((a) => `${a.action.action} ${a.action.kind}`),
      ['create Repository', 'create RestoreSession'],
    );
    const s = await session();
    assert.equal(s.metadata.labels?.['app.kubernetes.io/managed-by'], 'restore-controller');
    assert.match(s.metadata.annotations?.['restore.gitops/source'] ?? '', new RegExp(`${url}@${work.head()}:clusters/demo/sts-restore.yaml$`));
    assert.match(s.metadata.annotations?.['restore.gitops/content-id'] ?? '', /^[0-9a-f]{16}$/);
    assert.match(statusLog().at(-1)!, /Accepted/);

    await settle(d);
    assert.equal((await session()).status?.phase, 'Running');
    await hostsSucceed();
    await settle(d);
    assert.equal((await session()).status?.phase, 'Succeeded');
    const done = await d.cycle();
    assert.ok(done.statusCommit);
    assert.match(statusLog()[0]!, /demo\/sts-restore .*Succeeded/);
    const ledger = await readLedger({ url, cluster: 'demo', cacheDir: join(git.tmp, 'check') });
    assert.deepEqual(
      [...ledger.executions.values()].map((e) => e.execution.phase),
      ['Succeeded'],
    );
  });

  it('a cycle with nothing new writes nothing: no API write, no commit', async () => {
    const d = daemons[0]!;
    const rv = (await session()).metadata.resourceVersion;
    const commits = statusLog().length;
    const r = await d.cycle();
    assert.equal(r.statusCommit, null);
    assert.equal(r.applied.length, 0);
    assert.equal((await session()).metadata.resourceVersion, rv);
    assert.equal(statusLog().length, commits);
  });

  it('never runs a finished restore again: not after the CR is deleted by hand, not from a restarted daemon', async () => {
    const del = await t.kubectl(['delete', 'restoresession', 'sts-restore', '-n', 'demo', '--wait=false']);
    assert.equal(del.code, 0, del.stderr);
    await settle(daemons[0]!);
    assert.equal(await exists(), false);
    assert.equal((await daemons[0]!.cycle()).applied.length, 0);
    const fresh = await newDaemon(2);
    const r = await fresh.cycle();
    assert.equal(r.applied.length, 0);
    assert.match(r.plan!.actions.find((a) => a.kind === 'RestoreSession')!.reason!, /already ran: Succeeded/);
    assert.equal(await exists(), false);
  });

  it('bumping restore.gitops/rerun runs it exactly once more', async () => {
    work
      .write({
        'clusters/demo/sts-restore.yaml': example('sts-restore.yaml').replace(
          '  namespace: demo\n',
          '  namespace: demo\n  annotations:\n    restore.gitops/rerun: "1"\n',
        ),
      })
      .commit('Run the StatefulSet restore again');
    work.push();
    const d = daemons[1]!;
    const r = await d.cycle();
    assert.deepEqual(
      r.applied.map((a) => `${a.action.action} ${a.action.kind}`),
      ['create RestoreSession'],
    );
    assert.equal(await exists(), true);
    assert.equal((await d.cycle()).applied.length, 0);
  });

  it('a changed spec for an existing restore is blocked, with what to do', async () => {
    work
      .write({
        'clusters/demo/sts-restore.yaml': example('sts-restore.yaml')
          .replace('  namespace: demo\n', '  namespace: demo\n  annotations:\n    restore.gitops/rerun: "1"\n')
          .replace('"*.json"', '"*.yaml"'),
      })
      .commit('Change the include');
    work.push();
    const r = await daemons[1]!.cycle();
    const a = r.plan!.actions.find((x) => x.kind === 'RestoreSession')!;
    assert.equal(a.action, 'blocked');
    assert.match(a.reason!, /immutable: rename the session .* or bump/);
    assert.equal(r.applied.length, 0);
  });

  it('a malformed manifest leaves the other files applied, and its error is listed in STATUS.md', async () => {
    const broken = example('deployment-restore.yaml').replace('name: deployment-restore', 'name: broken-restore').replace('  repository:\n', '  repositry:\n');
    work
      .write({ 'clusters/demo/deployment-restore.yaml': example('deployment-restore.yaml'), 'clusters/demo/broken.yaml': broken })
      .commit('Add a Deployment restore, and a typo');
    work.push();
    const r = await daemons[1]!.cycle();
    assert.deepEqual(
      r.applied.map((a) => `${a.action.action} ${a.action.kind} ${a.action.name}`),
      ['create RestoreSession deployment-restore'],
    );
    assert.equal(await exists('deployment-restore'), true);
    assert.equal(await exists('broken-restore'), false);
    const md = git.server.git('restores', ['show', 'restore-status:clusters/demo/STATUS.md']);
    assert.match(md, /## Problems in the source \(\d+ errors?/);
    assert.match(md, /broken\.yaml:\d+:\d+: error: .*repositry/);
    // Fixed in the next commit: the problem leaves STATUS.md.
    work.remove('clusters/demo/broken.yaml').commit('Drop the typo');
    work.push();
    await daemons[1]!.cycle();
    assert.doesNotMatch(git.server.git('restores', ['show', 'restore-status:clusters/demo/STATUS.md']), /Problems in the source/);
  });

  it('removing a manifest prunes its session once it is final, and the ledger keeps its history', async () => {
    const d = daemons[1]!;
    await settle(d);
    await hostsSucceed();
    await settle(d);
    assert.equal((await session()).status?.phase, 'Succeeded');
    work.remove('clusters/demo/sts-restore.yaml').commit('The StatefulSet restore is done');
    work.push();
    const r = await d.cycle();
    assert.deepEqual(
      r.applied.map((a) => `${a.action.action} ${a.action.kind} ${a.action.name}`),
      ['prune RestoreSession sts-restore'],
    );
    await settle(d);
    assert.equal(await exists(), false);
    const ledger = await readLedger({ url, cluster: 'demo', cacheDir: join(git.tmp, 'check-prune') });
    const sts = [...ledger.executions.values()].filter((e) => e.session.name === 'sts-restore').map((e) => e.execution.phase);
    assert.deepEqual(sts, ['Succeeded', 'Succeeded']);
  });

  it('an empty source is refused: nothing is pruned, and the cycle reports the error', async () => {
    work.remove('clusters/demo').commit('Oops: the whole folder');
    work.push();
    const r = await daemons[1]!.cycle();
    assert.equal(r.applied.length, 0);
    assert.equal(r.ok, false);
    assert.match(r.error!, /the source has 1 error/);
    assert.match(r.plan!.diagnostics.map((x) => x.message).join('\n'), /declares no RestoreSession .* refusing to prune everything .*--allow-empty/);
    assert.equal(await exists('deployment-restore'), true);
  });
});

describe('daemon: a cycle creating many sessions', function () {
  this.timeout(120_000);
  const N = 40;
  let t: EngineSandbox;
  let git: Awaited<ReturnType<typeof startGitServer>>;
  let daemon: Daemon | undefined;

  before(async () => {
    t = await startEngine();
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    git = await startGitServer();
  });
  after(async () => {
    daemon?.stop();
    await daemon?.drain();
    await t?.stop();
    await git?.close();
  });

  it('creates them all before the controller writes any status: its reconciles wait for the creates, then each new session gets one status write', async () => {
    const ns = 'many-new';
    await t.kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
    const url = git.server.createRepo('many');
    const work = new WorkTree(join(git.tmp, 'many-work'), git.server.repoPath('many'));
    const files: Record<string, string> = {};
    // Their Repository's Secret is missing: each new session waits Pending after one reconcile.
    files['clusters/many/repository.yaml'] = example('repository.yaml').replace(/namespace: demo/, `namespace: ${ns}`);
    for (let i = 0; i < N; i++) {
      files[`clusters/many/restore-${i}.yaml`] = example('deployment-restore.yaml')
        .replace(/name: deployment-restore/, `name: restore-${i}`)
        .replace(/namespace: demo/, `namespace: ${ns}`);
    }
    work.write(files).commit('Many restores');
    work.push();

    // Every request of the daemon's client (the Applier's and the controller's), in the order sent.
    const sent: string[] = [];
    const kc = Object.create(t.controllerKc) as k8s.KubeConfig;
    const auth = t.controllerKc.applySecurityAuthentication;
    kc.applySecurityAuthentication = async function (this: k8s.KubeConfig, context) {
      sent.push(`${context.getHttpMethod()} ${new URL(context.getUrl()).pathname}`);
      return auth.call(this, context);
    };
    const cacheDir = join(git.tmp, 'many-cache');
    daemon = new Daemon({
      source: new GitSource({ url, branch: 'main', path: 'clusters/many', cacheDir: join(cacheDir, 'source') }),
      kubeConfig: kc,
      cluster: 'many',
      controller: { agent: { image: 'restorectl:test' }, resyncMs: 3_600_000, namespace: ns },
    });
    await daemon.watch();
    const r = await daemon.cycle();
    assert.ok(r.ok, r.error);
    assert.equal(r.applied.filter((a) => a.ok && a.action.kind === 'RestoreSession' && a.action.action === 'create').length, N);
    await daemon.controller.idle();

    const creates = sent.flatMap((s, i) => (/^POST .*\/restoresessions$/.test(s) ? [i] : []));
    const statusWrites = sent.flatMap((s, i) => (/^PUT .*\/restoresessions\/[^/]+\/status$/.test(s) ? [i] : []));
    assert.equal(creates.length, N);
    assert.equal(statusWrites.length, N, `one status write per new session: ${statusWrites.length} for ${N}`);
    const overlapping = statusWrites.filter((i) => i < creates.at(-1)!).length;
    assert.equal(overlapping, 0, `${overlapping} status writes went out among the creates`);
    const phases = (await t.kc.makeApiClient(k8s.CustomObjectsApi).listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: ns })) as {
      items: RestoreSession[];
    };
    assert.deepEqual(new Set(phases.items.map((s) => s.status?.phase)), new Set(['Pending']));
  });
});
