import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { GitError, GitSource, readKeyring } from '../../src/source/index.ts';
import type { SourceLog } from '../../src/source/index.ts';
import { WorkTree, makeKey, startGitServer } from '../support/git-server.ts';
import type { GitHttpServer } from '../support/git-server.ts';

const rs = (name: string) => `apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata:\n  name: ${name}\n  namespace: demo\nspec: {}\n`;

function recordingLog(): SourceLog & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info: () => {}, warn: (m) => warnings.push(m) };
}

describe('GitSource over a real smart-HTTP server', function () {
  let server: GitHttpServer;
  let tmp: string;
  let close: () => Promise<void>;
  let n = 0;
  before(async () => ({ server, tmp, close } = await startGitServer()));
  after(async () => close());

  function repo(): { url: string; work: WorkTree; cacheDir: string } {
    const name = `r${++n}`;
    const url = server.createRepo(name);
    return { url, work: new WorkTree(join(tmp, `work-${name}`), server.repoPath(name)), cacheDir: join(tmp, `cache-${name}`) };
  }

  it('clones once without checkout and hands out the manifests under the path', async () => {
    const { url, work, cacheDir } = repo();
    work.write({
      'clusters/prod/a.yaml': rs('a'),
      'clusters/prod/sub/b.yml': rs('b'),
      'clusters/prod/README.md': '# not a manifest',
      'clusters/staging/c.yaml': rs('c'),
      'clusters/prod/.hidden/d.yaml': rs('d'),
    });
    const head = work.commit('first');
    work.push();
    const source = new GitSource({ url, cacheDir, path: 'clusters/prod', env: {} });
    const rev = await source.sync();
    assert.equal(rev.commit, head);
    assert.equal(rev.branch, 'main');
    assert.equal(rev.initial, true);
    assert.deepEqual([...rev.files.keys()], ['clusters/prod/a.yaml', 'clusters/prod/sub/b.yml']);
    assert.equal(rev.files.get('clusters/prod/a.yaml'), rs('a'));
    assert.deepEqual(rev.changed.added, ['clusters/prod/a.yaml', 'clusters/prod/sub/b.yml']);
  });

  it('keeps no pack between cycles: what a sync read is released with it', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // Buffers are freed once their owners are collected; a few rounds let the last of them go.
    const external = async () => {
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setImmediate(r));
        gc();
      }
      return process.memoryUsage().arrayBuffers;
    };
    const { url, work, cacheDir } = repo();
    // A file outside the path, incompressible: the pack is ~6 MB, the manifests a few bytes.
    const writeBig = () => work.write({ 'clusters/prod/a.yaml': rs('a'), 'data/big.txt': randomBytes(8 << 20).toString('base64') });
    writeBig().commit('first');
    work.push();
    const source = new GitSource({ url, cacheDir, path: 'clusters/prod', env: {} });
    const before = await external();
    const rev = await source.sync();
    assert.deepEqual([...rev.files.keys()], ['clusters/prod/a.yaml']);
    const kept = (await external()) - before;
    assert.ok(kept < 2 << 20, `${(kept / 2 ** 20).toFixed(1)} MiB of buffers stayed after the sync`);
  });

  it('does not fetch or re-read when the commit did not move', async () => {
    const { url, work, cacheDir } = repo();
    work.write({ 'a.yaml': rs('a') }).commit('first');
    work.push();
    const source = new GitSource({ url, cacheDir, env: {} });
    await source.sync();
    const second = await source.sync();
    const from = server.requests.length;
    const third = await source.sync();
    assert.equal(third, second, 'the same revision object comes back');
    assert.equal(server.countRequests('upload-pack', from), 0, 'no pack was requested');
    assert.deepEqual(third.changed, { added: [], modified: [], deleted: [] });
  });

  it('fetches a new commit incrementally and reports only the changed paths', async () => {
    const { url, work, cacheDir } = repo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 30; i++) files[`ns${i % 3}/s${i}.yaml`] = rs(`s${i}`);
    work.write(files).commit('first');
    work.push();
    const source = new GitSource({ url, cacheDir, env: {} });
    const first = await source.sync();
    work.write({ 'ns0/s0.yaml': rs('s0-changed'), 'ns9/new.yaml': rs('new') }).remove('ns1/s1.yaml');
    const head = work.commit('second');
    work.push();
    const from = server.requests.length;
    const rev = await source.sync();
    assert.equal(rev.commit, head);
    assert.equal(rev.previousCommit, first.commit);
    assert.equal(rev.initial, false);
    assert.deepEqual(rev.changed, { added: ['ns9/new.yaml'], modified: ['ns0/s0.yaml'], deleted: ['ns1/s1.yaml'] });
    assert.equal(rev.files.size, 30);
    assert.equal(rev.files.get('ns0/s0.yaml'), rs('s0-changed'));
    assert.equal(server.countRequests('upload-pack', from), 1, 'one fetch');
    const bytes = server.requests.slice(from).reduce((sum, r) => sum + r.bytesOut, 0);
    assert.ok(bytes < 4000, `the incremental fetch moved ${bytes} bytes`);
  });

  it('follows a force-pushed branch and warns about it', async () => {
    const { url, work, cacheDir } = repo();
    work.write({ 'a.yaml': rs('a') }).commit('first');
    const base = work.head();
    work.write({ 'b.yaml': rs('b') }).commit('second');
    work.push();
    const log = recordingLog();
    const source = new GitSource({ url, cacheDir, env: {}, log });
    await source.sync();
    work.git(['reset', '--quiet', '--hard', base]);
    work.write({ 'c.yaml': rs('c') });
    const rewritten = work.commit('rewritten');
    work.push({ force: true });
    const rev = await source.sync();
    assert.equal(rev.commit, rewritten);
    assert.deepEqual([...rev.files.keys()], ['a.yaml', 'c.yaml']);
    assert.deepEqual(rev.changed, { added: ['c.yaml'], modified: [], deleted: ['b.yaml'] });
    assert.equal(log.warnings.length, 1);
    assert.match(log.warnings[0]!, /force-pushed/);
  });

  it('stays on a pinned tag (annotated) or commit while the branch moves', async () => {
    const { url, work, cacheDir } = repo();
    work.write({ 'a.yaml': rs('a') });
    const tagged = work.commit('release');
    work.git(['tag', '-a', '-m', 'v1', 'v1.0.0']);
    work.push();
    work.push({ ref: 'refs/tags/v1.0.0' });
    work.write({ 'b.yaml': rs('b') }).commit('later');
    work.push();
    const byTag = new GitSource({ url, cacheDir, ref: 'v1.0.0', env: {} });
    const rev = await byTag.sync();
    assert.equal(rev.commit, tagged);
    assert.equal(rev.ref, 'v1.0.0');
    assert.equal(rev.branch, null);
    assert.deepEqual([...rev.files.keys()], ['a.yaml']);
    const again = await byTag.sync();
    assert.equal(again.commit, tagged);
    assert.deepEqual(again.changed, { added: [], modified: [], deleted: [] });
    const byCommit = new GitSource({ url, cacheDir: cacheDir + '-sha', ref: tagged.slice(0, 10), env: {} });
    assert.equal((await byCommit.sync()).commit, tagged);
    await assert.rejects(
      new GitSource({ url, cacheDir: cacheDir + '-none', ref: 'v9', env: {} }).sync(),
      (e: GitError) => e.code === 'GitRefNotFound' && /v9/.test(e.message),
    );
  });
});

