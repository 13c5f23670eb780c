import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { advertise, credentialsFromDir, credentialsFromEnv, fetchPack, GitError, GitRemote, isSshUrl, parseSshUrl, pushPack } from '../../src/git/index.ts';
import { advertisementLength } from '../../src/git/wire/advertisement.ts';
import { shellQuote } from '../../src/git/transport/url.ts';
import { StatusWriter } from '../../src/status/index.ts';
import { makeSshKey, sshFingerprint, useSshd } from '../support/sshd.ts';
import { session, snapshot } from '../status/fixtures.ts';

describe('SSH git URLs', () => {
  it('reads ssh:// and scp-like URLs as git does', () => {
    assert.deepEqual(parseSshUrl('ssh://git@github.com/org/repo.git'), { user: 'git', host: 'github.com', path: '/org/repo.git' });
    assert.deepEqual(parseSshUrl('ssh://git@127.0.0.1:2222/srv/r.git'), { user: 'git', host: '127.0.0.1', port: 2222, path: '/srv/r.git' });
    assert.deepEqual(parseSshUrl('git+ssh://host/~alice/r.git'), { host: 'host', path: '~alice/r.git' });
    assert.deepEqual(parseSshUrl('git@github.com:org/repo.git'), { user: 'git', host: 'github.com', path: 'org/repo.git' });
    assert.deepEqual(parseSshUrl('gitea.local:/srv/git/r.git'), { host: 'gitea.local', path: '/srv/git/r.git' });
    assert.equal(parseSshUrl('https://github.com/org/repo.git'), undefined);
    assert.equal(isSshUrl('./some/dir:with-colon'), false, 'a slash before the colon: a local path');
    assert.equal(isSshUrl('https://git@github.com/org/repo.git'), false);
  });

  it('quotes the path for the remote shell as git does', () => {
    assert.equal(shellQuote("/srv/it's!.git"), "'/srv/it'\\''s'\\!'.git'");
  });

  it('finds the end of a stateful ref advertisement, and only once it is complete', () => {
    const line = '1'.repeat(40) + ' refs/heads/main\0side-band-64k\n';
    const adv = Buffer.from((line.length + 4).toString(16).padStart(4, '0') + line + '0000', 'latin1');
    assert.equal(advertisementLength(Buffer.concat([adv, Buffer.from('0008NAK\n')])), adv.length);
    assert.equal(advertisementLength(adv.subarray(0, adv.length - 2)), -1);
  });

  it('keeps the login name of an ssh URL and chooses the SSH transport', () => {
    const remote = new GitRemote({ url: 'ssh://git:hunter2secret@github.com/org/repo.git', env: {} });
    assert.equal(remote.transport, 'ssh');
    assert.equal(remote.url, 'ssh://git@github.com/org/repo.git');
    assert.equal(new GitRemote({ url: 'git@github.com:org/repo.git', env: {} }).transport, 'ssh');
    assert.equal(new GitRemote({ url: 'https://github.com/org/repo.git', env: {} }).transport, 'http');
  });
});

