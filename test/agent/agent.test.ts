// The restore agent as a pod runs it: `restorectl agent restore` as a process, against the
// sandbox API over HTTP and real restic repositories whose snapshots hold pod-absolute paths.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { restorectl } from '../support/cli.ts';
import { listTree, makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const PASSWORD = 'correct horse battery staple';
const example = (name: string) => parse(readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8'));

describe('agent: restorectl agent restore on the sandbox with real restic', function () {
  this.timeout(120_000);
  let t: TestSandbox;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let repoPath: string;
  let snapshotIds: string[];
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;

  const apply = async (obj: object) => {
    const r = await t.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], stringify(obj));
    assert.equal(r.code, 0, r.stderr);
  };
  const session = async (name: string) => (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name })) as RestoreSession;
  /** Creates a session and, standing in for the controller, records its totalHosts. */
  const createSession = async (s: RestoreSession, totalHosts: number) => {
    await apply(s);
    const got = await session(s.metadata.name);
    await custom.replaceNamespacedCustomObjectStatus({
      ...RESTORE_SESSIONS,
      namespace: 'demo',
      name: s.metadata.name,
      body: { ...got, status: { phase: 'Running', totalHosts } },
    });
  };
  /** A pod's root folder, with the local backend's mountPath leading to the repository. */
  const podRoot = (name: string) => {
    const root = join(tmp.path, 'pods', name);
    mkdirSync(join(root, 'safe'), { recursive: true });
    if (!existsSync(join(root, 'safe', 'data'))) symlinkSync(repoPath, join(root, 'safe', 'data'));
    return root;
  };
  const agent = (sessionName: string, pod: string, extraEnv: Record<string, string> = {}) =>
    restorectl(['agent', 'restore', '--session', `demo/${sessionName}`, '--host-from', 'pod', '--root', podRoot(pod), '--kubeconfig', t.kubeconfigPath], {
      env: { POD_NAME: pod, NODE_NAME: 'node-a', ...extraEnv },
    });
  const restored = async (pod: string) => (await listTree(join(podRoot(pod), 'source'))).filter((p) => !p.endsWith('/'));

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('agent-test');
    const files = (host: string) => ({
      [`/source/data/${host}.json`]: `{"host":"${host}"}`,
      '/source/data/tmp.json': 'scratch',
      '/source/data/notes.txt': 'notes',
      '/source/data/sub dir/é ü.json': `{"unicode":"${host}"}`,
    });
    const seeded = await makeRepo({
      dir: tmp.path,
      password: PASSWORD,
      snapshots: ['my-sts-0', 'my-sts-1', 'my-sts-2', 'app'].map((host) => ({ host, files: files(host) })),
    });
    repoPath = seeded.repoPath;
    snapshotIds = seeded.snapshotIds;
    t = await startSandbox();
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    core = t.kc.makeApiClient(k8s.CoreV1Api);
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } });
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'local-repo-secret', namespace: 'demo' }, stringData: { RESTIC_PASSWORD: PASSWORD } });
    await apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'wrong-secret', namespace: 'demo' },
      stringData: { RESTIC_PASSWORD: 'not the password at all' },
    });
    await apply(example('repository.yaml'));
    const wrong = example('repository.yaml');
    wrong.metadata.name = 'wrong-repo';
    wrong.spec.backend.storageSecretName = 'wrong-secret';
    await apply(wrong);
  });
  after(async () => {
    await t?.stop();
    await tmp?.cleanup();
  });

  it("the Stash StatefulSet example: hosts 3 and 4 get my-sts-1's *.json (tmp.json included: only the catch-all excludes it), hosts 0–2 their own files without tmp.json and *.txt", async () => {
    await createSession(example('sts-restore.yaml'), 5);
    const pods = [0, 1, 2, 3, 4].map((i) => `recovered-statefulset-${i}`);
    const results = await Promise.all(pods.map((p) => agent('sts-restore', p)));
    for (const [i, r] of results.entries()) assert.equal(r.code, 0, `pod ${i}: ${r.stderr}`);
    for (const i of [0, 1, 2]) {
      assert.deepEqual(await restored(pods[i]!), [`/data/my-sts-${i}.json`, '/data/sub dir/é ü.json']);
      assert.equal(readFileSync(join(podRoot(pods[i]!), 'source/data/sub dir/é ü.json'), 'utf8'), `{"unicode":"my-sts-${i}"}`);
    }
    for (const i of [3, 4]) {
      assert.deepEqual(await restored(pods[i]!), ['/data/my-sts-1.json', '/data/sub dir/é ü.json', '/data/tmp.json']);
      assert.equal(readFileSync(join(podRoot(pods[i]!), 'source/data/my-sts-1.json'), 'utf8'), '{"host":"my-sts-1"}');
    }
    const s = await session('sts-restore');
    assert.deepEqual(
      s.status!.stats!.map((x) => [x.hostname, x.phase]).sort(),
      pods.map((_, i) => [`my-sts-${i}`, 'Succeeded']),
    );
    const three = s.status!.stats!.find((x) => x.hostname === 'my-sts-3')!;
    assert.equal(three.snapshot, snapshotIds[1]);
    assert.ok((three.progress?.bytesTotal ?? 0) > 0 && three.progress?.bytesDone === three.progress?.bytesTotal);
  });

  it('a restarted pod does not restore again', async () => {
    const s = example('deployment-restore.yaml');
    s.metadata.name = 'restarted';
    delete s.spec.hooks;
    await createSession(s, 1);
    const pod = 'stash-demo-restarted';
    assert.equal((await agent('restarted', pod)).code, 0);
    assert.ok(existsSync(join(podRoot(pod), 'source/data/app.json')), 'the first run restored');
    rmSync(join(podRoot(pod), 'source/data/app.json'));
    const r = await agent('restarted', pod);
    assert.equal(r.code, 0);
    assert.match(r.stderr, /already Succeeded: a restarted pod does not restore again/);
    // The agent logs JSON records about its session and host.
    const records = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(
      records.some(
        (l) =>
          l['level'] === 'info' &&
          l['component'] === 'agent' &&
          l['namespace'] === 'demo' &&
          l['name'] === 'restarted' &&
          l['host'] === 'app' &&
          l['msg'] === 'already Succeeded: a restarted pod does not restore again',
      ),
      r.stderr,
    );
    assert.ok(!existsSync(join(podRoot(pod), 'source/data/app.json')));
  });

  it('restores a named snapshot, and `latest` resolved for the source host', async () => {
    const s = example('deployment-restore.yaml');
    s.metadata.name = 'named';
    delete s.spec.hooks;
    s.spec.target.rules = [{ snapshots: [snapshotIds[2]] }];
    await createSession(s, 1);
    const r = await agent('named', 'stash-demo-abc');
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await restored('stash-demo-abc')).includes('/data/my-sts-2.json'));
    assert.equal((await session('named')).status!.stats![0]!.snapshot, snapshotIds[2]);

    const l = example('deployment-restore.yaml');
    l.metadata.name = 'latest';
    delete l.spec.hooks;
    l.spec.target.rules = [{ sourceHost: 'my-sts-1', snapshots: ['latest'] }];
    await createSession(l, 1);
    assert.equal((await agent('latest', 'stash-demo-latest')).code, 0);
    assert.equal((await session('latest')).status!.stats![0]!.snapshot, snapshotIds[1]);
  });

  it('a wrong password fails the host with a clear error, and no password anywhere', async () => {
    const s = example('deployment-restore.yaml');
    s.metadata.name = 'wrong-password';
    s.spec.repository.name = 'wrong-repo';
    delete s.spec.hooks;
    await createSession(s, 1);
    const r = await agent('wrong-password', 'stash-demo-wrong');
    assert.equal(r.code, 1);
    const stat = (await session('wrong-password')).status!.stats![0]!;
    assert.equal(stat.phase, 'Failed');
    assert.match(stat.error!, /wrong password/);
    const events = JSON.stringify(await core.listNamespacedEvent({ namespace: 'demo' }));
    const everything = r.stdout + r.stderr + JSON.stringify(await session('wrong-password')) + events;
    for (const secret of ['not the password at all', PASSWORD]) assert.ok(!everything.includes(secret), `"${secret}" leaked`);
  });

  it('a failing preRestore hook fails the host and skips restic', async () => {
    const s = example('deployment-restore.yaml');
    s.metadata.name = 'pre-fails';
    s.spec.hooks = { preRestore: { exec: { command: ['sh', '-c', 'echo database busy >&2; exit 4'] } } };
    await createSession(s, 1);
    const r = await agent('pre-fails', 'stash-demo-pre');
    assert.equal(r.code, 1);
    assert.ok(!existsSync(join(podRoot('stash-demo-pre'), 'source')));
    const got = await session('pre-fails');
    const cond = got.status!.conditions!.find((c) => c.type === 'PreRestoreHookExecutionSucceeded')!;
    assert.equal(cond.status, 'False');
    assert.match(cond.message!, /exited 4: database busy/);
    assert.match(got.status!.stats![0]!.error!, /preRestore hook failed/);
  });

  it('postRestore with executionPolicy OnFailure runs only when a host failed', async () => {
    const marker = (n: string) => join(tmp.path, `post-${n}`);
    for (const [name, repo] of [
      ['post-ok', 'local-repo'],
      ['post-failed', 'wrong-repo'],
    ] as const) {
      const s = example('deployment-restore.yaml');
      s.metadata.name = name;
      s.spec.repository.name = repo;
      s.spec.hooks = { postRestore: { exec: { command: ['touch', marker(name)] }, executionPolicy: 'OnFailure' } };
      await createSession(s, 1);
      await agent(name, `stash-demo-${name}`);
    }
    assert.ok(!existsSync(marker('post-ok')));
    assert.ok(existsSync(marker('post-failed')));
    const skipped = (await session('post-ok')).status!.conditions!.find((c) => c.type === 'PostRestoreHookExecutionSucceeded')!;
    assert.equal(skipped.status, 'True');
    assert.match(skipped.message!, /skipped by executionPolicy OnFailure: every host succeeded/);
  });
});
