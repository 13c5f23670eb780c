// `restorectl rerun NS/NAME` as a user runs it, against a real git server: one commit on the
// source branch that bumps restore.gitops/rerun and changes nothing else; a patch instead when the
// branch is protected or with --print-patch; a session no manifest declares is an error naming where it looked.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, restorectl } from '../support/cli.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import type { GitHttpServer } from '../support/git-server.ts';

const PASSWORD = 'rerun-test-token-7d21';
const example = (f: string) => readFileSync(join(REPO_ROOT, 'examples/clusters/demo', f), 'utf8');

const LIST = `# exported, then kept in git
apiVersion: v1
kind: List
items:
  - apiVersion: stash.appscode.com/v1beta1
    kind: RestoreSession
    metadata:
      name: pvc-restore
      namespace: demo
      annotations:
        restore.gitops/rerun: "7"   # bumped by hand before
    spec:
      repository:
        name: local-repo
      target:
        ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: stash-sample-data}
        rules:
          - paths: ["/source/data"]
`;

describe('restorectl rerun', function () {
  this.timeout(120_000);
  let server: GitHttpServer;
  let tmp: string;
  let close: () => Promise<void>;
  let url: string;
  let work: WorkTree;
  const env = { GIT_USERNAME: 'bot', GIT_PASSWORD: PASSWORD };
  const onMain = (path: string) => server.git('restores', ['show', `main:${path}`]);
  const rerun = (args: string[]) => restorectl(['rerun', ...args, '--git-url', url, '--path', 'clusters/demo', '--by', 'ada@ops'], { env });

  before(async () => {
    ({ server, tmp, close } = await startGitServer({ username: 'bot', password: PASSWORD }));
    url = server.createRepo('restores');
    work = new WorkTree(join(tmp, 'work'), server.repoPath('restores'));
    work
      .write({
        'clusters/demo/repository.yaml': example('repository.yaml'),
        'clusters/demo/sts-restore.yaml': example('sts-restore.yaml'),
        'clusters/demo/more.yaml': LIST,
        'other/sts-restore.yaml': example('sts-restore.yaml'),
      })
      .commit('Add restores');
    work.push();
  });
  after(() => close());

  it('--help says what it commits and when it prints a patch', async () => {
    const r = await restorectl(['rerun', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /bumps its metadata\.annotations\["restore\.gitops\/rerun"\]/);
    assert.match(r.stdout, /--print-patch/);
  });

  it('pushes one commit that adds the annotation and changes no other line; again, it counts up', async () => {
    const before = onMain('clusters/demo/sts-restore.yaml');
    const r = await rerun(['demo/sts-restore']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^pushed [0-9a-f]{7} to main of http:\/\/127\.0\.0\.1:\d+\/restores\.git: demo\/sts-restore in clusters\/demo\/sts-restore\.yaml, restore\.gitops\/rerun → "1"/,
    );
    assert.doesNotMatch(r.stdout + r.stderr, new RegExp(PASSWORD));
    assert.equal(server.git('restores', ['log', '-1', '--format=%s%n%an']).trim(), 'rerun(demo/sts-restore): restore.gitops/rerun (none) → "1"\nada@ops');
    const after = onMain('clusters/demo/sts-restore.yaml');
    assert.equal(after, before.replace('  namespace: demo\n', '  namespace: demo\n  annotations:\n    restore.gitops/rerun: "1"\n'));
    assert.equal(server.git('restores', ['diff', '--numstat', 'main~1', 'main']).trim(), '2\t0\tclusters/demo/sts-restore.yaml');

    const again = await rerun(['demo/sts-restore']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(onMain('clusters/demo/sts-restore.yaml'), /^ {4}restore\.gitops\/rerun: "2"$/m);
    assert.equal(server.git('restores', ['diff', '--numstat', 'main~1', 'main']).trim(), '1\t1\tclusters/demo/sts-restore.yaml');
  });

  it('bumps an item of a List in place, keeping its comments', async () => {
    const r = await rerun(['demo/pvc-restore']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(onMain('clusters/demo/more.yaml'), LIST.replace('"7"   # bumped', '"8"   # bumped'));
  });

  it('--print-patch prints a patch git applies, and pushes nothing', async () => {
    const head = server.git('restores', ['rev-parse', 'main']).trim();
    const r = await rerun(['demo/sts-restore', '--print-patch']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(server.git('restores', ['rev-parse', 'main']).trim(), head);
    work.git(['pull', '--quiet', 'origin', 'main']);
    writeFileSync(join(tmp, 'rerun.patch'), r.stdout);
    work.git(['apply', '--check', join(tmp, 'rerun.patch')]);
    assert.match(r.stdout, /^- {4}restore\.gitops\/rerun: "2"\n\+ {4}restore\.gitops\/rerun: "3"$/m);
  });

  it('a protected branch (a hook that refuses): exit 1, the patch on stdout and why on stderr', async () => {
    const hook = join(server.repoPath('restores'), 'hooks', 'pre-receive');
    writeFileSync(hook, '#!/bin/sh\necho "main is protected: open a pull request" >&2\nexit 1\n');
    chmodSync(hook, 0o755);
    try {
      const r = await rerun(['demo/sts-restore']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^\+ {4}restore\.gitops\/rerun: "3"$/m);
      assert.match(r.stderr, /cannot push to main \(.*refused the push: .*\(a protected branch, or a hook said no\)\); the change is printed above as a patch/);
    } finally {
      writeFileSync(hook, '#!/bin/sh\nexit 0\n');
    }
  });

  it('a session no manifest declares, and a bad name: exit 2 saying where it looked', async () => {
    const r = await rerun(['demo/nope']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /no manifest on main@[0-9a-f]{7} of http:\/\/127\.0\.0\.1:\d+\/restores\.git under clusters\/demo declares RestoreSession demo\/nope; check the name, --branch and --path/,
    );
    const bad = await rerun(['sts-restore']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /"sts-restore" is not NAMESPACE\/NAME of a RestoreSession/);
    const twice = await restorectl(['rerun', 'demo/sts-restore', '--git-url', url], { env });
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /declared in 2 files \(clusters\/demo\/sts-restore\.yaml, other\/sts-restore\.yaml\)/);
  });
});
