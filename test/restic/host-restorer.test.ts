// The agent's HostRestorer implemented with restic, on the Stash StatefulSet example.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostRestorer } from '../../src/agent/restorer.ts';
import type { Repository } from '../../src/api/repository.ts';
import type { HostProgress, RestoreSession } from '../../src/api/restoresession.ts';
import type { HostPlan } from '../../src/hosts/types.ts';
import { ResticHostRestorer } from '../../src/restic/host-restorer.ts';
import type { ResticHostJob } from '../../src/restic/host-restorer.ts';
import { listTree, makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';

const PASSWORD = 'host-restorer-pw';
const D = '/source/data';

const session = (over: Partial<RestoreSession['spec']> = {}): RestoreSession => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: { name: 'sts-restore', namespace: 'demo' },
  spec: { repository: { name: 'local-repo' }, target: { ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'recovered-statefulset' } }, ...over },
});

const repository: Repository = {
  apiVersion: 'stash.appscode.com/v1alpha1',
  kind: 'Repository',
  metadata: { name: 'local-repo', namespace: 'demo' },
  spec: { backend: { storageSecretName: 'local-secret', local: { mountPath: '/safe/data', subPath: 'repo' } } },
};

describe('restic host restorer (the agent’s HostRestorer)', function () {
  this.timeout(60_000);
  let work: { path: string; cleanup: () => Promise<void> };
  let ids: string[];
  let n = 0;
  const own = (host: string) => ({
    [`${D}/${host}.json`]: `{"host":"${host}"}`,
    [`${D}/tmp.json`]: 'tmp',
    [`${D}/log.txt`]: 'log',
    [`${D}/sub dir/ü.bin`]: `bin ${host}`,
  });

  before(async function () {
    await requireSeeding(this);
    work = await tempDir('host-restorer');
    // the repository sits where the Repository's local volume is mounted in the sandbox pod folder
    ids = (
      await makeRepo({
        dir: work.path,
        repoPath: join(work.path, 'safe/data/repo'),
        password: PASSWORD,
        snapshots: ['my-sts-0', 'my-sts-1', 'my-sts-2'].map((host) => ({ host, files: own(host) })),
      })
    ).snapshotIds;
  });
  after(async () => work?.cleanup());

  const job = (plan: HostPlan, over: Partial<ResticHostJob> = {}) => {
    const root = join(work.path, `pod-${n++}`);
    const seen: HostProgress[] = [];
    const j: ResticHostJob = {
      session: session(),
      repository,
      secret: { RESTIC_PASSWORD: PASSWORD },
      plan,
      root,
      scratchDir: join(root, 'tmp/stash'),
      signal: new AbortController().signal,
      onProgress: (p) => seen.push(p),
      ...over,
    };
    return { j, seen, root };
  };
  // the local backend's mountPath lives in the work folder, not in each pod folder
  const restorer = new ResticHostRestorer({ mapLocalPath: (p) => join(work.path, p), progressIntervalMs: 20 });

  it('satisfies the agent’s HostRestorer interface', () => {
    const r: HostRestorer = restorer;
    assert.ok(r);
  });

  it('host my-sts-3 gets my-sts-1’s *.json (totals measured before: the first progress has them)', async () => {
    const { j, seen, root } = job({ host: 'my-sts-3', sourceHost: 'my-sts-1', paths: [D], include: ['*.json'], restores: true });
    const out = await new ResticHostRestorer({ mapLocalPath: (p) => join(work.path, p), totals: 'before' }).restore(j);
    assert.deepEqual(out.snapshots, [ids[1]]);
    const files = (await listTree(root)).filter((p) => p.startsWith(D) && !p.endsWith('/'));
    assert.deepEqual(files, [`${D}/my-sts-1.json`, `${D}/tmp.json`]);
    const bytes = Buffer.byteLength('{"host":"my-sts-1"}') + Buffer.byteLength('tmp');
    assert.deepEqual(out.progress, { bytesDone: bytes, bytesTotal: bytes, filesDone: 2, filesTotal: 2 });
    // the total is measured beside the restore, so it may join the progress after the start
    assert.equal(seen[0]!.bytesDone, 0);
    for (const p of seen.filter((x) => x.bytesTotal !== undefined)) assert.deepEqual([p.bytesTotal, p.filesTotal], [bytes, 2]);
  });

  it('host my-sts-2 gets its own files minus tmp.json and *.txt; names with spaces and non-ASCII survive', async () => {
    const { j, root } = job({ host: 'my-sts-2', sourceHost: 'my-sts-2', paths: [D], exclude: ['tmp.json', '*.txt'], restores: true });
    const out = await restorer.restore(j);
    assert.deepEqual(out.snapshots, [ids[2]]);
    const bytes = Buffer.byteLength('{"host":"my-sts-2"}') + Buffer.byteLength('bin my-sts-2');
    assert.deepEqual(out.progress, { bytesDone: bytes, bytesTotal: bytes, filesDone: 2, filesTotal: 2 }, 'the total measured alongside is in the result');
    const files = (await listTree(root)).filter((p) => p.startsWith(D) && !p.endsWith('/'));
    assert.deepEqual(files, [`${D}/my-sts-2.json`, `${D}/sub dir/ü.bin`]);
    assert.equal(await readFile(join(root, D, 'sub dir/ü.bin'), 'utf8'), 'bin my-sts-2');
  });

  it('several snapshots run in order and progress adds up', async () => {
    const { j, seen } = job({ host: 'x', sourceHost: 'my-sts-0', snapshots: [ids[0]!, 'latest'], restores: true });
    const out = await restorer.restore(j);
    assert.deepEqual(out.snapshots, [ids[0], ids[0]], 'latest of my-sts-0 is its only snapshot');
    const one = Object.values(own('my-sts-0')).reduce((s, c) => s + Buffer.byteLength(c), 0);
    assert.equal(out.progress.bytesTotal, 2 * one);
    assert.equal(out.progress.bytesDone, 2 * one);
    const done = seen.map((p) => p.bytesDone ?? 0);
    assert.deepEqual(
      done,
      [...done].sort((a, b) => a - b),
    );
  });

  it('uses the session’s tempDir, nice/ionice and target.args', async () => {
    const { j, root } = job(
      { host: 'my-sts-0', sourceHost: 'my-sts-0', paths: [D], restores: true },
      {
        session: session({
          tempDir: { disableCaching: true },
          runtimeSettings: { container: { nice: { adjustment: 5 }, ionice: { class: 2, classData: 4 } } },
          target: { args: ['--verify'] },
        }),
      },
    );
    const out = await restorer.restore(j);
    assert.deepEqual(out.snapshots, [ids[0]]);
    assert.equal(
      (await listTree(root)).some((p) => p.includes('restic-cache')),
      false,
      'no cache with disableCaching',
    );
  });

  it('a wrong password fails with a message that is safe to show', async () => {
    const wrong = 'not-the-password-123';
    const { j } = job({ host: 'my-sts-0', sourceHost: 'my-sts-0', paths: [D], restores: true }, { secret: { RESTIC_PASSWORD: wrong } });
    await assert.rejects(restorer.restore(j), (e: Error & { code: string }) => {
      assert.equal(e.code, 'ResticFailed');
      assert.match(e.message, /wrong password or no key found/);
      assert.ok(!e.message.includes(wrong));
      return true;
    });
  });

  it('a missing RESTIC_PASSWORD names the key and the Secret', async () => {
    const { j } = job({ host: 'my-sts-0', sourceHost: 'my-sts-0', paths: [D], restores: true }, { secret: {} });
    await assert.rejects(restorer.restore(j), { code: 'SecretKeyMissing', message: /local-secret has no RESTIC_PASSWORD/ });
  });

  it('an aborted job is Interrupted', async () => {
    const ac = new AbortController();
    ac.abort();
    const { j } = job({ host: 'my-sts-0', sourceHost: 'my-sts-0', paths: [D], restores: true }, { signal: ac.signal });
    await assert.rejects(restorer.restore(j), { code: 'Interrupted' });
  });
});