describe('GitSource credentials', function () {
  const token = 'tok-s3cr3t-value-123';
  let server: GitHttpServer;
  let tmp: string;
  let close: () => Promise<void>;
  let url: string;
  before(async () => {
    ({ server, tmp, close } = await startGitServer({ bearerToken: token }));
    url = server.createRepo('private');
    const work = new WorkTree(join(tmp, 'work'), server.repoPath('private'));
    work.write({ 'a.yaml': rs('a') }).commit('first');
    work.push();
  });
  after(async () => close());

  it('sends the bearer token from the environment as a header', async () => {
    const rev = await new GitSource({ url, cacheDir: join(tmp, 'c1'), env: { GIT_BEARER_TOKEN: token } }).sync();
    assert.deepEqual([...rev.files.keys()], ['a.yaml']);
  });

  it('reports a wrong token with the URL and what to check, never the token', async () => {
    const wrong = 'wrong-tok-987654';
    const err = await new GitSource({ url, cacheDir: join(tmp, 'c2'), env: { GIT_BEARER_TOKEN: wrong } }).sync().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof GitError);
    assert.equal(err.code, 'GitAuthFailed');
    assert.match(err.message, new RegExp(url.replace(/[.]/g, '\\.')));
    assert.match(err.message, /401/);
    assert.match(err.message, /token or password/);
    assert.ok(!err.message.includes(wrong) && !JSON.stringify(err).includes(wrong));
  });

  it('accepts credentials embedded in the URL but never prints them', async () => {
    const withCreds = url.replace('http://', 'http://someone:url-s3cret-pw@');
    const source = new GitSource({ url: withCreds, cacheDir: join(tmp, 'c3'), env: {} });
    assert.equal(source.remote.url, url);
    const err = await source.sync().then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err instanceof GitError && err.code === 'GitAuthFailed');
    assert.ok(!err.message.includes('url-s3cret-pw') && !err.message.includes('someone:'));
  });

  it('says credentials are needed when none were given', async () => {
    const err = await new GitSource({ url, cacheDir: join(tmp, 'c4'), env: {} }).sync().then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err instanceof GitError && err.code === 'GitAuthFailed');
    assert.match(err.message, /GIT_BEARER_TOKEN/);
  });

  it('names a missing repository', async () => {
    const err = await new GitSource({ url: server.url('nope'), cacheDir: join(tmp, 'c5'), env: { GIT_BEARER_TOKEN: token } }).sync().then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err instanceof GitError);
    assert.equal(err.code, 'GitRepositoryNotFound');
    assert.match(err.message, /nope\.git/);
  });
});

