// SIGTERM to a running agent (a pod being deleted, a node draining): restic is stopped, none is
// left behind, the host is recorded Failed with error `interrupted`, and the agent exits non-zero
// (issue 6, Failure). The agent runs as a process against the sandbox API and a real repository.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { makeRepo, requireSeeding, tempDir, writeRandomFiles } from '../support/restic-repo.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const PASSWORD = 'interrupt test password';
const BIN = join(REPO_ROOT, 'bin/restorectl.js');
const run = promisify(execFile);

/** Pids whose full command line matches the regular expression (pgrep -f), [] for none. */
async function pgrep(pattern: string): Promise<number[]> {
  try {
    const { stdout } = await run('pgrep', ['-f', pattern]);
    return stdout.split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('agent: SIGTERM stops the restore', function () {
  this.timeout(120_000);
  let t: TestSandbox;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let repoPath: string;
  let custom: k8s.CustomObjectsApi;

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('agent-interrupt');
    // big enough that restic restore runs for a few seconds on a loaded machine
    ({ repoPath } = await makeRepo({
      dir: tmp.path,
      password: PASSWORD,
      snapshots: [{ host: 'app', files: {}, paths: ['/source/data'], populate: (root) => writeRandomFiles(root, '/source/data', 2000, 160 << 20) }],
    }));
    t = await startSandbox();
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    const apply = async (obj: object) => {
      const r = await t.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], stringify(obj));
      assert.equal(r.code, 0, r.stderr);
    };
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } });
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'repo-secret', namespace: 'demo' }, stringData: { RESTIC_PASSWORD: PASSWORD } });
    await apply({
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Repository',
      metadata: { name: 'repo', namespace: 'demo' },
      spec: { backend: { local: { mountPath: '/safe/data', hostPath: { path: '/data/repo' } }, storageSecretName: 'repo-secret' } },
    });
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'big', namespace: 'demo' },
      spec: {
        repository: { name: 'repo' },
        target: { alias: 'app', ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' }, rules: [{ paths: ['/source/data'] }] },
      },
    });
    const got = (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name: 'big' })) as RestoreSession;
    await custom.replaceNamespacedCustomObjectStatus({
      ...RESTORE_SESSIONS,
      namespace: 'demo',
      name: 'big',
      body: { ...got, status: { phase: 'Running', totalHosts: 1 } },
    });
  });
  after(async () => {
    await t?.stop();
    await tmp?.cleanup();
  });

  it('stops restic (none left behind), records the host Failed with error "interrupted", releases restic\'s lock and exits non-zero', async () => {
    const root = join(tmp.path, 'pods', 'app-pod');
    mkdirSync(join(root, 'safe'), { recursive: true });
    symlinkSync(repoPath, join(root, 'safe', 'data'));
    const agent = spawn(process.execPath, [BIN, 'agent', 'restore', '--session', 'demo/big', '--root', root, '--kubeconfig', t.kubeconfigPath], {
      cwd: REPO_ROOT,
      env: { ...process.env, POD_NAME: 'app-pod' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    agent.stdout.on('data', (d) => (output += d));
    agent.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => agent.once('close', (code) => resolve(code)));
    try {
      // The restore's command line is the only one naming this pod root after `restic restore`.
      const restic = await eventually(async () => (await pgrep(`restic restore .*--target ${root}`))[0], 60_000, 50);
      agent.kill('SIGTERM');
      const code = await exited;
      assert.notEqual(code, 0, output);
      assert.equal(code, 1, output);
      assert.ok(!alive(restic), `restic ${restic} still running`);
      assert.deepEqual(await pgrep(root), [], 'a process naming the pod root is left');

      const stat = ((await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name: 'big' })) as RestoreSession).status?.stats?.[0];
      assert.equal(stat?.hostname, 'app');
      assert.equal(stat?.phase, 'Failed');
      assert.equal(stat?.error, 'interrupted');
      assert.match(output, /Failed: interrupted/);
      // restic stopped on SIGINT, so it removed its lock: the next restore is not blocked. (A
      // SIGINT while restic writes its lock can leave the local backend's `<id>-tmp-<n>` file,
      // which restic does not read as a lock: what counts is what restic lists.)
      const locks = await run('restic', ['-r', repoPath, 'list', 'locks', '--no-lock'], { env: { ...process.env, RESTIC_PASSWORD: PASSWORD } });
      assert.equal(locks.stdout.trim(), '', `restic still lists locks; locks/ holds ${readdirSync(join(repoPath, 'locks')).join(', ')}`);
    } finally {
      if (agent.exitCode === null) agent.kill('SIGKILL');
    }
  });
});
