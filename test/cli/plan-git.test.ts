// `restorectl plan --git-url … --base … --head …` as a CI job runs it: a real git server holding the
// examples, a pull request's head commit, a real restic repository for `latest`, the program run
// as a process.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { contentId } from '../../src/plan/index.ts';
import { StatusWriter } from '../../src/status/index.ts';
import type { ManagedSession } from '../../src/status/index.ts';
import { REPO_ROOT, restorectl } from '../support/cli.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import type { GitHttpServer } from '../support/git-server.ts';
import { makeRepo, requireSeeding } from '../support/restic-repo.ts';

const TOKEN = 'plan-git-token-5c1e';
const PASSWORD = 'plan-restic-password-91d2';

/** The examples as a GitOps repository: manifests under clusters/demo, the Repository pointed at `repoPath`. */
function writeExamples(work: WorkTree, repoPath: string): void {
  cpSync(join(REPO_ROOT, 'examples/clusters'), join(work.dir, 'clusters'), { recursive: true });
  const repo = join(work.dir, 'clusters/demo/repository.yaml');
  writeFileSync(repo, readFileSync(repo, 'utf8').replace('mountPath: /safe/data', `mountPath: ${repoPath}`));
}

const addedRestore = (explicitId: string) => `# Restores the StatefulSet to its state before the March incident.
apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata:
  name: sts-restore-march
  namespace: demo
spec:
  repository:
    name: local-repo
  target:
    alias: my-sts
    ref:
      apiVersion: apps/v1
      kind: StatefulSet
      name: recovered-statefulset
    volumeMounts:
      - name: source-data
        mountPath: /source/data
    rules:
      - targetHosts: ["my-sts-0"]
        snapshots: ["latest"]
      - targetHosts: ["my-sts-1"]
        snapshots: ["${explicitId.slice(0, 8)}"]
      - targetHosts: ["my-sts-3", "my-sts-4"]
        sourceHost: my-sts-2
        paths: ["/source/data"]
        include: ["*.json"]
      - paths: ["/source/data"]
        exclude: ["tmp.json"]
`;

