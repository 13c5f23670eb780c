// The Source, `restorectl plan` and `restorectl status` against a real OpenSSH server (sshd with
// git-shell, test/support/sshd.ts), with the deploy key of a Flux GitRepository Secret.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitSource } from '../../src/source/index.ts';
import { StatusWriter } from '../../src/status/index.ts';
import { restorectl, REPO_ROOT } from '../support/cli.ts';
import { startSandbox } from '../support/sandbox.ts';
import { sshFingerprint, useSshd } from '../support/sshd.ts';
import { session, snapshot } from '../status/fixtures.ts';

const rs = (name: string) => `apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata:\n  name: ${name}\n  namespace: demo\nspec: {}\n`;
const example = (file: string) => readFileSync(join(REPO_ROOT, 'examples/clusters/demo', file), 'utf8');

describe('the Source and the CLI over SSH against a real OpenSSH server', function () {
  const ssh = useSshd('rc-ssh-source-', 's');

  it('follows a branch with a Flux Secret folder: the first sync, then only what changed, and a pinned older commit', async () => {
    const { url, work } = ssh.repo();
    work.write({ 'clusters/prod/a.yaml': rs('a'), 'clusters/prod/b.yaml': rs('b'), 'README.md': '# x' });
    const first = work.commit('first');
    work.push();
    const credentialsDir = ssh.sshd.credentialsDir(`flux-${ssh.count}`);
    const source = new GitSource({ url, credentialsDir, path: 'clusters/prod', cacheDir: join(ssh.tmp, `cache-${ssh.count}`), env: {} });
    const rev = await source.sync();
    assert.equal(rev.commit, first);
    assert.equal(rev.branch, 'main');
    assert.equal(rev.url, url);
    assert.deepEqual([...rev.files.keys()], ['clusters/prod/a.yaml', 'clusters/prod/b.yaml']);

    work.write({ 'clusters/prod/b.yaml': rs('b2'), 'clusters/prod/c.yaml': rs('c') });
    const second = work.commit('second');
    work.push();
    const next = await source.sync();
    assert.equal(next.commit, second);
    assert.equal(next.previousCommit, first);
    assert.deepEqual(next.changed, { added: ['clusters/prod/c.yaml'], modified: ['clusters/prod/b.yaml'], deleted: [] });
    assert.equal(next.files.get('clusters/prod/b.yaml'), rs('b2'));

    // A commit that is no tip, pinned: fetched with every branch and tag, over SSH too.
    const pinned = new GitSource({
      url,
      credentialsDir,
      ref: first.slice(0, 10),
      path: 'clusters/prod',
      cacheDir: join(ssh.tmp, `cache-pinned-${ssh.count}`),
      env: {},
    });
    const old = await pinned.sync();
    assert.equal(old.commit, first);
    assert.equal(old.files.get('clusters/prod/b.yaml'), rs('b'));
  });

  it('`restorectl plan --git-url ssh://…` reads the head with --git-ssh-key-file and --git-ssh-known-hosts-file', async () => {
    const { url, work } = ssh.repo();
    work.write({ 'clusters/demo/sts-restore.yaml': example('sts-restore.yaml'), 'clusters/demo/repository.yaml': example('repository.yaml') });
    const head = work.commit('the examples');
    work.push();
    const r = await restorectl(
      [
        'plan',
        '--git-url',
        url,
        '--head',
        'main',
        '--path',
        'clusters/demo',
        '--no-restic',
        '-o',
        'json',
        '--git-ssh-key-file',
        ssh.sshd.clientKey.key,
        '--git-ssh-known-hosts-file',
        ssh.sshd.knownHosts,
      ],
      { env: { GIT_SSH_KEY_FILE: '', GIT_SSH_KNOWN_HOSTS_FILE: '' } },
    );
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const plan = JSON.parse(r.stdout) as { sourceCommit: string; actions: { action: string; kind: string; name: string }[] };
    assert.equal(plan.sourceCommit, head);
    assert.deepEqual(
      plan.actions.map((a) => `${a.action} ${a.kind} ${a.name}`).sort(),
      ['create Repository local-repo', 'create RestoreSession sts-restore'].sort(),
    );
  });

  it('`restorectl status --git-url ssh://…` reads what the StatusWriter pushed over SSH; an unknown host exits 2 with the fingerprint', async () => {
    const { url } = ssh.repo();
    const credentialsDir = ssh.sshd.credentialsDir(`status-${ssh.count}`);
    const writer = new StatusWriter({ url, credentialsDir, cacheDir: join(ssh.tmp, `status-${ssh.count}`), env: {} });
    const pushed = await writer.writeStatus(snapshot('prod', [session('sts-restore', 'Succeeded')]));
    assert.ok(pushed.commit);
    const r = await restorectl(['status', '--git-url', url, '--git-credentials-dir', credentialsDir, '-o', 'json'], {
      env: { GIT_SSH_KEY_FILE: '', GIT_SSH_KNOWN_HOSTS_FILE: '' },
    });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { url: string; commit: string; sessions: { name: string; phase: string }[] };
    assert.equal(out.url, url);
    assert.equal(out.commit, pushed.commit);
    assert.deepEqual(
      out.sessions.map((s) => `${s.name} ${s.phase}`),
      ['sts-restore Succeeded'],
    );

    const stranger = ssh.sshd.credentialsDir(`no-known-host-${ssh.count}`, { knownHosts: '' });
    const refused = await restorectl(['status', '--git-url', url, '--git-credentials-dir', stranger], {
      env: { GIT_SSH_KEY_FILE: '', GIT_SSH_KNOWN_HOSTS_FILE: '' },
    });
    assert.equal(refused.code, 2, refused.stderr);
    assert.ok(refused.stderr.includes(sshFingerprint(`${ssh.sshd.hostKey.key}.pub`)), refused.stderr);
    assert.match(refused.stderr, /host key refused/);
    assert.doesNotMatch(refused.stderr + refused.stdout, /PRIVATE KEY|b3BlbnNzaC1rZXktdjE/);
  });
  it('`restorectl run --once` follows an ssh:// remote with a Flux Secret folder and pushes its status branch there', async () => {
    const { name, url, work } = ssh.repo();
    work.write({ 'clusters/demo/repository.yaml': example('repository.yaml'), 'clusters/demo/sts-restore.yaml': example('sts-restore.yaml') });
    const head = work.commit('Add restores');
    work.push();
    const credentialsDir = ssh.sshd.credentialsDir(`run-${ssh.count}`);
    const t = await startSandbox();
    try {
      for (const args of [
        ['apply', '--server-side', '-f', 'deploy/crds'],
        ['apply', '-f', 'examples/cluster-state/namespace.yaml'],
        ['apply', '-f', 'examples/cluster-state/workloads.yaml'],
      ]) {
        const k = await t.kubectl(args);
        assert.equal(k.code, 0, k.stderr);
      }
      const r = await restorectl(
        [
          'run',
          '--once',
          '--git-url',
          url,
          '--git-credentials-dir',
          credentialsDir,
          '--path',
          'clusters/demo',
          '--cluster',
          'demo',
          '--kubeconfig',
          t.kubeconfigPath,
          '--cache-dir',
          join(ssh.tmp, `run-cache-${ssh.count}`),
        ],
        { env: { LOG_LEVEL: 'info', GIT_SSH_KEY_FILE: '', GIT_SSH_KNOWN_HOSTS_FILE: '' } },
      );
      assert.equal(r.code, 0, r.stderr);
      const k = await t.kubectl(['get', 'restoresessions.stash.appscode.com', '-n', 'demo', '-o', 'name']);
      assert.match(k.stdout, /sts-restore/);
      assert.match(ssh.sshd.git(name, ['show', 'restore-status:clusters/demo/STATUS.md']), /demo\/sts-restore/);
      assert.match(ssh.sshd.git(name, ['log', '-1', '--format=%(trailers:key=Source-Commit,valueonly)', 'restore-status']), new RegExp(head));
      const key = readFileSync(ssh.sshd.clientKey.key, 'utf8')
        .split('\n')
        .filter((l) => l.length > 20);
      for (const line of key) assert.ok(!(r.stderr + r.stdout).includes(line), 'no line of the deploy key is logged');
    } finally {
      await t.stop();
    }
  });
});