describe('git over SSH against a real OpenSSH server', function () {
  const ssh = useSshd('rc-ssh-test-');
  const env = (extra: NodeJS.ProcessEnv = {}) => ({ GIT_SSH_KEY_FILE: ssh.sshd.clientKey.key, GIT_SSH_KNOWN_HOSTS_FILE: ssh.sshd.knownHosts, ...extra });
  const packsIn = (gitdir: string) => readdirSync(join(gitdir, 'objects', 'pack')).filter((f) => f.endsWith('.pack')).length;

  it('fetches a branch, then only the new objects (haves) on the next fetch', async () => {
    const { url, work } = ssh.repo();
    work.write({ 'a.yaml': 'a: 1\n', 'dir/b.yaml': 'b: 1\n' });
    const first = work.commit('first');
    work.push();
    const remote = new GitRemote({ url, env: env() });
    const gitdir = join(ssh.tmp, `cache-${ssh.count}`);
    mkdirSync(join(gitdir, 'objects', 'pack'), { recursive: true });
    const adv = await advertise(remote, 'git-upload-pack', 'fetching from');
    assert.equal(adv.refs.get('refs/heads/main'), first);
    assert.equal(adv.head, 'refs/heads/main');
    const got = await fetchPack(remote, gitdir, [first], [], adv);
    assert.equal(got.objects, 5, 'commit, two trees, two blobs');

    work.write({ 'a.yaml': 'a: 2\n' });
    const second = work.commit('second');
    work.push();
    const adv2 = await advertise(remote, 'git-upload-pack', 'fetching from');
    assert.equal(adv2.refs.get('refs/heads/main'), second);
    const more = await fetchPack(remote, gitdir, [second], [first], adv2);
    assert.equal(more.objects, 3, 'only the new commit, root tree and blob');
    assert.equal(packsIn(gitdir), 2);
  });

  it("reads an advertisement that spans many reads of ssh's output (20,000 refs)", async () => {
    const { name, work } = ssh.repo();
    const tip = work.commit('first');
    work.push();
    ssh.sshd.git(name, ['update-ref', '--stdin'], Array.from({ length: 20_000 }, (_, i) => `create refs/tags/t${i} ${tip}\n`).join(''));
    const adv = await advertise(new GitRemote({ url: ssh.sshd.url(name), env: env() }), 'git-upload-pack', 'fetching from');
    assert.equal(adv.refs.size, 20_002, 'HEAD, main and the tags');
    assert.equal(adv.refs.get('refs/tags/t19999'), tip);
  });

  it('pushes the status branch, and a push built on a stale tip is refused by the server', async () => {
    const { name, url } = ssh.repo();
    ssh.sshd.git(name, ['config', 'receive.denyNonFastForwards', 'true']);
    const writer = new StatusWriter({ url, cacheDir: join(ssh.tmp, `status-${ssh.count}`), env: env(), backoffMs: 20 });
    const first = await writer.writeStatus(snapshot('prod', [session('sts-restore', 'Running', { done: 2 })]));
    assert.ok(first.commit);
    assert.equal(ssh.sshd.git(name, ['rev-parse', 'restore-status']).trim(), first.commit);
    assert.match(ssh.sshd.git(name, ['show', 'restore-status:clusters/prod/STATUS.md']), /demo\/sts-restore \| ⏳ Running \| 2\/5/);
    const done = await writer.writeStatus(snapshot('prod', [session('sts-restore', 'Succeeded')]));
    assert.equal(done.parent, first.commit);
    assert.equal(ssh.sshd.git(name, ['rev-parse', 'restore-status']).trim(), done.commit);
    ssh.sshd.git(name, ['fsck', '--strict']);

    // A second writer advertises, then the first one pushes: the second's push names a tip that is
    // no longer the branch's and crosses the wire (the advertisement it holds still agrees).
    const remote = new GitRemote({ url, env: env() });
    const stale = await advertise(remote, 'git-receive-pack', 'pushing to');
    assert.equal(stale.refs.get('refs/heads/restore-status'), done.commit);
    const third = await writer.writeStatus(snapshot('prod', [session('sts-restore', 'Succeeded'), session('db', 'Running', { done: 1 })]));
    assert.equal(third.parent, done.commit);
    const outcome = await pushPack(remote, { ref: 'refs/heads/restore-status', oldOid: done.commit, newOid: first.commit!, pack: emptyPack() }, stale);
    assert.equal(outcome.ok, false);
    assert.equal(ssh.sshd.git(name, ['rev-parse', 'restore-status']).trim(), third.commit, 'the branch is untouched');
  });

  it('refuses an unknown host key, naming the server key fingerprint and how to add it', async () => {
    const { url, work } = ssh.repo();
    work.commit('first');
    work.push();
    const empty = join(ssh.tmp, 'known_hosts-empty');
    writeFileSync(empty, '');
    const remote = new GitRemote({ url, env: env({ GIT_SSH_KNOWN_HOSTS_FILE: empty }) });
    const e = await advertise(remote, 'git-upload-pack', 'fetching from').then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof GitError);
    assert.equal(e.code, 'GitHostKeyUnknown');
    const fp = sshFingerprint(`${ssh.sshd.hostKey.key}.pub`);
    assert.ok(e.message.includes(`ED25519 ${fp}`), e.message);
    assert.ok(e.message.includes(`known_hosts file ${empty} holds no key for [127.0.0.1]:${ssh.sshd.port}`), e.message);
    assert.ok(e.message.includes(`ssh-keyscan -p ${ssh.sshd.port} 127.0.0.1`), e.message);

    // Without any known_hosts: the same refusal, saying where known_hosts is looked for.
    const none = await advertise(new GitRemote({ url, env: { GIT_SSH_KEY_FILE: ssh.sshd.clientKey.key } }), 'git-upload-pack', 'fetching from').then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(none instanceof GitError && none.code === 'GitHostKeyUnknown', String(none));
    assert.match(
      none.message,
      /no known_hosts file was given \(looked for in the file known_hosts in --git-credentials-dir, or the file named by --git-ssh-known-hosts-file or GIT_SSH_KNOWN_HOSTS_FILE\)/,
    );
    assert.ok(none.message.includes(fp));
  });

  it('refuses a changed host key, naming the key the server offers', async () => {
    const { url } = ssh.repo();
    const other = makeSshKey(ssh.tmp, `other-host-${ssh.count}`);
    const known = join(ssh.tmp, `known_hosts-changed-${ssh.count}`);
    writeFileSync(known, `[127.0.0.1]:${ssh.sshd.port} ${other.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
    const e = await advertise(new GitRemote({ url, env: env({ GIT_SSH_KNOWN_HOSTS_FILE: known }) }), 'git-upload-pack', 'fetching from').then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof GitError);
    assert.equal(e.code, 'GitHostKeyChanged');
    assert.ok(e.message.includes(sshFingerprint(`${ssh.sshd.hostKey.key}.pub`)), e.message);
  });

  it('refuses a key the server does not know with GitAuthFailed, naming the key and its fingerprint, never its text', async () => {
    const { url } = ssh.repo();
    const stranger = makeSshKey(ssh.tmp, `stranger-${ssh.count}`);
    const e = await advertise(new GitRemote({ url, env: env({ GIT_SSH_KEY_FILE: stranger.key }) }), 'git-upload-pack', 'fetching from').then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof GitError);
    assert.equal(e.code, 'GitAuthFailed');
    assert.ok(e.message.includes(stranger.key), e.message);
    assert.ok(e.message.includes(sshFingerprint(`${stranger.key}.pub`)), e.message);
    assert.doesNotMatch(e.message, /PRIVATE KEY/);
  });

  it('without a key names where keys are looked for; a missing repository is GitRepositoryNotFound', async () => {
    const { url } = ssh.repo();
    const e = await advertise(new GitRemote({ url, env: { GIT_SSH_KNOWN_HOSTS_FILE: ssh.sshd.knownHosts } }), 'git-upload-pack', 'fetching from').then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof GitError);
    assert.equal(e.code, 'GitSshKeyMissing');
    assert.match(e.message, /looked for in the file identity in --git-credentials-dir, or the file named by --git-ssh-key-file or GIT_SSH_KEY_FILE/);
    const missing = await advertise(new GitRemote({ url: url.replace(/r\d+\.git$/, 'nothing.git'), env: env() }), 'git-upload-pack', 'fetching from').then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(missing instanceof GitError);
    assert.equal(missing.code, 'GitRepositoryNotFound', missing.message);
  });

  it('uses a Secret folder whose key is readable by others (as Kubernetes mounts it) through a private copy it removes', async () => {
    const { url, work } = ssh.repo();
    const head = work.commit('first');
    work.push();
    const dir = ssh.sshd.credentialsDir(`secret-${ssh.count}`);
    assert.equal(statSync(join(dir, 'identity')).mode & 0o777, 0o644);
    const before = readdirSync(tmpdir()).filter((f) => f.startsWith('restorectl-ssh-'));
    const adv = await advertise(new GitRemote({ url, credentialsDir: dir, env: {} }), 'git-upload-pack', 'fetching from');
    assert.equal(adv.refs.get('refs/heads/main'), head);
    assert.deepEqual(
      readdirSync(tmpdir()).filter((f) => f.startsWith('restorectl-ssh-')),
      before,
      'the private copy is removed',
    );
  });
});

/** A pack with no objects (the push is refused before it matters). */
function emptyPack(): Buffer {
  const head = Buffer.concat([Buffer.from('PACK'), Buffer.from([0, 0, 0, 2, 0, 0, 0, 0])]);
  return Buffer.concat([head, createHash('sha1').update(head).digest()]);
}

describe('SSH keys that ssh cannot use, against a real OpenSSH server', function () {
  const ssh = useSshd('rc-ssh-keys-');
  before(() => ssh.sshd.createRepo('k'));
  const attempt = (keyFile: string) =>
    advertise(
      new GitRemote({ url: ssh.sshd.url('k'), env: { GIT_SSH_KEY_FILE: keyFile, GIT_SSH_KNOWN_HOSTS_FILE: ssh.sshd.knownHosts } }),
      'git-upload-pack',
      'fetching from',
    ).then(
      () => undefined,
      (x: unknown) => x,
    );

  it('a file that is no private key, and a key with a passphrase, are GitSshKeyInvalid naming the file', async () => {
    const garbage = join(ssh.tmp, 'not-a-key');
    writeFileSync(garbage, 'this is not a key\n', { mode: 0o600 });
    const e = await attempt(garbage);
    assert.ok(e instanceof GitError);
    assert.equal(e.code, 'GitSshKeyInvalid', e.message);
    assert.ok(e.message.includes(garbage));

    const locked = join(ssh.tmp, 'locked');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'a-passphrase', '-f', locked]);
    const l = await attempt(locked);
    assert.ok(l instanceof GitError);
    assert.equal(l.code, 'GitSshKeyInvalid', l.message);
    assert.match(l.message, /a key with a passphrase is not supported/);
  });

  it('reads the key and known_hosts paths of a Secret folder and of the environment; a flag wins', async () => {
    const dir = ssh.sshd.credentialsDir('paths');
    assert.deepEqual(credentialsFromDir(dir), { identityFile: join(dir, 'identity'), knownHostsFile: join(dir, 'known_hosts') });
    assert.deepEqual(credentialsFromEnv({ GIT_SSH_KEY_FILE: '/k', GIT_SSH_KNOWN_HOSTS_FILE: '/h' }), { identityFile: '/k', knownHostsFile: '/h' });
    // The folder names a key the server refuses; the flag's key is accepted.
    const stranger = makeSshKey(ssh.tmp, 'stranger');
    const refusedDir = ssh.sshd.credentialsDir('refused', { key: stranger });
    const tip = ssh.sshd.git('k', ['commit-tree', '-m', 'init', ssh.sshd.git('k', ['mktree'], '').trim()]).trim();
    ssh.sshd.git('k', ['update-ref', 'refs/heads/main', tip]);
    const byFlag = await advertise(
      new GitRemote({ url: ssh.sshd.url('k'), credentialsDir: refusedDir, sshKeyFile: ssh.sshd.clientKey.key, env: {} }),
      'git-upload-pack',
      'fetching from',
    );
    assert.equal(byFlag.refs.get('refs/heads/main'), tip);
  });
});
