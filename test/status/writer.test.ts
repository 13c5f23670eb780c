import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GitSource, commitSigner, readKeyring } from '../../src/source/index.ts';
import { StatusWriter, readLedger } from '../../src/status/index.ts';
import type { StatusWriterOptions } from '../../src/status/index.ts';
import { restorectl } from '../support/cli.ts';
import { makeKey, startGitServer } from '../support/git-server.ts';
import type { GitHttpServer } from '../support/git-server.ts';
import { SOURCE_COMMIT, session, snapshot } from './fixtures.ts';

describe('StatusWriter over a real smart-HTTP server', function () {
  let server: GitHttpServer;
  let tmp: string;
  let close: () => Promise<void>;
  let n = 0;
  before(async () => ({ server, tmp, close } = await startGitServer()));
  after(async () => close());

  function remote(): { name: string; url: string } {
    const name = `status${++n}`;
    const url = server.createRepo(name);
    // As on a real host, the repository has its default branch next to the status branch.
    server.git(name, ['update-ref', 'refs/heads/main', server.git(name, ['commit-tree', '-m', 'init', server.git(name, ['mktree'], '').trim()]).trim()]);
    // Prove the writer never forces: the server refuses non-fast-forward updates outright.
    server.git(name, ['config', 'receive.denyNonFastForwards', 'true']);
    return { name, url };
  }
  const writer = (url: string, extra: Partial<StatusWriterOptions> = {}) =>
    new StatusWriter({ url, cacheDir: join(tmp, `cache-${++n}`), env: {}, backoffMs: 20, ...extra });
  const log = (name: string, format = '%s') =>
    server
      .git(name, ['log', '--format=' + format, 'restore-status'])
      .trim()
      .split('\n');

  it('creates the branch as an orphan with STATUS.md and one file per session, then commits only changes', async () => {
    const { name, url } = remote();
    const w = writer(url);
    const first = await w.writeStatus(
      snapshot('prod', [session('sts-restore', 'Running', { done: 2 }), session('db-restore', 'Pending', { namespace: 'data' })]),
    );
    assert.ok(first.commit);
    assert.equal(first.parent, null);
    assert.deepEqual(first.files, ['clusters/prod/STATUS.md', 'clusters/prod/data/db-restore.yaml', 'clusters/prod/demo/sts-restore.yaml']);
    assert.equal(server.git(name, ['rev-list', '--max-parents=0', 'restore-status']).trim(), first.commit, 'the first commit has no parent');

    const md = server.git(name, ['show', 'restore-status:clusters/prod/STATUS.md']);
    assert.match(md, /\| Session \| Phase \| Hosts done\/total \| Duration \| Source commit \| Last change \|/);
    assert.match(md, /\| demo\/sts-restore \| ⏳ Running \| 2\/5 \| {2}\| `1a2b3c4` \| 2026-11-29T03:00:05Z \|/);
    const yaml = server.git(name, ['show', 'restore-status:clusters/prod/demo/sts-restore.yaml']);
    assert.match(
      yaml,
      /source:\n {2}repo: https:\/\/git.example.com\/ops\/restores.git\n {2}branch: main\n {2}commit: 1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d\n {2}file: clusters\/prod\/sts-restore.yaml/,
    );
    assert.match(yaml, /contentId: cid-sts-restore\nexecutions:\n {2}- contentId: cid-sts-restore\n {4}phase: Running/);

    // The same snapshot again: no commit, no push.
    const pushesBefore = server.countRequests('receive-pack');
    const again = await w.writeStatus(
      snapshot('prod', [session('sts-restore', 'Running', { done: 2 }), session('db-restore', 'Pending', { namespace: 'data' })]),
    );
    assert.equal(again.commit, null);
    assert.equal(server.countRequests('receive-pack'), pushesBefore);
    assert.equal(log(name).length, 1);

    // One phase change: one commit touching that session's file and STATUS.md.
    const done = await w.writeStatus(snapshot('prod', [session('sts-restore', 'Succeeded'), session('db-restore', 'Pending', { namespace: 'data' })]));
    assert.deepEqual(done.files, ['clusters/prod/STATUS.md', 'clusters/prod/demo/sts-restore.yaml']);
    assert.equal(done.parent, first.commit);
    assert.deepEqual(log(name, '%B').slice(0, 4), [
      'status(prod): demo/sts-restore Running→Succeeded (5/5 hosts) [main@1a2b3c4]',
      '',
      `Source-Commit: ${SOURCE_COMMIT}`,
      'Cluster: prod',
    ]);
    assert.equal(server.git(name, ['log', '-1', '--format=%(trailers:key=Cluster,valueonly)', 'restore-status']).trim(), 'prod');
  });

  it('never loses a commit when two writers push to the same branch at the same time', async () => {
    const { name, url } = remote();
    const prod = writer(url, { maxAttempts: 30 });
    const staging = writer(url, { maxAttempts: 30 });
    const prodB = writer(url, { maxAttempts: 30 }); // a second writer for the same cluster, with other sessions
    const cycles = 3;
    const results = await Promise.all([
      (async () => {
        const out = [];
        for (let i = 1; i <= cycles; i++) out.push(await prod.writeStatus(snapshot('prod', [session('a', 'Running', { done: i })])));
        return out;
      })(),
      (async () => {
        const out = [];
        for (let i = 1; i <= cycles; i++) out.push(await staging.writeStatus(snapshot('staging', [session('b', 'Running', { done: i })])));
        return out;
      })(),
      (async () => {
        const out = [];
        for (let i = 1; i <= cycles; i++) out.push(await prodB.writeStatus(snapshot('prod', [session('c', 'Running', { namespace: 'other', done: i })])));
        return out;
      })(),
    ]);
    const commits = results.flat().map((r) => r.commit);
    assert.ok(commits.every(Boolean));
    const onServer = new Set(log(name, '%H'));
    assert.equal(onServer.size, 3 * cycles, 'every commit is on the branch');
    for (const c of commits) assert.ok(onServer.has(c!), `commit ${c} kept`);
    assert.ok(
      results.flat().some((r) => r.attempts > 1),
      'at least one push was rejected and retried',
    );
    const md = server.git(name, ['show', 'restore-status:clusters/prod/STATUS.md']);
    assert.match(md, /demo\/a \| ⏳ Running \| 3\/5/);
    assert.match(md, /other\/c \| ⏳ Running \| 3\/5/);
    assert.match(server.git(name, ['show', 'restore-status:clusters/staging/STATUS.md']), /demo\/b \| ⏳ Running \| 3\/5/);
    server.git(name, ['fsck', '--strict']);
  });

  it('keeps executions already on the branch and writes nothing secret', async () => {
    const { name, url } = remote();
    const w = writer(url);
    const first = session('sts', 'Succeeded', { contentId: 'old-id' });
    await w.writeStatus(snapshot('prod', [first]));
    const rerun = session('sts', 'Running', { contentId: 'new-id', done: 1 });
    rerun.spec = {
      runtimeSettings: {
        container: {
          env: [
            { name: 'DB_PASSWORD', value: 'hunter2-db' },
            { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
          ],
        },
      },
    };
    rerun.status!.conditions = [
      {
        type: 'RepositoryFound',
        status: 'False',
        reason: 'RepositoryNotAvailable',
        message: 'cannot reach https://admin:s3cr3t-pw@minio.local/bucket with token=abc123xyz',
        lastTransitionTime: '2026-11-29T04:00:00Z',
      },
    ];
    rerun.status!.stats![0]!.error = 'restic: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload';
    rerun.source.url = 'https://deploy:ghp_abcdefghijklmnopqrstuvwxyz0123456789@git.example.com/ops/restores.git';
    await w.writeStatus(snapshot('prod', [rerun]));
    const yaml = server.git(name, ['show', 'restore-status:clusters/prod/demo/sts.yaml']);
    for (const secret of ['hunter2-db', 's3cr3t-pw', 'abc123xyz', 'eyJhbGciOiJIUzI1NiJ9', 'ghp_abcdefghij', 'deploy:'])
      assert.ok(!yaml.includes(secret), `${secret} must not be written`);
    assert.match(yaml, /name: DB_PASSWORD\n\s+value: "<redacted>"/);
    assert.match(yaml, /\n {2}repo: https:\/\/git\.example\.com\/ops\/restores\.git\n/, 'the source URL is stored clean, without a mask in it');
    assert.match(yaml, /executions:\n {2}- contentId: old-id\n {4}phase: Succeeded[\s\S]*- contentId: new-id\n {4}phase: Running/);

    const ledger = await readLedger({ url, env: {} });
    assert.equal(ledger.executions.get('old-id')?.execution.phase, 'Succeeded');
    assert.equal(ledger.executions.get('new-id')?.execution.phase, 'Running');
    assert.deepEqual(ledger.diagnostics, []);
  });

  it('signs its commits when given a key, and a verifying Source accepts them', async () => {
    const { url } = remote();
    const key = await makeKey('Status Bot');
    const w = writer(url, { signer: await commitSigner(key.armoredPrivate) });
    const res = await w.writeStatus(snapshot('prod', [session('sts', 'Pending')]));
    const check = new GitSource({
      url,
      branch: 'restore-status',
      cacheDir: join(tmp, 'verify'),
      env: {},
      verify: await readKeyring(key.armoredPublic),
      globs: ['**/*'],
    });
    const rev = await check.sync();
    assert.equal(rev.commit, res.commit);
    assert.ok(rev.files.has('clusters/prod/STATUS.md'));
  });

  it('`restorectl status` prints the ledger from the remote, as a table and as JSON', async () => {
    const { name, url } = remote();
    const w = writer(url);
    await w.writeStatus(snapshot('prod', [session('sts-restore', 'Succeeded'), session('db', 'Running', { namespace: 'data', done: 1, total: 3 })]));
    // A hand edit gone wrong is reported, not fatal.
    const work = join(tmp, 'hand-edit');
    server.git(name, ['worktree', 'add', '--quiet', work, 'restore-status']);
    const { execFileSync } = await import('node:child_process');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(work, 'clusters/prod/demo/broken.yaml'), 'executions: [\n');
    execFileSync('git', ['add', '.'], { cwd: work });
    execFileSync('git', ['-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '--quiet', '-m', 'hand edit'], { cwd: work });

    const text = await restorectl(['status', '--git-url', url, '--cluster', 'prod'], { env: { GIT_BEARER_TOKEN: '' } });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /restore-status at [0-9a-f]{7}: 2 session\(s\)/);
    assert.match(text.stdout, /CLUSTER\s+SESSION\s+PHASE\s+HOSTS\s+CONTENT ID\s+SOURCE\s+ACCEPTED\s+FINISHED/);
    assert.match(
      text.stdout,
      /prod\s+demo\/sts-restore\s+Succeeded\s+5\/5\s+cid-sts-restore\s+main@1a2b3c4:clusters\/prod\/sts-restore.yaml\s+2026-11-29T03:00:00Z\s+2026-11-29T03:02:46Z/,
    );
    assert.match(text.stdout, /prod\s+data\/db\s+Running\s+1\/3/);
    assert.match(text.stderr, /clusters\/prod\/demo\/broken.yaml:\d+:\d+: error: cannot parse YAML/);

    const json = await restorectl(['status', '--git-url', url, '--output', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout);
    assert.equal(out.branch, 'restore-status');
    assert.deepEqual(
      out.sessions.map((s: { namespace: string; name: string; phase: string }) => `${s.namespace}/${s.name} ${s.phase}`),
      ['data/db Running', 'demo/sts-restore Succeeded'],
    );
    assert.equal(out.diagnostics.length, 1);

    const missing = await restorectl(['status', '--git-url', server.url('nope')]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.git: HTTP 404/);
  });
});
