// What was reviewed is what runs (issue 15 item 4), through the daemon: it pins `latest` when it
// accepts a restore (the ledger records the id before the RestoreSession exists), the session
// carries the pin to the agent, a backup made between the accept and the run does not change what
// is restored, and the status file, STATUS.md and `restorectl status` show the id, the snapshot
// time and that `latest` moved. The sandbox, the real agent and restic, a real smart-HTTP git server.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { SNAPSHOTS_ANNOTATION } from '../../src/api/meta.ts';
import { parseSnapshotPins } from '../../src/api/snapshot-pins.ts';
import { sinkLogger } from '../../src/common/log.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { pinAnnotation, recordPins, toPin, withPinAnnotations } from '../../src/daemon/executions.ts';
import type { Executions } from '../../src/daemon/executions.ts';
import type { DesiredSet } from '../../src/manifests/desired.ts';
import type { Plan } from '../../src/plan/types.ts';
import { snapshotsText } from '../../src/status/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { GitSource } from '../../src/source/index.ts';
import { StatusWriter, readLedger } from '../../src/status/index.ts';
import { restorectl } from '../support/cli.ts';
import { applyExampleCluster } from '../support/example-cluster.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import { makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const PASSWORD = 'pinned snapshots daemon password';
const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');

/** Every file named `name` under `dir`. */
function findFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory() && !d.isSymbolicLink()) out.push(...findFiles(p, name));
    else if (d.name === name) out.push(p);
  }
  return out;
}

describe('daemon: pins at accept time, as pure steps', () => {
  const A = 'a'.repeat(64);
  const create = (name: string, contentId: string): Plan['actions'][number] => ({
    action: 'create',
    kind: 'RestoreSession',
    namespace: 'demo',
    name,
    file: `${name}.yaml`,
    contentId,
  });
  const accepted = (): Executions =>
    new Map([
      ['c1', { namespace: 'demo', name: 's1', execution: { contentId: 'c1', phase: 'Accepted', acceptedAt: 't' } }],
      ['c2', { namespace: 'demo', name: 's2', execution: { contentId: 'c2', phase: 'Accepted', acceptedAt: 't' } }],
    ]);
  const plan: Plan = { sourceCommit: null, diagnostics: [], actions: [create('s1', 'c1'), create('s2', 'c2')] };
  const looked: Plan = {
    ...plan,
    actions: [
      { ...create('s1', 'c1'), snapshots: { app: [{ requested: 'latest', path: '/data', snapshot: { id: A, shortId: 'aaaaaaaa', time: 't1' } }] } },
      { ...create('s2', 'c2'), snapshots: { 'my-sts-0': [{ requested: 'latest', path: '/data', unresolved: 'no restic repository at /safe/data' }] } },
    ],
  };

  it('records each accepted execution once, resolved or with the reason it was not', () => {
    const executions = accepted();
    const ids = toPin(executions, plan);
    assert.deepEqual([...ids], ['c1', 'c2']);
    assert.equal(recordPins(executions, looked, ids), true);
    assert.deepEqual(executions.get('c1')!.execution.snapshots, { app: [{ requested: 'latest', path: '/data', id: A, time: 't1' }] });
    assert.deepEqual(executions.get('c2')!.execution.snapshots, {
      'my-sts-0': [{ requested: 'latest', path: '/data', unresolved: 'no restic repository at /safe/data' }],
    });
    assert.deepEqual([...toPin(executions, plan)], [], 'never looked up again');
  });

  it('annotates only the sessions with resolved pins, leaving the manifest as written', () => {
    const executions = accepted();
    recordPins(executions, looked, toPin(executions, plan));
    assert.equal(pinAnnotation(executions.get('c2')!.execution), undefined, 'the agent pins an unresolved host');
    const manifest = (name: string) => ({
      file: `${name}.yaml`,
      object: {
        apiVersion: 'stash.appscode.com/v1beta1',
        kind: 'RestoreSession',
        metadata: { name, namespace: 'demo' },
        spec: { target: { rules: [{ paths: ['/data'] }] } },
      },
    });
    const desired = { sessions: [manifest('s1'), manifest('s2')], repositories: [], diagnostics: [] } as unknown as DesiredSet;
    const out = withPinAnnotations(desired, plan, executions);
    assert.deepEqual(out.sessions[0]!.object.metadata.annotations, {
      [SNAPSHOTS_ANNOTATION]: `{"app":[{"requested":"latest","path":"/data","id":"${A}","time":"t1"}]}`,
    });
    assert.equal(out.sessions[1], desired.sessions[1]);
    assert.deepEqual(out.sessions[0]!.object.spec, desired.sessions[0]!.object.spec);
    assert.equal(desired.sessions[0]!.object.metadata.annotations, undefined, 'the desired set itself is not changed');
  });

  it("the status text: each host's snapshot and time from its stat, else its execution's pin or why there is none", () => {
    const executions = [
      { contentId: 'c', phase: 'Running' as const, acceptedAt: 't', snapshots: { 'my-sts-1': [{ requested: 'latest', unresolved: 'no password' }] } },
    ];
    assert.equal(
      snapshotsText({ executions, status: { stats: [{ hostname: 'my-sts-0', phase: 'Running', snapshot: A, snapshotTime: '2024-01-01T00:00:00Z' }] } }),
      'my-sts-0 aaaaaaaa of 2024-01-01T00:00:00Z; my-sts-1 latest not pinned at accept (no password): the agent pins it',
    );
    assert.equal(snapshotsText({ executions: [] }), undefined);
  });
});

