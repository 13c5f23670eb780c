// What the database restore suites share: a real restic repository holding a backup made the
// way Stash's addon makes it (`<dump> | restic backup --stdin --stdin-filename <file> --host
// host-0`), the sandbox with the CRDs and the examples' namespace, a real smart-HTTP git server
// holding the sessions, and the daemon that runs them from git (its agents are real processes).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { sinkLogger } from '../../src/common/log.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { GitSource } from '../../src/source/index.ts';
import { StatusWriter, readLedger } from '../../src/status/index.ts';
import { applyExampleCluster, exampleManifest } from '../support/example-cluster.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

export const RESTIC_PASSWORD = 'restic password of the database suites';

/** `restic init` of a repository in `dir`; returns its path. */
export function initRepository(dir: string): string {
  const repo = join(dir, 'restic-repo');
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('restic', ['init', '--repo', repo], { env: { ...process.env, RESTIC_PASSWORD }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return repo;
}

/**
 * A backup as Stash's addon makes it: `argv` (a dump client) piped into `restic backup --stdin
 * --stdin-filename <file> --host host-0`. Returns the snapshot id.
 */
export function backupDump(repo: string, argv: string[], env: NodeJS.ProcessEnv, file: string): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const pipe = `${argv.map(quote).join(' ')} | restic backup --json --quiet --repo ${quote(repo)} --stdin --stdin-filename ${quote(file)} --host host-0`;
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', pipe], { env: { ...env, RESTIC_PASSWORD }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const summary = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { message_type: string; snapshot_id?: string })
    .find((m) => m.message_type === 'summary');
  assert.ok(summary?.snapshot_id, r.stdout);
  return summary.snapshot_id;
}

export interface DatabaseCluster {
  t: TestSandbox;
  custom: k8s.CustomObjectsApi;
  core: k8s.CoreV1Api;
  batch: k8s.BatchV1Api;
  daemon: Daemon;
  logs: string[];
  apply(...objects: object[]): Promise<void>;
  session(name: string): Promise<RestoreSession>;
  /** Waits until the session's phase is one of `phases`. */
  phase(name: string, phases: string[], timeoutMs?: number): Promise<RestoreSession>;
  /** Event messages on the session. */
  events(name: string): Promise<string[]>;
  /** A file of the status branch. */
  statusFile(path: string): string;
  /** Commits and pushes more sessions (clusters/demo/<name>); the daemon's next cycle applies them. */
  commit(files: Record<string, object>, message: string): void;
  close(): Promise<void>;
}

/** The sandbox and git holding `files` (under clusters/demo/), the Repository pointing at `repo`, the daemon started. */
export async function startDatabaseCluster(repo: string, files: Record<string, object>, clusterObjects: object[]): Promise<DatabaseCluster> {
  const t = await startSandbox();
  await applyExampleCluster(t, { password: RESTIC_PASSWORD });
  const custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
  const core = t.kc.makeApiClient(k8s.CoreV1Api);
  const apply = async (...objects: object[]) => {
    const r = await t.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
    assert.equal(r.code, 0, r.stderr);
  };
  if (clusterObjects.length) await apply(...clusterObjects);
  const git = await startGitServer();
  const url = git.server.createRepo('restores');
  const work = new WorkTree(join(git.tmp, 'work'), git.server.repoPath('restores'));
  const repository = exampleManifest('repository.yaml');
  repository.spec.backend.local.hostPath.path = repo;
  const tree: Record<string, string> = { 'clusters/demo/repository.yaml': stringify(repository) };
  for (const [name, o] of Object.entries(files)) tree[`clusters/demo/${name}`] = stringify(o);
  work.write(tree).commit('Add the database restores');
  work.push();
  const cacheDir = join(git.tmp, 'cache');
  const logs: string[] = [];
  const daemon = new Daemon({
    source: new GitSource({ url, branch: 'main', path: 'clusters/demo', cacheDir: join(cacheDir, 'source') }),
    statusWriter: new StatusWriter({ url, cacheDir: join(cacheDir, 'status') }),
    ledger: await readLedger({ url, cluster: 'demo', cacheDir: join(cacheDir, 'ledger') }),
    kubeConfig: t.kc,
    cluster: 'demo',
    intervalMs: 1000,
    controller: { agent: { image: t.sandbox.options.agentImage ?? 'ghcr.io/restore-controller/restorectl:0.1.0' }, pollMs: 200, waitMs: 500 },
    log: sinkLogger(({ level, msg, ...fields }) => logs.push(`${level} ${msg} ${JSON.stringify(fields)}`)),
  });
  await daemon.start();
  const session = async (name: string) => (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name })) as RestoreSession;
  return {
    t,
    custom,
    core,
    batch: t.kc.makeApiClient(k8s.BatchV1Api),
    daemon,
    logs,
    apply,
    session,
    phase: (name, phases, timeoutMs = 120_000) =>
      eventually(
        async () => {
          const s = await session(name).catch(() => undefined);
          return s && phases.includes(s.status?.phase ?? '') ? s : undefined;
        },
        timeoutMs,
        250,
      ),
    async events(name) {
      const list = await core.listNamespacedEvent({ namespace: 'demo', fieldSelector: `involvedObject.name=${name}` });
      return list.items.map((e) => `${e.reason}: ${e.message}`);
    },
    statusFile: (path) => git.server.git('restores', ['show', `restore-status:${path}`]),
    commit(more, message) {
      const add: Record<string, string> = {};
      for (const [name, o] of Object.entries(more)) add[`clusters/demo/${name}`] = stringify(o);
      work.write(add).commit(message);
      work.push();
    },
    async close() {
      daemon.stop();
      await daemon.drain();
      await t.stop();
      await git.close();
    },
  };
}

/** The AppBinding of Stash's docs (stashed/docs addons/<db>/…/appbinding.yaml) pointing at a server of this machine. */
export function appBinding(name: string, url: string, secret: string | undefined, type: string, version: string): object {
  return {
    apiVersion: 'appcatalog.appscode.com/v1alpha1',
    kind: 'AppBinding',
    metadata: { name, namespace: 'demo' },
    spec: { clientConfig: { url }, ...(secret ? { secret: { name: secret } } : {}), type, version },
  };
}

export function secret(name: string, data: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'demo' }, stringData: data };
}

/** Stash's docs' database RestoreSession (stashed/docs addons/<db>/…/restoresession.yaml), in namespace demo with the local Repository. */
export function databaseSession(name: string, task: string, target: string, params?: { name: string; value: string }[]): object {
  return {
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'RestoreSession',
    metadata: { name, namespace: 'demo' },
    spec: {
      task: { name: task, ...(params ? { params } : {}) },
      repository: { name: 'local-repo' },
      target: { ref: { apiVersion: 'appcatalog.appscode.com/v1alpha1', kind: 'AppBinding', name: target } },
      rules: [{ snapshots: ['latest'] }],
    },
  };
}
