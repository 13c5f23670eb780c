// The agent's HostRestorer implemented with restic, on the Stash StatefulSet example.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostRestorer } from '../../src/agent/restorer.ts';
import type { Repository } from '../../src/api/repository.ts';
import type { HostProgress, RestoreSession } from '../../src/api/restoresession.ts';
import type { HostPlan } from '../../src/hosts/types.ts';
import { sinkLogger } from '../../src/common/log.ts';
import { ResticHostRestorer, restoresAtOnce } from '../../src/restic/host-restorer.ts';
import type { ResticHostJob, SnapshotPinned } from '../../src/restic/host-restorer.ts';
import { whichExecutable } from '@restore-controller/devkit/seed';
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

  describe('an unpinned latest restores at once (restic restore resolves it beside the listing)', () => {
    /**
     * restic wrapped, in `dir`: each command line goes to `calls.log`; `restore` touches
     * `restore-started`, then waits for a `go` file when `holdRestore`; `ls` waits (at most 10 s)
     * for `restore-started` when `holdLs`, and touches `ls-done` when it ends.
     */
    const wrapper = async (dir: string, opts: { holdLs?: boolean; holdRestore?: boolean }) => {
      const real = await whichExecutable('restic');
      await mkdir(dir, { recursive: true });
      const f = (name: string) => `'${join(dir, name)}'`;
      const wait = (file: string, tries: number) => `i=0; while [ ! -f ${f(file)} ] && [ $i -lt ${tries} ]; do sleep 0.05; i=$((i+1)); done`;
      const script = [
        '#!/bin/sh',
        `echo "$*" >> ${f('calls.log')}`,
        'case "$1" in',
        `  restore) touch ${f('restore-started')}; ${opts.holdRestore ? wait('go', 600) : ':'}; exec '${real}' "$@";;`,
        `  ls) ${opts.holdLs ? wait('restore-started', 200) : ':'}; '${real}' "$@"; rc=$?; touch ${f('ls-done')}; exit $rc;;`,
        'esac',
        `exec '${real}' "$@"`,
      ].join('\n');
      writeFileSync(join(dir, 'restic'), `${script}\n`);
      chmodSync(join(dir, 'restic'), 0o755);
      return {
        restic: join(dir, 'restic'),
        calls: () => (existsSync(join(dir, 'calls.log')) ? readFileSync(join(dir, 'calls.log'), 'utf8').trim().split('\n') : []),
        touch: (name: string) => writeFileSync(join(dir, name), ''),
        exists: (name: string) => existsSync(join(dir, name)),
      };
    };

    it('restic restore latest starts before the listing names the snapshot; the pin, the outcome and the total are that snapshot', async () => {
      const w = await wrapper(join(work.path, 'wrap-at-once'), { holdLs: true });
      const pinned: SnapshotPinned[][] = [];
      const { j, seen, root } = job({ host: 'my-sts-0', sourceHost: 'my-sts-0', paths: [D], restores: true }, { onPinned: async (p) => void pinned.push(p) });
      const out = await new ResticHostRestorer({ restic: w.restic, mapLocalPath: (p) => join(work.path, p), progressIntervalMs: 20 }).restore(j);
      const restores = w.calls().filter((c) => c.startsWith('restore '));
      assert.equal(restores.length, 1);
      assert.match(restores[0]!, new RegExp(`^restore latest --path ${D} --host my-sts-0 `), 'restic resolves latest itself, with the same filters');
      const lsCalls = w.calls().filter((c) => c.startsWith('ls '));
      assert.equal(lsCalls.length, 1, 'one listing: restore and listing agreed');
      assert.deepEqual(out.snapshots, [ids[0]], 'the full id');
      assert.equal(pinned.length, 1);
      assert.deepEqual(
        pinned[0]!.map((p) => [p.requested, p.path, p.id, p.by]),
        [['latest', D, ids[0], 'agent']],
      );
      assert.match(pinned[0]![0]!.time!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.deepEqual(out.pins, pinned[0]);
      const bytes = Object.values(own('my-sts-0')).reduce((n, c) => n + Buffer.byteLength(c), 0);
      assert.deepEqual(out.progress, { bytesDone: bytes, bytesTotal: bytes, filesDone: 4, filesTotal: 4 });
      for (const p of seen.filter((x) => x.bytesTotal !== undefined)) assert.equal(p.bytesTotal, bytes);
      assert.equal(await readFile(join(root, D, 'my-sts-0.json'), 'utf8'), '{"host":"my-sts-0"}');
    });

    it('a backup landing between the listing and restic restore: the snapshot restore restored is pinned, recorded and counted', async () => {
      const repoPath = join(work.path, 'safe/data/race-repo');
      const older = (
        await makeRepo({
          dir: work.path,
          repoPath,
          password: PASSWORD,
          snapshots: [{ host: 'race', files: { [`${D}/v.json`]: '{"v":"older"}' }, time: new Date('2024-01-01T00:00:00Z') }],
        })
      ).snapshotIds[0]!;
      const w = await wrapper(join(work.path, 'wrap-race'), { holdRestore: true });
      const pinned: SnapshotPinned[][] = [];
      const logged: string[] = [];
      const { j, seen, root } = job(
        { host: 'race', sourceHost: 'race', paths: [D], restores: true },
        {
          repository: { ...repository, spec: { backend: { ...repository.spec.backend, local: { mountPath: '/safe/data', subPath: 'race-repo' } } } },
          onPinned: async (p) => void pinned.push(p),
          log: sinkLogger((r) => logged.push(r.msg), { level: 'debug' }),
        },
      );
      const running = new ResticHostRestorer({ restic: w.restic, mapLocalPath: (p) => join(work.path, p), progressIntervalMs: 20 }).restore(j);
      running.catch(() => undefined);
      // the listing has resolved latest (older) and ended; restic restore waits: a backup lands now
      for (let i = 0; !w.exists('ls-done'); i++) {
        assert.ok(i < 600, 'the listing did not end');
        await new Promise((r) => setTimeout(r, 50));
      }
      const newerContent = '{"v":"newer, and longer"}';
      const newer = (
        await makeRepo({
          dir: work.path,
          repoPath,
          password: PASSWORD,
          snapshots: [{ host: 'race', files: { [`${D}/v.json`]: newerContent }, time: new Date('2024-02-01T00:00:00Z') }],
        })
      ).snapshotIds[0]!;
      w.touch('go');
      const out = await running;
      assert.notEqual(older, newer);
      assert.match(w.calls().find((c) => c.startsWith('restore '))!, /^restore latest /);
      assert.equal(await readFile(join(root, D, 'v.json'), 'utf8'), newerContent, 'restic restored the newer snapshot');
      assert.deepEqual(out.snapshots, [newer], 'the outcome names what was restored');
      assert.deepEqual(
        pinned.map((ps) => ps.map((p) => [p.id, p.time])),
        [[[newer, '2024-02-01T00:00:00Z']]],
        'the one pin recorded is what was restored, never the listing’s older',
      );
      assert.deepEqual(
        out.pins?.map((p) => [p.id, p.time]),
        [[newer, '2024-02-01T00:00:00Z']],
      );
      const bytes = Buffer.byteLength(newerContent);
      assert.deepEqual(out.progress, { bytesDone: bytes, bytesTotal: bytes, filesDone: 1, filesTotal: 1 }, 'the total is the restored snapshot’s');
      for (const p of seen.filter((x) => x.bytesTotal !== undefined)) assert.equal(p.bytesTotal, bytes, 'never the older snapshot’s total');
      assert.ok(
        w.calls().some((c) => c.startsWith(`ls --json ${newer.slice(0, 8)} `)),
        'the restored snapshot is listed for its full id and total',
      );
      assert.ok(logged.some((m) => m.includes(`latest moved as restic restore started: it restores ${newer.slice(0, 8)}, not ${older.slice(0, 8)}`)));
    });

    it('restores at once only an unpinned latest first step that restic will name (no --quiet)', () => {
      const s = (args?: string[]) => session(args ? { target: { ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'x' }, args } } : {});
      assert.equal(restoresAtOnce([{ snapshot: 'latest' }], { session: s() }), true);
      assert.equal(restoresAtOnce([{ snapshot: 'latest' }], { session: s(), pins: [{ id: ids[0]!, by: 'daemon' }] }), false, 'pinned already');
      assert.equal(restoresAtOnce([{ snapshot: ids[0]! }, { snapshot: 'latest' }], { session: s() }), false, 'the first step names its id');
      assert.equal(restoresAtOnce([], { session: s() }), false);
      for (const q of ['--quiet', '-q', '--quiet=true', '-vq']) assert.equal(restoresAtOnce([{ snapshot: 'latest' }], { session: s([q]) }), false, q);
      assert.equal(restoresAtOnce([{ snapshot: 'latest' }], { session: s(['--verify']) }), true);
    });
  });
});
