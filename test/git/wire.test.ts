// The protocol messages of src/git/wire spoken to real git (`git upload-pack` / `git receive-pack`
// in stateless-RPC mode, the programs git http-backend runs), without HTTP in between.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isRestoreError, RestoreError } from '../../src/common/index.ts';
import { blobOid, buildPack, credentialsFromDir, CredentialsError, encodeCommit, GitError, indexPack, objectOid, serializeTree } from '../../src/git/index.ts';
import { agreedCapabilities, parseAdvertisement } from '../../src/git/wire/advertisement.ts';
import { FLUSH, pkt, pktLines } from '../../src/git/wire/pkt-line.ts';
import { parseReceivePackReport, receivePackRequest } from '../../src/git/wire/receive-pack.ts';
import { parseUploadPackResponse, uploadPackRequest } from '../../src/git/wire/upload-pack.ts';
import { tempDir } from '../support/git-server.ts';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Ada Author',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Ada Author',
  GIT_COMMITTER_EMAIL: 'ada@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};
const run = (cwd: string, args: string[], input?: Buffer | string): Buffer =>
  execFileSync('git', args, { cwd, env: GIT_ENV, input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
const git = (cwd: string, args: string[], input?: string) => run(cwd, args, input).toString('utf8').trim();

describe('git layer: protocol messages against real git', function () {
  let tmp: string;
  let work: string;
  let bare: string;
  before(() => {
    tmp = tempDir('rc-gitwire-');
    work = join(tmp, 'work');
    mkdirSync(work);
    git(work, ['init', '--quiet', '--initial-branch=main']);
    for (let i = 0; i < 3; i++) {
      writeFileSync(join(work, `f${i}.yaml`), `n: ${i}\n`);
      git(work, ['add', '-A']);
      git(work, ['commit', '--quiet', '-m', `c${i}`]);
    }
    git(work, ['tag', '-a', '-m', 'release', 'v1']);
    git(work, ['branch', 'other', 'HEAD~1']);
    bare = join(tmp, 'bare.git');
    git(tmp, ['clone', '--quiet', '--bare', work, bare]);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('splits pkt-lines, flushes included', () => {
    const buf = Buffer.concat([pkt('a\n'), FLUSH, pkt('bc')]);
    assert.deepEqual(
      [...pktLines(buf)].map((l) => l?.toString() ?? null),
      ['a\n', null, 'bc'],
    );
  });

  it('parses the ref advertisement git upload-pack sends: refs, peeled tags, capabilities, HEAD', () => {
    const adv = parseAdvertisement(run(bare, ['upload-pack', '--stateless-rpc', '--advertise-refs', '.']));
    const showRef = new Map(
      git(bare, ['show-ref', '--dereference'])
        .split('\n')
        .map((l) => {
          const [oid, name] = l.split(' ');
          return [name!, oid!];
        }),
    );
    showRef.set('HEAD', git(bare, ['rev-parse', 'HEAD']));
    assert.deepEqual(new Map([...adv.refs].sort()), new Map([...showRef].sort()));
    assert.equal(adv.refs.get('refs/tags/v1^{}'), git(bare, ['rev-parse', 'v1^{commit}']));
    assert.equal(adv.head, 'refs/heads/main');
    assert.ok(adv.capabilities.has('side-band-64k') && adv.capabilities.has('ofs-delta'));
    assert.deepEqual(agreedCapabilities(adv, ['side-band-64k', 'no-such-cap']), ['side-band-64k', 'agent=restore-controller']);
  });

  for (const sideband of [true, false]) {
    it(`fetches with an upload-pack request git understands (${sideband ? 'side-band-64k' : 'no side-band'}), haves honoured`, () => {
      const adv = parseAdvertisement(run(bare, ['upload-pack', '--stateless-rpc', '--advertise-refs', '.']));
      const caps = agreedCapabilities(adv, sideband ? ['side-band-64k', 'ofs-delta', 'no-progress'] : ['ofs-delta']);
      const main = adv.refs.get('refs/heads/main')!;
      const have = adv.refs.get('refs/heads/other')!;
      const raw = run(bare, ['upload-pack', '--stateless-rpc', '.'], uploadPackRequest([main], [have], caps));
      const { pack, error } = parseUploadPackResponse(raw, sideband);
      assert.equal(error, undefined);
      const indexed = indexPack(pack, () => {
        throw new Error('no thin pack was asked for');
      });
      const expected = git(bare, ['rev-list', '--objects', main, `^${have}`])
        .split('\n')
        .filter(Boolean);
      assert.equal(indexed.count, expected.length, 'only what `other` lacks');
    });
  }

  it("returns the remote's ERR line as the error", () => {
    // git writes the ERR line, then exits with an error status.
    const raw = spawnSync('git', ['upload-pack', '--stateless-rpc', '.'], {
      cwd: bare,
      env: GIT_ENV,
      input: uploadPackRequest(['1'.repeat(40)], [], ['side-band-64k']),
    }).stdout;
    const { error } = parseUploadPackResponse(raw, true);
    assert.match(error ?? '', /not our ref/);
  });

  it('pushes with a receive-pack request git accepts, and reads its refusal of a stale old value', () => {
    const target = join(tmp, 'push.git');
    git(tmp, ['clone', '--quiet', '--bare', work, target]);
    const adv = parseAdvertisement(run(target, ['receive-pack', '--stateless-rpc', '--advertise-refs', '.']));
    const caps = agreedCapabilities(adv, ['report-status', 'side-band-64k']);
    const tip = adv.refs.get('refs/heads/main')!;
    const content = Buffer.from('pushed: true\n');
    const blob = blobOid(content);
    const treeBytes = serializeTree([{ mode: '100644', path: 'pushed.yaml', oid: blob, type: 'blob' }]);
    const tree = objectOid('tree', treeBytes);
    const stamp = 'restore-controller <rc@localhost> 1780000000 +0000';
    const commitBytes = encodeCommit({ tree, parents: [tip], author: stamp, committer: stamp, message: 'status' });
    const commit = objectOid('commit', commitBytes);
    const { pack } = buildPack([
      { oid: blob, type: 'blob', content },
      { oid: tree, type: 'tree', content: treeBytes },
      { oid: commit, type: 'commit', content: commitBytes },
    ]);

    const ok = run(target, ['receive-pack', '--stateless-rpc', '.'], receivePackRequest('refs/heads/main', tip, commit, caps, pack));
    assert.deepEqual(parseReceivePackReport(ok, 'refs/heads/main', caps), { ok: true });
    assert.equal(git(target, ['rev-parse', 'refs/heads/main']), commit);
    assert.equal(git(target, ['show', 'main:pushed.yaml']), 'pushed: true');

    // The same update again: main is no longer at `tip`, and git refuses rather than overwrite.
    const stale = run(target, ['receive-pack', '--stateless-rpc', '.'], receivePackRequest('refs/heads/main', tip, commit, caps, pack));
    const outcome = parseReceivePackReport(stale, 'refs/heads/main', caps);
    assert.equal(outcome.ok, false);
    assert.equal(git(target, ['rev-parse', 'refs/heads/main']), commit);
  });

  it('raises RestoreErrors with stable codes and typed data', () => {
    const e = new GitError('GitRefNotFound', 'fetching from https://h/r.git: the remote has no branch "x"', { url: 'https://h/r.git', ref: 'x' });
    assert.ok(e instanceof RestoreError && isRestoreError(e, 'GitRefNotFound'));
    assert.equal(e.name, 'GitError');
    assert.equal(e.url, 'https://h/r.git', 'err.url still names the clean URL');
    assert.deepEqual(e.data, { url: 'https://h/r.git', ref: 'x' });
    assert.throws(
      () => credentialsFromDir(join(tmp, 'missing')),
      (err: unknown) => err instanceof CredentialsError && err.code === 'GitCredentialsDirMissing' && err.data.path === join(tmp, 'missing'),
    );
  });
});