describe('restorectl plan of a pull request, from a git remote', function () {
  let server: GitHttpServer;
  let tmp: string;
  let close: () => Promise<void>;
  let url: string;
  let work: WorkTree;
  let base: string;
  let ids: string[];
  let passwordFile: string;
  const env = () => ({ GIT_BEARER_TOKEN: TOKEN, RESTIC_PASSWORD: '' });

  before(async function () {
    await requireSeeding(this);
    ({ server, tmp, close } = await startGitServer({ bearerToken: TOKEN }));
    const seeded = await makeRepo({
      dir: tmp,
      password: PASSWORD,
      snapshots: [
        { host: 'my-sts-0', files: { '/source/data/a.json': '1' }, time: new Date('2024-03-01T10:00:00Z') },
        { host: 'my-sts-0', files: { '/source/data/a.json': '2' }, time: new Date('2024-03-02T10:00:00Z') },
        { host: 'my-sts-1', files: { '/source/data/b.json': '1' }, time: new Date('2024-03-01T11:00:00Z') },
        { host: 'my-sts-1', files: { '/source/data/b.json': '2' }, time: new Date('2024-03-03T11:00:00Z') },
        { host: 'my-sts-2', files: { '/source/data/c.json': '1' }, time: new Date('2024-03-01T12:00:00Z') },
      ],
    });
    ids = seeded.snapshotIds;
    passwordFile = join(tmp, 'restic-password');
    writeFileSync(passwordFile, `${PASSWORD}\n`);
    url = server.createRepo('restores');
    work = new WorkTree(join(tmp, 'work'), server.repoPath('restores'));
    writeExamples(work, seeded.repoPath);
    base = work.commit('The examples');
    work.push();
  });
  after(async () => close?.());

  const plan = (args: string[]) =>
    restorectl(['plan', '--git-url', url, '--path', 'clusters/demo', '--cluster-state', 'examples/cluster-state', ...args], { env: env() });

  it('shows the added restore with a line per host and the snapshot latest resolves to', async () => {
    work.git(['checkout', '--quiet', '-b', 'add-march-restore', base]);
    work.write({ 'clusters/demo/sts-restore-march.yaml': addedRestore(ids[2]!) });
    const head = work.commit('Restore the StatefulSet from before the March incident');
    work.push({ ref: 'add-march-restore' });

    const r = await plan(['--base', 'main', '--head', 'add-march-restore', '--output', 'markdown', '--restic-password-file', passwordFile]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const md = r.stdout;
    const lines = md.split('\n');
    assert.equal(lines[0], '<!-- restorectl-plan -->', 'the marker the workflow finds its comment by');
    assert.equal(lines[1], `### restore-controller plan for commit ${head.slice(0, 12)} merged into main (${base.slice(0, 12)})`);
    assert.match(md, /\*\*this change: 1 create; whole plan: 6 create; 0 error\(s\), 0 warning\(s\)\*\*/);
    assert.match(
      md,
      /^\| \+ \| create \| added \| RestoreSession `demo\/sts-restore-march` \| init-container \| 5 \| restarts StatefulSet recovered-statefulset: 5 pods roll/m,
    );
    const short = (i: number) => `\`${ids[i]!.slice(0, 8)}\``;
    const hostLines = lines.filter((l) => l.startsWith('| `my-sts-'));
    assert.deepEqual(hostLines, [
      `| \`my-sts-0\` | ${short(1)} (2024-03-02T10:00:00Z) | \`my-sts-0\` |  |  |  |`,
      `| \`my-sts-1\` | ${short(2)} (2024-03-01T11:00:00Z) | \`my-sts-1\` |  |  |  |`,
      `| \`my-sts-2\` | ${short(4)} (2024-03-01T12:00:00Z) | \`my-sts-2\` | \`/source/data\` |  | \`tmp.json\` |`,
      `| \`my-sts-3\` | ${short(4)} (2024-03-01T12:00:00Z) | \`my-sts-2\` | \`/source/data\` | \`*.json\` |  |`,
      `| \`my-sts-4\` | ${short(4)} (2024-03-01T12:00:00Z) | \`my-sts-2\` | \`/source/data\` | \`*.json\` |  |`,
    ]);
    // Only the change is detailed; the examples it leaves alone are one line.
    assert.doesNotMatch(md, /deployment-restore|pvc-restore|`demo\/sts-restore`/);
    assert.match(md, /^\*\*Not touched by this change:\*\* 4 RestoreSessions, 1 Repository: 5 create$/m);
    for (const secret of [TOKEN, PASSWORD]) assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'no credential is printed');
  });

  it('fails with exit 1 on a change with an error, the diagnostic first with file:line:col', async () => {
    work.git(['checkout', '--quiet', '-b', 'broken', base]);
    const broken = addedRestore(ids[2]!)
      .replace('name: sts-restore-march', 'name: sts-restore-broken')
      .replace('targetHosts: ["my-sts-3", "my-sts-4"]', 'targetHosts: ["my-sts-3", "my-sts-0"]');
    work.write({ 'clusters/demo/broken.yaml': broken });
    work.commit('A restore with a host in two rules');
    work.push({ ref: 'broken' });

    const r = await plan(['--base', base, '--head', 'broken', '--output', 'markdown', '--restic-password-file', passwordFile]);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const md = r.stdout;
    const line = broken.split('\n').findIndex((l) => l.includes('"my-sts-0"]') && l.includes('my-sts-3')) + 1;
    assert.match(md, new RegExp(`^- ❌ error \`clusters/demo/broken\\.yaml:${line}:\\d+\` host "my-sts-0" is listed in rules 0 and 2`, 'm'));
    assert.ok(md.indexOf('#### Diagnostics') < md.indexOf('#### What this change does'), 'diagnostics come first');
    // A manifest with an error is never applied (issue #15): the daemon blocks it, and the plan says so.
    assert.match(md, new RegExp(`^### restore-controller plan for commit [0-9a-f]{12} merged into commit ${base.slice(0, 12)}$`, 'm'));
    assert.match(md, /\*\*this change: 1 blocked; whole plan: 5 create, 1 blocked; 1 error\(s\)/);

    const text = await plan(['--base', base, '--head', 'broken', '--no-restic']);
    assert.equal(text.code, 1);
    assert.match(
      text.stdout.split('\n').slice(0, 4).join('\n'),
      new RegExp(`^Diagnostics:\\n {2}clusters/demo/broken\\.yaml:${line}:\\d+: error: host "my-sts-0" is listed in rules 0 and 2`, 'm'),
    );
  });

  it('decides from the status branch as the daemon would: noop, rerun, blocked, prune', async () => {
    // What the daemon wrote after running the examples in cluster "demo".
    const declared = (file: string) => parse(readFileSync(join(work.dir, 'clusters/demo', file), 'utf8')) as RestoreSession;
    work.git(['checkout', '--quiet', '-f', base]);
    const ran = (file: string, phase: 'Succeeded' | 'Running'): ManagedSession => {
      const s = declared(file);
      const id = contentId(s);
      return {
        namespace: 'demo',
        name: s.metadata.name,
        contentId: id,
        source: { url, branch: 'main', commit: base, file: `clusters/demo/${file}` },
        executions: [{ contentId: id, phase, acceptedAt: '2026-11-29T03:00:00Z', ...(phase === 'Succeeded' ? { finishedAt: '2026-11-29T03:02:46Z' } : {}) }],
        status: { phase },
      };
    };
    await new StatusWriter({ url, cacheDir: join(tmp, 'status-cache'), env: { GIT_BEARER_TOKEN: TOKEN } }).writeStatus({
      cluster: 'demo',
      source: { url, branch: 'main', commit: base },
      sessions: [
        ran('sts-restore.yaml', 'Succeeded'),
        ran('deployment-restore.yaml', 'Succeeded'),
        ran('pvc-restore.yaml', 'Succeeded'),
        ran('snapshot-restore.yaml', 'Running'),
      ],
    });

    work.git(['checkout', '--quiet', '-b', 'status-aware', base]);
    const bump = (f: string) =>
      readFileSync(join(work.dir, f), 'utf8').replace('  namespace: demo\n', '  namespace: demo\n  annotations:\n    restore.gitops/rerun: "2"\n');
    work.write({
      'clusters/demo/sts-restore.yaml': bump('clusters/demo/sts-restore.yaml'),
      'clusters/demo/deployment-restore.yaml': readFileSync(join(work.dir, 'clusters/demo/deployment-restore.yaml'), 'utf8').replace(
        'timeOut: 30m',
        'timeOut: 45m',
      ),
    });
    work.remove('clusters/demo/snapshot-restore.yaml');
    work.commit('Run the StatefulSet restore again, give the Deployment restore more time, drop the snapshot restore');
    work.push({ ref: 'status-aware' });

    const args = ['--base', 'main', '--head', 'status-aware', '--status-branch', 'restore-status', '--cluster', 'demo', '--no-restic'];
    const json = await plan([...args, '--output', 'json']);
    assert.equal(json.code, 0, json.stderr + json.stdout);
    const actions = Object.fromEntries((JSON.parse(json.stdout).actions as { name: string; action: string; reason?: string }[]).map((a) => [a.name, a]));
    assert.equal(actions['sts-restore']!.action, 'rerun');
    assert.equal(actions['deployment-restore']!.action, 'blocked');
    assert.match(
      actions['deployment-restore']!.reason!,
      /RestoreSession specs are immutable: rename the session to run a new restore, or bump metadata\.annotations\["restore\.gitops\/rerun"\]/,
    );
    assert.equal(actions['pvc-restore']!.action, 'noop');
    assert.match(actions['pvc-restore']!.reason!, /already ran: Succeeded at 2026-11-29T03:02:46Z/);
    assert.equal(actions['snapshot-restore']!.action, 'blocked', 'removed while running: pruned once final');
    assert.match(actions['snapshot-restore']!.reason!, /removed from the source but still Running/);

    const md = await plan([...args, '--output', 'markdown']);
    assert.equal(md.code, 0);
    assert.match(md.stdout, /^\| ↻ \| rerun \| changed \| RestoreSession `demo\/sts-restore` \|/m);
    assert.match(md.stdout, /^\| ! \| blocked \| changed \| RestoreSession `demo\/deployment-restore` \|.*rename the session/m);
    assert.match(md.stdout, /^\| ! \| blocked \| removed \| RestoreSession `demo\/snapshot-restore` \|/m);
    assert.match(md.stdout, /^\*\*Not touched by this change:\*\* 1 RestoreSession, 1 Repository: 1 create, 1 noop$/m);
  });

  it('says what is wrong with the remote and exits 2', async () => {
    const r = await restorectl(['plan', '--git-url', url, '--base', 'main', '--head', 'no-such-branch'], { env: env() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /the remote has no branch or tag "no-such-branch" \(branches: .*main.*\); check --base\/--head/);
    const denied = await restorectl(['plan', '--git-url', url, '--head', 'main'], { env: { GIT_BEARER_TOKEN: 'wrong' } });
    assert.equal(denied.code, 2);
    assert.match(denied.stderr, /HTTP 401: the credentials were refused/);
  });
});
