// The inputs users have (issue 15, item 6), through the real program: a `kind: List` exported by
// kubectl (from the sandbox) as the cluster state and as manifests, `--base` as a short commit id or
// a CI ref name (`origin/main`) against a real git server, and a DaemonSet target whose cluster
// state has no Nodes.
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, restorectl } from '../support/cli.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import { startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const DAEMONSET = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: node-agent
  namespace: demo
spec:
  selector:
    matchLabels: { app: node-agent }
  template:
    metadata:
      labels: { app: node-agent }
    spec:
      containers:
        - name: app
          image: busybox
          volumeMounts:
            - name: data
              mountPath: /data
      volumes:
        - name: data
          emptyDir: {}
`;

const DS_RESTORE = `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata:
  name: ds-restore
  namespace: demo
spec:
  repository:
    name: local-repo
  target:
    ref:
      apiVersion: apps/v1
      kind: DaemonSet
      name: node-agent
    volumeMounts:
      - name: data
        mountPath: /data
    rules:
      - paths: ["/data"]
`;

type PlanJson = {
  diagnostics: { file: string; line: number; column: number; path: string; severity: string; message: string }[];
  actions: { action: string; name: string; totalHosts?: number; hosts?: { host: string }[] }[];
};

describe('inputs users have', function () {
  this.timeout(180_000);
  let tmp: string;
  let source: string;

  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'user-inputs-'));
    source = join(tmp, 'source');
    cpSync(join(REPO_ROOT, 'examples/clusters/demo'), source, { recursive: true });
    writeFileSync(join(source, 'ds-restore.yaml'), DS_RESTORE);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  describe('a cluster state exported by kubectl (kind: List)', () => {
    let t: TestSandbox;
    before(async () => {
      t = await startSandbox({ nodes: 2 });
      for (const args of [
        ['apply', '-f', 'examples/cluster-state/namespace.yaml'],
        ['apply', '-f', 'examples/cluster-state/workloads.yaml'],
        ['apply', '-f', '-'],
      ]) {
        const r = await t.kubectl(args, args[2] === '-' ? DAEMONSET : undefined);
        assert.equal(r.code, 0, r.stderr);
      }
    });
    after(() => t.stop());

    const exportTo = async (file: string, kinds: string) => {
      const r = await t.kubectl(['get', kinds, '-A', '-o', 'yaml']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^kind: List$/m, 'kubectl exports a List');
      writeFileSync(file, r.stdout);
      return file;
    };

    it('plans against `kubectl get … -o yaml`: the items are the objects, a DaemonSet gets a host per Node', async () => {
      const state = await exportTo(join(tmp, 'export.yaml'), 'statefulsets,deployments,daemonsets,persistentvolumeclaims,nodes');
      const r = await restorectl(['plan', '--source', source, '--cluster-state', state, '--output', 'json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const plan = JSON.parse(r.stdout) as PlanJson;
      assert.deepEqual(
        plan.diagnostics.filter((d) => /List|metadata\.name/.test(d.message)),
        [],
      );
      const sts = plan.actions.find((a) => a.name === 'sts-restore')!;
      assert.equal(sts.totalHosts, 5);
      const ds = plan.actions.find((a) => a.name === 'ds-restore')!;
      assert.equal(ds.action, 'create');
      assert.equal(ds.hosts?.length, 2, JSON.stringify(ds));
    });

    it('a DaemonSet target when the export has no Nodes: a warning that says to add them, and no host list that reads as "restores nothing"', async () => {
      const state = await exportTo(join(tmp, 'no-nodes.yaml'), 'statefulsets,deployments,daemonsets,persistentvolumeclaims');
      const r = await restorectl(['plan', '--source', source, '--cluster-state', state, '--output', 'json']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const plan = JSON.parse(r.stdout) as PlanJson;
      const ds = plan.actions.find((a) => a.name === 'ds-restore')!;
      assert.equal(ds.hosts, undefined);
      assert.equal(ds.totalHosts, undefined);
      const warning = plan.diagnostics.find((d) => d.file.endsWith('ds-restore.yaml') && d.severity === 'warning');
      assert.ok(warning, JSON.stringify(plan.diagnostics));
      assert.match(warning.message, /DaemonSet node-agent .*lists no Nodes.*kubectl get nodes -o yaml/);
      const text = await restorectl(['plan', '--source', source, '--cluster-state', state]);
      assert.match(text.stdout + text.stderr, /lists no Nodes/);
    });
  });

  it('manifests in a List: each item is validated and applied alone, its diagnostics at its own lines', async () => {
    const dir = join(tmp, 'list-source');
    mkdirSync(dir);
    const listText = `apiVersion: v1