describe('daemon: the snapshot pinned at accept time is the one restored (issue #15)', function () {
  this.timeout(300_000);
  let t: TestSandbox;
  let git: Awaited<ReturnType<typeof startGitServer>>;
  let url: string;
  let custom: k8s.CustomObjectsApi;
  let apps: k8s.AppsV1Api;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let d: Daemon;
  let repoPath: string;
  let reviewed: string;
  const logs: string[] = [];

  const session = () =>
    custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name: 'deployment-restore' }).then(
      (s) => s as RestoreSession,
      () => undefined,
    );
  const statusMd = () => git.server.git('restores', ['show', 'restore-status:clusters/demo/STATUS.md']);
  const statusFile = () => parse(git.server.git('restores', ['show', 'restore-status:clusters/demo/demo/deployment-restore.yaml']));
  const ledger = async () => readLedger({ url, cluster: 'demo', cacheDir: join(tmp.path, `ledger-${Math.random().toString(36).slice(2)}`) });
  const scale = (replicas: number) =>
    apps.patchNamespacedDeploymentScale(
      { namespace: 'demo', name: 'stash-demo', body: { spec: { replicas } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('pinned-daemon');
    const seeded = await makeRepo({
      dir: tmp.path,
      password: PASSWORD,
      snapshots: [{ host: 'app', files: { '/source/data/app.json': '{"v":"reviewed"}' }, time: new Date('2024-01-01T00:00:00Z') }],
    });
    repoPath = seeded.repoPath;
    reviewed = seeded.snapshotIds[0]!;
    t = await startSandbox();
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    apps = t.kc.makeApiClient(k8s.AppsV1Api);
    await applyExampleCluster(t, { password: PASSWORD });
    // No pod of the workload runs (so no agent) until the test says so.
    await scale(0);
    git = await startGitServer();
    url = git.server.createRepo('restores');
    const work = new WorkTree(join(tmp.path, 'work'), git.server.repoPath('restores'));
    work
      .write({
        // The demo's Repository: mounted at /safe/data in pods, on the node at its hostPath (here).
        'clusters/demo/repository.yaml': example('repository.yaml').replace('/data/stash-test/restic-repo', repoPath),
        'clusters/demo/deployment-restore.yaml': example('deployment-restore.yaml').replace(/ {2}hooks:\n(?: {4}.*\n)+/, ''),
      })
      .commit('Add the restore');
    work.push();
    d = new Daemon({
      source: new GitSource({ url, branch: 'main', path: 'clusters/demo', cacheDir: join(tmp.path, 'source') }),
      statusWriter: new StatusWriter({ url, cacheDir: join(tmp.path, 'status') }),
      ledger: await ledger(),
      kubeConfig: t.kc,
      cluster: 'demo',
      controller: { agent: { image: t.sandbox.options.agentImage ?? 'ghcr.io/restore-controller/restorectl:0.1.0' }, resyncMs: 500, pollMs: 100 },
      pinSnapshots: {},
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

  it('records the pin in the ledger when it accepts the restore, and hands it to the session as an annotation; the manifest stays as written', async () => {
    const first = await d.cycle();
    assert.ok(
      first.applied.some((a) => a.action.name === 'deployment-restore' && a.ok),
      JSON.stringify(first.applied),
    );
    const execution = (await ledger()).sessions.find((s) => s.name === 'deployment-restore')!.executions.at(-1)!;
    assert.deepEqual(execution.snapshots, { app: [{ requested: 'latest', path: '/source/data', id: reviewed, time: '2024-01-01T00:00:00Z' }] });
    const s = (await session())!;
    const pins = parseSnapshotPins(s.metadata.annotations![SNAPSHOTS_ANNOTATION]!);
    assert.deepEqual(pins, { pins: { app: [{ requested: 'latest', path: '/source/data', id: reviewed, time: '2024-01-01T00:00:00Z' }] } });
    assert.deepEqual(s.spec.target!.rules, [{ paths: ['/source/data'] }], "Stash's rules are untouched");
    assert.ok(
      logs.some((l) => l === 'info pinned 1 of 1 snapshot(s) of demo/deployment-restore'),
      logs.join('\n'),
    );
    assert.match(statusMd(), new RegExp(`- demo/deployment-restore: app ${reviewed.slice(0, 8)} of 2024-01-01T00:00:00Z pinned`));
  });

  it('a backup made between the accept and the run: the agent restores the pinned snapshot, and every status says latest moved', async () => {
    const newer = (
      await makeRepo({
        dir: tmp.path,
        repoPath,
        password: PASSWORD,
        snapshots: [{ host: 'app', files: { '/source/data/app.json': '{"v":"newer"}' }, time: new Date('2024-02-01T00:00:00Z') }],
      })
    ).snapshotIds[0]!;
    await scale(1);
    const done = await eventually(
      async () => {
        await d.cycle();
        const s = await session();
        return s?.status?.phase && ['Succeeded', 'Failed'].includes(s.status.phase) ? s : undefined;
      },
      240_000,
      300,
    );
    const stat = done.status!.stats![0]!;
    assert.equal(done.status!.phase, 'Succeeded', JSON.stringify(done.status));
    assert.deepEqual([stat.snapshot, stat.snapshotTime], [reviewed, '2024-01-01T00:00:00Z']);
    const moved = `latest of host app path /source/data moved after the pin: it is now ${newer.slice(0, 8)} (2024-02-01T00:00:00Z); the pinned ${reviewed.slice(0, 8)} (2024-01-01T00:00:00Z) was restored`;
    assert.equal(stat.latestMoved, moved);
    const restored = findFiles(t.dir, 'app.json').map((f) => readFileSync(f, 'utf8'));
    assert.deepEqual(restored, ['{"v":"reviewed"}'], 'the pinned data, not the newer backup');

    await eventually(async () => {
      await d.cycle();
      return /\| demo\/deployment-restore \| \S+ Succeeded \|/.test(statusMd()) || undefined;
    }, 60_000);
    const file = statusFile();
    assert.equal(file.status.stats[0].snapshot, reviewed);
    assert.equal(file.status.stats[0].snapshotTime, '2024-01-01T00:00:00Z');
    assert.equal(file.status.stats[0].latestMoved, moved);
    assert.equal(file.executions.at(-1).snapshots.app[0].id, reviewed);
    assert.ok(statusMd().includes(`- demo/deployment-restore: app ${reviewed.slice(0, 8)} of 2024-01-01T00:00:00Z (${moved})`), statusMd());
    const cli = await restorectl(['status', '--git-url', url, '--cluster', 'demo']);
    assert.equal(cli.code, 0, cli.stderr);
    assert.ok(cli.stdout.includes(`Snapshots:\n  demo demo/deployment-restore: app ${reviewed.slice(0, 8)} of 2024-01-01T00:00:00Z (${moved})\n`), cli.stdout);
  });
});