describe('GitSource signature verification', function () {
  let server: GitHttpServer;
  let tmp: string;
  let close: () => Promise<void>;
  before(async () => ({ server, tmp, close } = await startGitServer()));
  after(async () => close());

  it('refuses an unsigned or wrongly signed commit and keeps the previous revision', async () => {
    const [trusted, stranger] = await Promise.all([makeKey('Release Bot'), makeKey('Mallory')]);
    const keyring = await readKeyring(trusted.armoredPublic, 'trusted.asc');
    const url = server.createRepo('signed');
    const work = new WorkTree(join(tmp, 'work'), server.repoPath('signed'));
    work.write({ 'a.yaml': rs('a') }).commit('signed by the bot');
    const good = await work.signHead(trusted.privateKey);
    work.push();
    const source = new GitSource({ url, cacheDir: join(tmp, 'cache'), env: {}, verify: keyring });
    assert.equal((await source.sync()).commit, good);

    work.write({ 'b.yaml': rs('b') });
    const unsigned = work.commit('unsigned');
    work.push();
    const e1 = await source.sync().then(
      () => undefined,
      (e: GitError) => e,
    );
    assert.equal(e1?.code, 'GitSignatureInvalid');
    assert.match(e1!.message, new RegExp(`commit ${unsigned.slice(0, 7)} .*not signed.*stays at ${good.slice(0, 7)}`));
    assert.equal(source.current?.commit, good);
    assert.deepEqual([...source.current!.files.keys()], ['a.yaml']);

    work.write({ 'c.yaml': rs('c') }).commit('signed by a stranger');
    const bad = await work.signHead(stranger.privateKey);
    work.push();
    const e2 = await source.sync().then(
      () => undefined,
      (e: GitError) => e,
    );
    assert.equal(e2?.code, 'GitSignatureInvalid');
    assert.match(e2!.message, new RegExp(`commit ${bad.slice(0, 7)}.*signed by key [0-9A-F]{16}, which is not in trusted.asc`));
    assert.equal(source.current?.commit, good);

    work.write({ 'd.yaml': rs('d') }).commit('signed again');
    const fixed = await work.signHead(trusted.privateKey);
    work.push();
    const rev = await source.sync();
    assert.equal(rev.commit, fixed);
    assert.deepEqual([...rev.files.keys()], ['a.yaml', 'b.yaml', 'c.yaml', 'd.yaml']);
    assert.deepEqual(rev.changed.added, ['b.yaml', 'c.yaml', 'd.yaml']);
  });
});
