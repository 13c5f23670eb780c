import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GitError, readGitRevisions } from '../../src/source/index.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import type { GitHttpServer } from '../support/git-server.ts';

const rs = (name: string) => `apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata:\n  name: ${name}\n  namespace: demo\nspec: {}\n`;

describe('readGitRevisions: a base and a head of one remote, read in one fetch', function () {
  let server: GitHttpServer;
  let tmp: string;
  let close: () => Promise<void>;
  let url: string;
  let work: WorkTree;
  let first: string;
  let second: string;
  let third: string;
  let middle: string;

  before(async () => {
    ({ server, tmp, close } = await startGitServer({ bearerToken: 'tok-revisions' }));
    url = server.createRepo('revisions');
    work = new WorkTree(join(tmp, 'work'), server.repoPath('revisions'));
    work.write({ 'clusters/prod/a.yaml': rs('a'), 'clusters/staging/s.yaml': rs('s'), 'README.md': '# repo' });
    first = work.commit('first');
    work.git(['tag', '-a', 'v1', '-m', 'release 1']);
    work.write({ 'clusters/prod/m.yaml': rs('m') });
    middle = work.commit('middle');
    work.remove('clusters/prod/m.yaml');
    work.write({ 'clusters/prod/b.yaml': rs('b') });
    second = work.commit('second');
    work.push();
    work.git(['push', '--quiet', 'origin', 'v1']);
    work.git(['checkout', '--quiet', '-b', 'feature']);
    work.write({ 'clusters/prod/a.yaml': rs('a2') });
    third = work.commit('third');
    work.push({ ref: 'feature' });
  });
  after(async () => close());

  const env = { GIT_BEARER_TOKEN: 'tok-revisions' };

  it('reads a branch, a feature branch and an annotated tag under the path, in one upload-pack request', async () => {
    const before = server.requests.filter((r) => r.service === 'upload-pack' && r.method === 'POST').length;
    const [base, head, tag] = await readGitRevisions({ url, path: 'clusters/prod', env }, ['main', 'feature', 'v1']);
    assert.equal(server.requests.filter((r) => r.service === 'upload-pack' && r.method === 'POST').length - before, 1);
    assert.equal(base!.commit, second);
    assert.deepEqual([...base!.files.keys()], ['clusters/prod/a.yaml', 'clusters/prod/b.yaml']);
    assert.equal(head!.commit, third);
    assert.match(head!.files.get('clusters/prod/a.yaml')!, /name: a2/);
    assert.equal(tag!.commit, first, 'the annotated tag is peeled to its commit');
    assert.deepEqual([...tag!.files.keys()], ['clusters/prod/a.yaml']);
  });

  it('reads a commit by its full id, even one no branch or tag points at', async () => {
    const [r] = await readGitRevisions({ url, path: 'clusters/prod', env }, [middle]);
    assert.equal(r!.commit, middle);
    assert.deepEqual([...r!.files.keys()], ['clusters/prod/a.yaml', 'clusters/prod/m.yaml']);
  });

  it('refuses a commit id the remote does not have, saying what to give instead', async () => {
    const err = await readGitRevisions({ url, env }, ['0123456789abcdef0123456789abcdef01234567']).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof GitError);
    assert.equal(err.code, 'GitRefNotFound');
    assert.match(err.message, /commit 0123456789abcdef0123456789abcdef01234567 is on none of the remote's branches or tags/);
  });

  it('says which ref is missing and which branches exist', async () => {
    const err = await readGitRevisions({ url, env }, ['main', 'nope']).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof GitError);
    assert.equal(err.code, 'GitRefNotFound');
    assert.match(err.message, /no branch or tag "nope" \(branches: feature, main\); check --base\/--head/);
  });

  it('names the credentials to set when the remote refuses, and never prints the token', async () => {
    const err = await readGitRevisions({ url, env: { GIT_BEARER_TOKEN: 'wrong-token' } }, ['main']).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof GitError);
    assert.equal(err.code, 'GitAuthFailed');
    assert.doesNotMatch(err.message, /wrong-token/);
  });
});
