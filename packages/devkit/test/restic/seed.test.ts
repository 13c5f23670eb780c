// Seeding real repositories with pod-absolute paths, for any host, without touching '/'.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { poly1305 } from '../../src/restic/fast-kdf.ts';
import { commonDirectory, seedRepository } from '../../src/restic/seed.ts';
import { listTree, makeRepo, requireSeeding, tempDir } from '../../../../test/support/restic-repo.ts';

const run = promisify(execFile);

describe('restic seed: repositories with pod-absolute paths', function () {
  this.timeout(60_000);
  let work: { path: string; cleanup: () => Promise<void> };
  before(async function () {
    await requireSeeding(this);
    work = await tempDir('seed-test');
  });
  after(async () => work?.cleanup());

  it('makes snapshots for several hosts, with tags and times, holding /source/data paths', async () => {
    assert.equal(existsSync('/source/data/a.json'), false, 'precondition: the real / has no /source/data/a.json');
    const { repoPath, snapshotIds } = await makeRepo({
      dir: work.path,
      password: 'pw-1',
      snapshots: [
        {
          host: 'my-sts-0',
          files: { '/source/data/a.json': '{"a":0}', '/source/data/sub dir/ü.txt': 'x' },
          tags: ['t1'],
          time: new Date('2026-01-01T10:00:00Z'),
        },
        { host: 'my-sts-1', files: { '/source/data/a.json': '{"a":1}' }, time: new Date('2026-01-02T10:00:00Z') },
      ],
    });
    assert.equal(existsSync('/source/data/a.json'), false, 'the real / was not touched');
    assert.equal(snapshotIds.length, 2);
    for (const id of snapshotIds) assert.match(id, /^[0-9a-f]{64}$/);
    const { stdout } = await run('restic', ['-r', repoPath, '--no-cache', '--no-lock', 'snapshots', '--json'], {
      env: { ...process.env, RESTIC_PASSWORD: 'pw-1' },
    });
    const snaps = (JSON.parse(stdout) as { id: string; hostname: string; paths: string[]; tags?: string[]; time: string }[]).sort((a, b) =>
      a.time.localeCompare(b.time),
    );
    assert.deepEqual(
      snaps.map((s) => [s.id, s.hostname, s.paths, s.tags ?? []]),
      [
        [snapshotIds[0], 'my-sts-0', ['/source/data'], ['t1']],
        [snapshotIds[1], 'my-sts-1', ['/source/data'], []],
      ],
    );
    assert.equal(snaps[0]!.time.slice(0, 19), '2026-01-01T10:00:00');

    const target = join(work.path, 'restored');
    await run('restic', ['-r', repoPath, '--no-cache', '--no-lock', 'restore', snapshotIds[0]!, '--target', target], {
      env: { ...process.env, RESTIC_PASSWORD: 'pw-1' },
    });
    assert.deepEqual(await listTree(target), ['/source/', '/source/data/', '/source/data/a.json', '/source/data/sub dir/', '/source/data/sub dir/ü.txt']);
  });

  it('adds snapshots to an existing repository', async () => {
    const repoPath = join(work.path, 'grow');
    await seedRepository({ repoPath, password: 'pw-2', fastKdf: true, snapshots: [{ host: 'h', files: { '/data/x': '1' } }] });
    const again = await seedRepository({ repoPath, password: 'pw-2', snapshots: [{ host: 'h', files: { '/data/x': '2', '/data/y': '3' } }] });
    const { stdout } = await run('restic', ['-r', repoPath, '--no-cache', '--no-lock', 'snapshots', '--json'], {
      env: { ...process.env, RESTIC_PASSWORD: 'pw-2' },
    });
    assert.equal((JSON.parse(stdout) as unknown[]).length, 2);
    assert.equal(again.snapshotIds.length, 1);
  });

  it('works through an unprivileged user namespace too (unshare --map-root-user)', async function () {
    try {
      await run('unshare', ['--user', '--map-root-user', 'true']);
    } catch (e) {
      // Some kernels and container runtimes forbid unprivileged user namespaces; the chroot path above still runs.
      console.warn(
        `      skipped: this machine allows no unprivileged user namespace (unshare --user --map-root-user: ${(e as Error).message.split('\n')[0]})`,
      );
      this.skip();
    }
    const res = await seedRepository({
      repoPath: join(work.path, 'userns'),
      password: 'pw-3',
      fastKdf: true,
      confinement: 'unshare',
      snapshots: [{ host: 'h', files: { '/mnt/v/f': 'f' } }],
    });
    assert.equal(res.confinement, 'unshare');
    assert.equal(res.snapshotIds.length, 1);
  });

  it('refuses paths that collide with the chroot itself', async () => {
    const bad = (snap: { host: string; files: Record<string, string>; paths?: string[] }) =>
      seedRepository({ repoPath: join(work.path, 'bad'), password: 'p', snapshots: [snap] });
    await assert.rejects(bad({ host: 'h', files: { '/bin/x': 'x' } }), { code: 'CommandInvalid', message: /\/bin/ });
    await assert.rejects(bad({ host: 'h', files: { '/data/x': 'x' }, paths: ['/'] }), { code: 'CommandInvalid' });
    await assert.rejects(bad({ host: 'h', files: {} }), { code: 'CommandInvalid', message: /no files/ });
    await assert.rejects(bad({ host: 'h', files: { 'relative/x': 'x' } }), { code: 'CommandInvalid' });
    assert.equal(existsSync(join(work.path, 'bad')), false, 'nothing was created');
  });
});

describe('restic seed helpers', () => {
  it('backs up the deepest common directory by default', () => {
    assert.equal(commonDirectory(['/source/data/a.json', '/source/data/sub/b']), '/source/data');
    assert.equal(commonDirectory(['/source/data/a.json']), '/source/data');
    assert.equal(commonDirectory(['/a/x', '/b/y']), '/');
    assert.equal(commonDirectory(['/source/data/empty/']), '/source/data/empty');
  });
  it('poly1305 matches RFC 8439 §2.5.2', () => {
    const key = Buffer.from('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b', 'hex');
    assert.equal(poly1305(Buffer.from('Cryptographic Forum Research Group'), key).toString('hex'), 'a8061dc1305136c6c22b8baf0c0127a9');
  });
});
