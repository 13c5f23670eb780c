import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Repository } from '../../src/api/index.ts';
import { ClusterState, validateSource } from '../../src/manifests/index.ts';
import { ResticSnapshotSource, SnapshotsUnavailable, chooseLatest, findSnapshot, pinSnapshots, planRestores } from '../../src/plan/index.ts';
import type { RepositoryRef, SnapshotRecord } from '../../src/plan/index.ts';
import { ResticRunner } from '../../src/restic/index.ts';
import { makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';

const snap = (id: string, hostname: string, time: string, paths = ['/source/data']): SnapshotRecord => ({
  id,
  short_id: id.slice(0, 8),
  hostname,
  time,
  paths,
});

describe("pinning latest: restic's choice, as a pure function", () => {
  const list = [
    snap('aaaa0001', 'my-sts-0', '2024-01-01T00:00:00Z'),
    snap('aaaa0002', 'my-sts-0', '2024-02-01T01:00:00.123456789+01:00'), // 00:00:00Z, written by restic with an offset
    snap('aaaa0003', 'my-sts-0', '2024-01-15T00:00:00Z', ['/other']),
    snap('aaaa0004', 'my-sts-1', '2024-03-01T00:00:00Z'),
    snap('aaaa0005', 'my-sts-0', '2024-01-20T00:00:00Z', ['/source/data', '/other']),
  ];

  it('is the newest snapshot of the source host whose paths include the path asked for', () => {
    assert.equal(chooseLatest(list, { host: 'my-sts-0', paths: ['/source/data'] })?.id, 'aaaa0002');
    assert.equal(chooseLatest(list, { host: 'my-sts-0', paths: ['/other'] })?.id, 'aaaa0005');
    assert.equal(chooseLatest(list, { host: 'my-sts-0' })?.id, 'aaaa0002', 'without a path, any path of the host');
    assert.equal(chooseLatest(list, { host: 'my-sts-9' }), undefined, "never another host's snapshot");
  });

  it('cleans the path as restic does, so a trailing slash still matches', () => {
    assert.equal(chooseLatest(list, { host: 'my-sts-0', paths: ['/source/data/'] })?.id, 'aaaa0002');
    assert.equal(chooseLatest(list, { host: 'my-sts-0', paths: ['/source//data/.'] })?.id, 'aaaa0002');
  });

  it('finds a snapshot by a unique id prefix only', () => {
    assert.equal(findSnapshot(list, 'aaaa0004')?.hostname, 'my-sts-1');
    assert.equal(findSnapshot(list, 'aaaa'), undefined, 'ambiguous');
  });
});

describe('pinning latest against a real restic repository', function () {
  let dir: { path: string; cleanup: () => Promise<void> };
  let repoPath: string;
  let ids: string[];
  const password = 'pin-test-password-7f3a';

  before(async function () {
    await requireSeeding(this);
    dir = await tempDir('rc-pin');
    const seeded = await makeRepo({
      dir: dir.path,
      password,
      snapshots: [
        { host: 'my-sts-0', files: { '/source/data/a.json': '{"v":1}' }, time: new Date('2024-01-01T00:00:00Z') },
        { host: 'my-sts-0', files: { '/source/data/a.json': '{"v":2}' }, time: new Date('2024-02-01T00:00:00Z') },
        { host: 'my-sts-1', files: { '/source/data/b.json': '{}' }, time: new Date('2024-01-05T00:00:00Z') },
        { host: 'my-sts-1', files: { '/srv/other/c.txt': 'c' }, time: new Date('2024-03-05T00:00:00Z') },
      ],
    });
    repoPath = seeded.repoPath;
    ids = seeded.snapshotIds;
  });
  after(async () => dir?.cleanup());

  const ref = (mountPath: string, backend: Repository['spec']['backend'] = { local: { mountPath }, storageSecretName: 's' }): RepositoryRef => ({
    namespace: 'demo',
    name: 'repo',
    repository: { apiVersion: 'stash.appscode.com/v1alpha1', kind: 'Repository', metadata: { name: 'repo', namespace: 'demo' }, spec: { backend } },
  });

  it('chooses what restic itself resolves `latest` to, host by host and path by path', async () => {
    const source = new ResticSnapshotSource({ password });
    const restic = new ResticRunner({
      ctx: { scratchDir: dir.path, tempDir: { disableCaching: true } },
      env: { RESTIC_REPOSITORY: repoPath, RESTIC_PASSWORD: password },
      secrets: [password],
    });
    try {
      for (const [host, path] of [
        ['my-sts-0', '/source/data'],
        ['my-sts-1', '/source/data'],
        ['my-sts-1', '/srv/other'],
        ['my-sts-0', '/source/data/'],
      ] as const) {
        const listed = await source.list(ref(repoPath), { host, path: path.replace(/\/$/, '') });
        const ours = chooseLatest(listed, { host, paths: [path] });
        const theirs = await restic.resolveLatest({ host, path });
        assert.equal(ours?.id, theirs.id, `${host} ${path}`);
      }
      assert.equal((await source.list(ref(repoPath), { host: 'my-sts-0', path: '/source/data' })).length, 2);
    } finally {
      await source.close();
    }
    assert.equal(ids.length, 4);
  });

  it('pins every host of a StatefulSet restore to a concrete snapshot, and warns where there is none', async () => {
    const files = ['sts-restore.yaml'].map((f) => ({ path: f, text: readFileSync(new URL(`../../examples/clusters/demo/${f}`, import.meta.url), 'utf8') }));
    files.push({
      path: 'repository.yaml',
      text: readFileSync(new URL('../../examples/clusters/demo/repository.yaml', import.meta.url), 'utf8').replace(
        'mountPath: /safe/data',
        `mountPath: ${repoPath}`,
      ),
    });
    const cluster = new ClusterState([
      { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'recovered-statefulset', namespace: 'demo' }, spec: { replicas: 5 } },
    ]);
    const desired = validateSource(files, cluster);
    const source = new ResticSnapshotSource({ password });
    const plan = await pinSnapshots(planRestores({ desired, cluster }), desired, cluster, source).finally(() => source.close());
    const sts = plan.actions.find((a) => a.name === 'sts-restore')!;
    const pinned = (host: string) => sts.snapshots![host]![0]!;
    assert.deepEqual(pinned('my-sts-0').snapshot, { id: ids[1], shortId: ids[1]!.slice(0, 8), time: '2024-02-01T00:00:00Z' });
    assert.equal(pinned('my-sts-1').snapshot?.id, ids[2]);
    assert.equal(pinned('my-sts-3').snapshot?.id, ids[2], "hosts 3 and 4 restore my-sts-1's snapshot");
    assert.equal(pinned('my-sts-2').unresolved, 'no snapshot of host my-sts-2 with path /source/data in Repository demo/local-repo');
    const warnings = plan.diagnostics.filter((d) => d.severity === 'warning' && /would fail to restore/.test(d.message));
    assert.deepEqual(
      warnings.map((d) => `${d.file}:${d.line}: ${d.message}`),
      [
        'sts-restore.yaml:10: demo/sts-restore: no snapshot of host my-sts-2 with path /source/data in Repository demo/local-repo: host my-sts-2 would fail to restore',
      ],
    );
    assert.ok(plan.diagnostics.every((d) => d.severity !== 'error'));
  });

  it("pins a hostPath local backend from the node's folder when the pod's mountPath is not here", async () => {
    // The demo's Repository: mounted at /safe/data in pods, at hostPath.path on the node (here).
    const backend = { local: { mountPath: '/safe/data-not-on-this-machine', hostPath: { path: repoPath } }, storageSecretName: 's' };
    const source = new ResticSnapshotSource({ password });
    try {
      const listed = await source.list(ref('', backend), { host: 'my-sts-0', path: '/source/data' });
      assert.equal(chooseLatest(listed, { host: 'my-sts-0', paths: ['/source/data'] })?.id, ids[1]);
      assert.deepEqual(
        (await source.list(ref('', backend), { id: ids[2]!.slice(0, 8) })).map((s) => s.id),
        [ids[2]],
        'answered from the same listing',
      );
    } finally {
      await source.close();
    }
  });

  it('says why a repository cannot be read, and never prints a credential', async () => {
    const unavailable = async (r: RepositoryRef, pw: string | undefined, env: NodeJS.ProcessEnv = {}) => {
      const source = new ResticSnapshotSource({ password: pw, env });
      try {
        await source.list(r, { host: 'my-sts-0' });
      } catch (e) {
        assert.ok(e instanceof SnapshotsUnavailable, String(e));
        return e.message;
      } finally {
        await source.close();
      }
      assert.fail('expected the lookup to fail');
    };
    assert.equal(await unavailable(ref(repoPath), undefined), 'no restic password: set RESTIC_PASSWORD or pass --restic-password-file');
    assert.equal(
      await unavailable(ref(join(dir.path, 'nowhere')), password),
      `no restic repository at ${join(dir.path, 'nowhere')} on this machine (a local backend is read where the plan runs; the agent pins its snapshots)`,
    );
    assert.equal(
      await unavailable(
        ref('', { local: { mountPath: join(dir.path, 'nowhere'), hostPath: { path: join(dir.path, 'nor-here') } }, storageSecretName: 's' }),
        password,
      ),
      `no restic repository at ${join(dir.path, 'nowhere')} nor at its hostPath ${join(dir.path, 'nor-here')} on this machine (a local backend is read where the plan runs; the agent pins its snapshots)`,
    );
    assert.match(await unavailable(ref(repoPath), 'not-the-password'), /^restic cannot read .*: wrong password or no key found/);
    const rest = await unavailable(ref('', { rest: { url: 'http://127.0.0.1:9/repo' }, storageSecretName: 's' }), password, {
      REST_SERVER_USERNAME: 'ci-user',
      REST_SERVER_PASSWORD: 'rest-secret-81',
    });
    assert.match(rest, /^restic cannot read rest:http:\/\/ci-user:<redacted>@127\.0\.0\.1:9\/repo: .*connection refused/);
    assert.doesNotMatch(rest, /rest-secret-81/);
    assert.match(
      await unavailable(ref('', { s3: { bucket: 'b' }, storageSecretName: 's' }), password, { AWS_ACCESS_KEY_ID: 'AKIA-ONLY' }),
      /needs AWS_SECRET_ACCESS_KEY: set it in the environment/,
    );
    assert.equal(
      await unavailable({ namespace: 'demo', name: 'gone', repository: undefined }, password),
      'Repository demo/gone is neither in the source nor in the cluster state',
    );
  });
});
