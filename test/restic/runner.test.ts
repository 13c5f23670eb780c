// The runner against real repositories: latest and named snapshots, totals and progress, wrong
// password, names with spaces and non-ASCII, abort.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sinkLogger } from '../../src/common/log.ts';
import type { Fields, Logger } from '../../src/common/log.ts';
import { resticBackend } from '../../src/restic/backend.ts';
import { restoreSteps } from '../../src/restic/commands.ts';
import type { CommandContext } from '../../src/restic/commands.ts';
import { ResticRunner, restoringSnapshot } from '../../src/restic/runner.ts';
import type { RestoreProgress } from '../../src/restic/runner.ts';
import { listTree, makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';

const PASSWORD = 'runner-test-Pa55word';
const D = '/source/data';

describe('restic runner against real repositories', function () {
  this.timeout(60_000);
  let work: { path: string; cleanup: () => Promise<void> };
  let repoPath: string;
  let ids: string[];
  let bigRepo: string;
  let n = 0;

  const older = { [`${D}/a.json`]: '{"v":1}', [`${D}/notes.txt`]: 'old notes' };
  const newer: Record<string, string> = {
    [`${D}/a.json`]: '{"v":2}',
    [`${D}/tmp.json`]: '{"tmp":true}',
    [`${D}/notes.txt`]: 'new notes',
    [`${D}/with space/file one.txt`]: 'spaces',
    [`${D}/ünïcödé/日本 語.json`]: '{"jp":"日本"}',
  };

  before(async function () {
    await requireSeeding(this);
    work = await tempDir('runner-test');
    const seeded = await makeRepo({
      dir: work.path,
      password: PASSWORD,
      snapshots: [
        { host: 'my-sts-1', files: older, time: new Date('2026-01-01T00:00:00Z') },
        { host: 'my-sts-1', files: newer, time: new Date('2026-02-01T00:00:00Z') },
        { host: 'my-sts-0', files: { [`${D}/zero.json`]: '0' }, time: new Date('2026-03-01T00:00:00Z') },
      ],
    });
    repoPath = seeded.repoPath;
    ids = seeded.snapshotIds;
    const big: Record<string, Uint8Array> = {};
    for (let i = 0; i < 120; i++) big[`${D}/d${i % 6}/f${i}.bin`] = randomBytes(512 * 1024);
    bigRepo = (await makeRepo({ dir: join(work.path, 'big'), password: PASSWORD, snapshots: [{ host: 'big', files: big }] })).repoPath;
  });
  after(async () => work?.cleanup());

  const runner = (opts: { password?: string; repo?: string; ctx?: Partial<CommandContext>; log?: Logger } = {}) => {
    const scratch = join(work.path, `scratch-${n}`);
    const backend = resticBackend({ local: { mountPath: opts.repo ?? repoPath } }, { RESTIC_PASSWORD: opts.password ?? PASSWORD }, { scratchDir: scratch });
    return new ResticRunner({
      ctx: { scratchDir: scratch, backendArgs: backend.globalArgs, ...opts.ctx },
      env: backend.env,
      secrets: backend.secrets,
      ...(opts.log ? { log: opts.log } : {}),
    });
  };
  const target = () => join(work.path, `target-${n++}`);

  it('restores latest of the source host for a path, reporting the resolved snapshot and the total', async () => {
    const r = runner();
    const root = target();
    const [step] = restoreSteps({ host: 'my-sts-3', rule: { sourceHost: 'my-sts-1', paths: [D] }, target: root }, r.ctx);
    const seen: RestoreProgress[] = [];
    const res = await r.restore(step!, { onProgress: (p) => seen.push(p) });
    assert.equal(res.outcome, 'Succeeded', res.error);
    assert.equal(res.snapshot, ids[1], 'latest of my-sts-1 is its newer snapshot, not my-sts-0’s newest');
    const bytes = Object.values(newer).reduce((s, c) => s + Buffer.byteLength(c), 0);
    assert.deepEqual(res.progress, { bytesTotal: bytes, bytesDone: bytes, filesTotal: 5, filesDone: 5 });
    assert.deepEqual(seen.at(-1), res.progress);
    assert.deepEqual(
      (await listTree(root)).filter((p) => !p.endsWith('/')),
      Object.keys(newer).sort(),
    );
    assert.equal(await readFile(join(root, D, 'ünïcödé/日本 語.json'), 'utf8'), '{"jp":"日本"}');
    assert.equal(await readFile(join(root, D, 'with space/file one.txt'), 'utf8'), 'spaces');
  });

  it('restores a named snapshot', async () => {
    const r = runner();
    const root = target();
    const [step] = restoreSteps({ host: 'my-sts-1', rule: { snapshots: [ids[0]!] }, target: root }, r.ctx);
    const res = await r.restore(step!);
    assert.equal(res.outcome, 'Succeeded', res.error);
    assert.equal(res.snapshot, ids[0]);
    assert.equal(await readFile(join(root, D, 'a.json'), 'utf8'), '{"v":1}');
  });

  it('restic restore latest names the snapshot it restores (short id) before it writes', async () => {
    const r = runner();
    const root = target();
    const [step] = restoreSteps({ host: 'x', rule: { sourceHost: 'my-sts-1', paths: [D] }, target: root }, r.ctx);
    const named: string[] = [];
    // restored as restic runs it, `latest` resolved by restic itself
    const res = await r.restore({ step: step!, snapshot: step!.snapshot }, { onRestoring: (id) => named.push(id) });
    assert.equal(res.outcome, 'Succeeded', res.error);
    assert.deepEqual(named, [ids[1]!.slice(0, 8)]);
    assert.equal(res.named, ids[1]!.slice(0, 8));
    assert.equal(await readFile(join(root, D, 'a.json'), 'utf8'), '{"v":2}');
  });

  it('reads the snapshot restic restore names from its line (0.14 and later wording), nothing from other lines', () => {
    assert.equal(restoringSnapshot('restoring <Snapshot a3c83e68 of [/tmp/src] at 2026-12-01 18:09:55.33 +0000 UTC by root@h1> to /t'), 'a3c83e68');
    assert.equal(restoringSnapshot('restoring snapshot a3c83e68 of [/tmp/src] at 2026-12-01 18:09:55 by root@h1 to /t'), 'a3c83e68');
    assert.equal(restoringSnapshot('Summary: Restored 3 files'), undefined);
    assert.equal(restoringSnapshot('restoring <Snapshot zzzzzzzz of [/x]> to /t'), undefined);
  });

  it('latest in snapshots is resolved for the source host', async () => {
    const r = runner();
    const [step] = restoreSteps({ host: 'x', rule: { sourceHost: 'my-sts-1', snapshots: ['latest'] }, target: target() }, r.ctx);
    const res = await r.restore(step!, { total: 'stats' });
    assert.equal(res.outcome, 'Succeeded', res.error);
    assert.equal(res.snapshot, ids[1]);
  });

  it('counts only what include/exclude select in the total, and restic writes exactly that', async () => {
    const r = runner();
    const root = target();
    const [step] = restoreSteps({ host: 'my-sts-0', rule: { sourceHost: 'my-sts-1', paths: [D], exclude: ['tmp.json', '*.txt'] }, target: root }, r.ctx);
    const res = await r.restore(step!);
    assert.equal(res.outcome, 'Succeeded', res.error);
    const kept = [`${D}/a.json`, `${D}/ünïcödé/日本 語.json`];
    assert.deepEqual(
      (await listTree(root)).filter((p) => !p.endsWith('/')),
      kept.sort(),
    );
    assert.equal(
      res.progress.bytesTotal,
      kept.reduce((s, k) => s + Buffer.byteLength(newer[k]!), 0),
    );
    assert.equal(res.progress.filesTotal, 2);
    const stats = await r.snapshotSize(ids[1]!);
    assert.ok(stats.bytes > res.progress.bytesTotal!, 'restic stats counts the whole snapshot');
  });

  it('a wrong password fails with a clear message and never shows the password', async () => {
    const wrong = 'Wr0ng-and-secret-pw';
    const r = runner({ password: wrong });
    const [step] = restoreSteps({ host: 'my-sts-1', rule: { paths: [D] }, target: target() }, r.ctx);
    assert.ok(!step!.argv.includes(wrong) && !step!.argv.join(' ').includes(wrong), 'password is not on the command line');
    const res = await r.restore(step!);
    assert.equal(res.outcome, 'Failed');
    assert.match(res.error!, /wrong password or no key found/);
    assert.equal(res.exitCode, 1);
    assert.ok(!res.error!.includes(wrong));
    assert.ok(!JSON.stringify(res).includes(wrong));
  });

  it('logs each restic command line and how it ended at debug level, without the password', async () => {
    const wrong = 'Wr0ng-and-logged-pw';
    const records: Fields[] = [];
    const r = runner({ password: wrong, log: sinkLogger((rec) => records.push(rec), { level: 'debug' }) });
    const [step] = restoreSteps({ host: 'my-sts-1', rule: { paths: [D] }, target: target() }, r.ctx);
    await r.restore(step!);
    assert.deepEqual(
      records.map((x) => [x['level'], String(x['msg']).split(' ').slice(0, 3).join(' ')]),
      [
        ['debug', 'started restic snapshots'],
        ['debug', 'restic ended: exit'],
      ],
    );
    assert.equal(records[1]!['exitCode'], 1);
    assert.ok(!JSON.stringify(records).includes(wrong));
  });

  it('the password and repository travel in the environment, never on the command line', async () => {
    const r = runner({ repo: bigRepo });
    const [step] = restoreSteps({ host: 'big', rule: { paths: [D] }, target: target() }, r.ctx);
    const pinned = await r.pin(step!);
    let cmdline = '';
    const res = await r.run(pinned.argv, {
      onSpawn: (pid) => {
        try {
          cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        } catch {
          /* already gone */
        }
      },
    });
    assert.equal(res.code, 0, res.stderr);
    assert.match(cmdline, /restic restore [0-9a-f]{64} --path \/source\/data --host big --target/);
    assert.ok(!cmdline.includes(PASSWORD) && !cmdline.includes(bigRepo), cmdline);
  });

  it('a host without snapshots fails saying so', async () => {
    const r = runner();
    const [step] = restoreSteps({ host: 'my-sts-9', rule: { paths: [D] }, target: target() }, r.ctx);
    const res = await r.restore(step!);
    assert.equal(res.outcome, 'Failed');
    assert.match(res.error!, /no snapshot for host my-sts-9 and path \/source\/data/);
  });

  it('reports progress while restic writes, and wraps restic in ionice/nice', async () => {
    const r = runner({ repo: bigRepo, ctx: { nice: { adjustment: 5 }, ionice: { class: 2, classData: 7 } } });
    const root = target();
    const [step] = restoreSteps({ host: 'big', rule: { paths: [D] }, target: root }, r.ctx);
    assert.equal(step!.argv[0], 'ionice');
    const seen: RestoreProgress[] = [];
    const res = await r.restore(step!, { progressIntervalMs: 10, onProgress: (p) => seen.push(p) });
    assert.equal(res.outcome, 'Succeeded', res.error);
    assert.equal(res.progress.bytesTotal, 120 * 512 * 1024);
    const done = seen.map((p) => p.bytesDone ?? 0);
    assert.deepEqual(
      done,
      [...done].sort((a, b) => a - b),
      'bytesDone never goes back',
    );
    assert.ok(seen.length >= 2);
  });

  it('an abort stops restic (SIGINT, so its lock is removed) and reports Interrupted', async () => {
    const r = runner({ repo: bigRepo });
    const root = target();
    const [step] = restoreSteps({ host: 'big', rule: { paths: [D] }, target: root }, r.ctx);
    const ac = new AbortController();
    const t0 = Date.now();
    const res = await r.restore(step!, {
      signal: ac.signal,
      progressIntervalMs: 5,
      onProgress: (p) => {
        if ((p.bytesDone ?? 0) > 1024 * 1024) ac.abort(); // restic is running and writing
      },
    });
    assert.equal(res.outcome, 'Interrupted');
    assert.ok(res.progress.bytesDone! < res.progress.bytesTotal!, 'stopped before the end');
    assert.equal(res.exitCode, 130, 'restic exited through its SIGINT handler');
    assert.equal(res.error, 'interrupted');
    assert.ok(Date.now() - t0 < 10_000);
    assert.deepEqual(await readdir(join(bigRepo, 'locks')), [], 'no stale lock left behind');
  });

  it('an abort before start runs nothing', async () => {
    const r = runner();
    const ac = new AbortController();
    ac.abort();
    const [step] = restoreSteps({ host: 'my-sts-1', rule: { paths: [D] }, target: target() }, r.ctx);
    const res = await r.restore(step!, { signal: ac.signal });
    assert.equal(res.outcome, 'Interrupted');
  });

  it('a missing restic binary is a clear failure', async () => {
    const r = runner({ ctx: { restic: '/nonexistent/restic' } });
    const [step] = restoreSteps({ host: 'my-sts-1', rule: { snapshots: [ids[0]!] }, target: target() }, r.ctx);
    const res = await r.restore(step!, { total: 'none' });
    assert.equal(res.outcome, 'Failed');
    assert.match(res.error!, /cannot start \/nonexistent\/restic: ENOENT/);
  });

  it('a paths rule restores the whole snapshot its path selects (restic --path only picks the snapshot)', async () => {
    const multi = (
      await makeRepo({
        dir: join(work.path, 'multi'),
        password: PASSWORD,
        snapshots: [{ host: 'h', files: { [`${D}/a`]: 'a', '/source/config/c': 'c' }, paths: [D, '/source/config'] }],
      })
    ).repoPath;
    const r = runner({ repo: multi });
    const root = target();
    const [step] = restoreSteps({ host: 'h', rule: { paths: [D] }, target: root }, r.ctx);
    const res = await r.restore(step!);
    assert.equal(res.outcome, 'Succeeded', res.error);
    assert.deepEqual(
      (await listTree(root)).filter((p) => !p.endsWith('/')),
      ['/source/config/c', `${D}/a`],
    );
    assert.equal(res.progress.bytesTotal, 2, 'the total counts the whole snapshot too');
    const [parent] = restoreSteps({ host: 'h', rule: { paths: ['/source'] }, target: target() }, r.ctx);
    const none = await r.restore(parent!);
    assert.equal(none.outcome, 'Failed', '--path must equal a backed-up path exactly; a parent matches nothing');
    assert.match(none.error!, /no snapshot for host h and path \/source in the repository/);
  });

  it('restoreAll stops at the first failure', async () => {
    const r = runner();
    const steps = restoreSteps({ host: 'h', rule: { snapshots: ['deadbeef', ids[0]!] }, target: target() }, r.ctx);
    const res = await r.restoreAll(steps, { total: 'none' });
    assert.deepEqual(
      res.map((x) => x.outcome),
      ['Failed'],
    );
    assert.match(res[0]!.error!, /deadbeef/);
  });
});