kind: List
metadata:
  resourceVersion: ""
items:
  - apiVersion: stash.appscode.com/v1alpha1
    kind: Repository
    metadata:
      name: local-repo
      namespace: demo
    spec:
      backend:
        local:
          mountPath: /safe/data
          hostPath:
            path: /data/stash-test/restic-repo
        storageSecretName: local-secret
  - apiVersion: stash.appscode.com/v1beta1
    kind: RestoreSession
    metadata:
      name: good
      namespace: demo
    spec:
      repository:
        name: local-repo
      target:
        ref:
          apiVersion: apps/v1
          kind: Deployment
          name: stash-demo
        volumeMounts:
          - name: source-data
            mountPath: /source/data
        rules:
          - paths: ["/source/data"]
  - apiVersion: stash.appscode.com/v1beta1
    kind: RestoreSession
    metadata:
      name: typo
      namespace: demo
    spec:
      repository:
        name: local-repo
      tagetHosts: []
`;
    writeFileSync(join(dir, 'restores.yaml'), listText);
    const typoLine = listText.split('\n').findIndex((l) => l.includes('tagetHosts')) + 1;
    const v = await restorectl(['validate', dir]);
    assert.equal(v.code, 1);
    assert.ok((v.stdout + v.stderr).includes(`restores.yaml:${typoLine}:7: error: unknown field "tagetHosts" (items[2].spec.tagetHosts)`), v.stdout + v.stderr);
    assert.doesNotMatch(v.stdout + v.stderr, /List has no metadata\.name/);
    const p = await restorectl(['plan', '--source', dir, '--output', 'json']);
    const plan = JSON.parse(p.stdout) as PlanJson;
    assert.deepEqual(
      plan.actions.map((a) => `${a.action} ${a.name}`),
      ['create local-repo', 'create good'],
    );
  });

  describe('--base as a user writes it', () => {
    let close: () => Promise<void>;
    let url: string;
    let first: string;
    let second: string;
    let head: string;
    before(async () => {
      const git = await startGitServer();
      close = git.close;
      url = git.server.createRepo('restores');
      const work = new WorkTree(join(git.tmp, 'work'), git.server.repoPath('restores'));
      cpSync(join(REPO_ROOT, 'examples/clusters/demo/repository.yaml'), join(work.dir, 'clusters/demo/repository.yaml'));
      first = work.commit('Repository only');
      cpSync(join(REPO_ROOT, 'examples/clusters/demo/sts-restore.yaml'), join(work.dir, 'clusters/demo/sts-restore.yaml'));
      second = work.commit('Add the StatefulSet restore');
      head = work.write({ 'clusters/demo/ds-restore.yaml': DS_RESTORE }).commit('Add the DaemonSet restore');
      work.push();
    });
    after(() => close());

    const plan = (base: string) => restorectl(['plan', '--git-url', url, '--head', 'main', '--base', base, '--path', 'clusters/demo']);
    /** The base commit the plan says it compared with (`merged into commit X`, or `merged into main (X)`). */
    const compared = (stdout: string) => /merged into (?:commit |\S+ \()([0-9a-f]{12})/.exec(stdout)?.[1];

    it('a short commit id of an older commit (not a branch tip) is the base', async () => {
      const r = await plan(second.slice(0, 7));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(compared(r.stdout), second.slice(0, 12));
      assert.match(r.stdout, /this change: 1 create/);
      const older = await plan(first.slice(0, 9));
      assert.equal(older.code, 0, older.stderr);
      assert.equal(compared(older.stdout), first.slice(0, 12));
      assert.match(older.stdout, /this change: 2 create/);
    });

    it('origin/main and refs/remotes/origin/main (what a CI checkout calls the base) are the branch main', async () => {
      for (const base of ['origin/main', 'refs/remotes/origin/main', 'heads/main']) {
        const r = await plan(base);
        assert.equal(r.code, 0, `${base}: ${r.stderr}`);
        assert.equal(compared(r.stdout), head.slice(0, 12), `${base}: ${r.stdout}`);
      }
    });

    it('a prefix no commit has: exit 2, naming it and how to check it', async () => {
      const r = await plan('0000000');
      assert.equal(r.code, 2);
      assert.match(r.stderr, /0000000 is no branch or tag, and no commit of the remote's branches and tags starts with it/);
    });
  });
});
