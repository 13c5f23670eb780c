// What was reviewed is what runs (issue 15 item 4): the agent restores the snapshot its session
// was pinned to, and says when `latest` moved since. `restorectl agent restore` as a process,
// the sandbox API over HTTP, a real restic repository, and a restic wrapper that records, at the
// moment each `restic restore` starts, which snapshot the host's stat already names.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { SNAPSHOTS_ANNOTATION } from '../../src/api/meta.ts';
import { formatSnapshotPins } from '../../src/api/snapshot-pins.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { whichExecutable } from '@restore-controller/devkit/seed';
import { restorectl } from '../support/cli.ts';
import { makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const PASSWORD = 'pinned snapshots test password';
const example = (name: string) => parse(readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8'));

describe('agent: restores the pinned snapshot, not a latest resolved anew', function () {
  this.timeout(180_000);
  let t: TestSandbox;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let repoPath: string;
  /** The snapshot reviewed (what the plan pinned), and one made after it, before the run. */
  let reviewed: string;
  let newer: string;
  let custom: k8s.CustomObjectsApi;
  let wrapperDir: string;
  let restoreLog: string;

  const apply = async (obj: object) => {
    const r = await t.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], stringify(obj));
    assert.equal(r.code, 0, r.stderr);
  };
  const session = async (name: string) => (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name })) as RestoreSession;
  /** The Deployment example (one host, `app`, latest of /source/data), with the status the controller would give it. */
  const createSession = async (name: string, annotations: Record<string, string> = {}, status: RestoreSession['status'] = {}) => {
    const s = example('deployment-restore.yaml');
    s.metadata.name = name;
    s.metadata.annotations = annotations;
    delete s.spec.hooks;
    await apply(s);
    const got = await session(name);
    await custom.replaceNamespacedCustomObjectStatus({
      ...RESTORE_SESSIONS,
      namespace: 'demo',
      name,
      body: { ...got, status: { phase: 'Running', totalHosts: 1, ...status } },
    });
  };
  const podRoot = (name: string) => {
    const root = join(tmp.path, 'pods', name);
    mkdirSync(join(root, 'safe'), { recursive: true });
    if (!existsSync(join(root, 'safe', 'data'))) symlinkSync(repoPath, join(root, 'safe', 'data'));
    return root;
  };
  const agent = (name: string, pod: string) =>
    restorectl(['agent', 'restore', '--session', `demo/${name}`, '--host-from', 'pod', '--root', podRoot(pod), '--kubeconfig', t.kubeconfigPath], {
      env: { POD_NAME: pod, SESSION: name, PATH: `${wrapperDir}:${process.env.PATH}` },
    });
  const restoredApp = (pod: string) => readFileSync(join(podRoot(pod), 'source/data/app.json'), 'utf8');
  /** `<session> <snapshot in the stat when restore started> restore <args>` per restic restore run. */
  const restores = (name: string) =>
    existsSync(restoreLog)
      ? readFileSync(restoreLog, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith(`${name} `))
      : [];

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('pinned-snapshots');
    const seeded = await makeRepo({
      dir: tmp.path,
      password: PASSWORD,
      snapshots: [{ host: 'app', files: { '/source/data/app.json': '{"v":"reviewed"}' }, time: new Date('2024-01-01T00:00:00Z') }],
    });
    repoPath = seeded.repoPath;
    reviewed = seeded.snapshotIds[0]!;
    t = await startSandbox();
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } });
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'local-repo-secret', namespace: 'demo' }, stringData: { RESTIC_PASSWORD: PASSWORD } });
    await apply(example('repository.yaml'));
    // A backup made after the plan was reviewed, before the restore runs: `latest` moves.
    newer = (
      await makeRepo({
        dir: tmp.path,
        repoPath,
        password: PASSWORD,
        snapshots: [{ host: 'app', files: { '/source/data/app.json': '{"v":"newer"}' }, time: new Date('2024-02-01T00:00:00Z') }],
      })
    ).snapshotIds[0]!;
    // restic, wrapped: each `restore` first logs the snapshot the host's stat names at that moment
    // (and waits while a file hold-<session> exists); each `ls` touches ls-done-<session> as it ends.
    const real = await whichExecutable('restic');
    wrapperDir = join(tmp.path, 'bin');
    restoreLog = join(tmp.path, 'restores.log');
    mkdirSync(wrapperDir);
    const kubectl = `kubectl --kubeconfig '${t.kubeconfigPath}' -n demo get restoresession "$SESSION" -o 'jsonpath={.status.stats[0].snapshot}'`;
    writeFileSync(
      join(wrapperDir, 'restic'),
      `#!/bin/sh\nif [ "$1" = restore ]; then echo "$SESSION $(${kubectl}) $*" >> '${restoreLog}'; while [ -f "${tmp.path}/hold-$SESSION" ]; do sleep 0.05; done; fi\nif [ "$1" = ls ]; then '${real}' "$@"; rc=$?; touch "${tmp.path}/ls-done-$SESSION"; exit $rc; fi\nexec '${real}' "$@"\n`,
    );
    chmodSync(join(wrapperDir, 'restic'), 0o755);
  });
  after(async () => {
    await t?.stop();
    await tmp?.cleanup();
  });

  const pinReviewed = () => ({
    [SNAPSHOTS_ANNOTATION]: formatSnapshotPins({ app: [{ requested: 'latest', path: '/source/data', id: reviewed, time: '2024-01-01T00:00:00Z' }] }),
  });

  it('pinned by the daemon: restores the reviewed snapshot though a newer one exists, and its stat says latest moved', async () => {
    await createSession('pinned', pinReviewed());
    const r = await agent('pinned', 'stash-demo-pinned');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(restoredApp('stash-demo-pinned'), '{"v":"reviewed"}');
    const stat = (await session('pinned')).status!.stats![0]!;
    assert.equal(stat.phase, 'Succeeded');
    assert.equal(stat.snapshot, reviewed);
    assert.equal(stat.snapshotTime, '2024-01-01T00:00:00Z');
    assert.equal(
      stat.latestMoved,
      `latest of host app path /source/data moved after the pin: it is now ${newer.slice(0, 8)} (2024-02-01T00:00:00Z); the pinned ${reviewed.slice(0, 8)} (2024-01-01T00:00:00Z) was restored`,
    );
    const runs = restores('pinned');
    assert.equal(runs.length, 1);
    assert.match(runs[0]!, new RegExp(`^pinned ${reviewed} restore ${reviewed} `), 'restic restores the pinned id, recorded before it ran');
  });

  it('not pinned: restic restore latest starts at once, and the agent records the id, time and total of what it restored', async () => {
    await createSession('unpinned');
    const r = await agent('unpinned', 'stash-demo-unpinned');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(restoredApp('stash-demo-unpinned'), '{"v":"newer"}');
    const stat = (await session('unpinned')).status!.stats![0]!;
    assert.deepEqual([stat.snapshot, stat.snapshotTime, stat.latestMoved], [newer, '2024-02-01T00:00:00Z', undefined]);
    const total = Buffer.byteLength('{"v":"newer"}');
    assert.deepEqual(stat.progress, { bytesDone: total, bytesTotal: total, filesDone: 1, filesTotal: 1 });
    // restic resolves latest itself (no listing before it): no stat names a snapshot yet when it starts
    assert.match(restores('unpinned')[0]!, /^unpinned {2}restore latest --path \/source\/data --host app /);
  });

  it('not pinned, a backup made as the restore starts: the stat records the snapshot restic restored, not the one listed beside it', async () => {
    await createSession('raced');
    const hold = join(tmp.path, 'hold-raced');
    writeFileSync(hold, '');
    const running = agent('raced', 'stash-demo-raced');
    // the wrapper holds restic restore while the hold file exists; the listing beside it lists the older latest and ends
    for (let i = 0; restores('raced').length === 0; i++) {
      assert.ok(i < 600, 'restic restore did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; !existsSync(join(tmp.path, 'ls-done-raced')); i++) {
      assert.ok(i < 600, 'the listing beside the restore did not end');
      await new Promise((r) => setTimeout(r, 50));
    }
    const newest = (
      await makeRepo({
        dir: tmp.path,
        repoPath,
        password: PASSWORD,
        snapshots: [{ host: 'app', files: { '/source/data/app.json': '{"v":"newest!"}' }, time: new Date('2024-03-01T00:00:00Z') }],
      })
    ).snapshotIds[0]!;
    rmSync(hold);
    const r = await running;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(restoredApp('stash-demo-raced'), '{"v":"newest!"}');
    const stat = (await session('raced')).status!.stats![0]!;
    assert.deepEqual([stat.phase, stat.snapshot, stat.snapshotTime], ['Succeeded', newest, '2024-03-01T00:00:00Z']);
    const total = Buffer.byteLength('{"v":"newest!"}');
    assert.deepEqual([stat.progress?.bytesTotal, stat.progress?.filesTotal], [total, 1], 'the total of what was restored');
    assert.match(r.stdout + r.stderr, new RegExp(`latest moved as restic restore started: it restores ${newest.slice(0, 8)}, not ${newer.slice(0, 8)}`));
  });

  it('a restarted pod restores what the earlier run pinned and recorded, not the latest of now', async () => {
    // The earlier run recorded its pin (the reviewed snapshot, then latest) and was killed while restoring.
    await createSession('restarted', {}, { stats: [{ hostname: 'app', phase: 'Running', snapshot: reviewed, snapshotTime: '2024-01-01T00:00:00Z' }] });
    const r = await agent('restarted', 'stash-demo-restarted');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(restoredApp('stash-demo-restarted'), '{"v":"reviewed"}');
    const stat = (await session('restarted')).status!.stats![0]!;
    assert.deepEqual([stat.phase, stat.snapshot, stat.snapshotTime], ['Succeeded', reviewed, '2024-01-01T00:00:00Z']);
  });

  it('an annotation that does not fit the rule fails the host, naming it, and restores nothing', async () => {
    await createSession('bad-pin', {
      [SNAPSHOTS_ANNOTATION]: formatSnapshotPins({ app: [{ requested: reviewed, id: reviewed }] }),
    });
    const r = await agent('bad-pin', 'stash-demo-bad-pin');
    assert.equal(r.code, 1);
    const stat = (await session('bad-pin')).status!.stats![0]!;
    assert.equal(stat.phase, 'Failed');
    assert.match(stat.error!, /annotation restore\.gitops\/snapshots pins host app to 1 step\(s\) that are not its rule's 1/);
    assert.deepEqual(restores('bad-pin'), []);
  });
});
