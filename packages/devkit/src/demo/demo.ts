// `restorectl demo`: the whole loop on one machine. A sandbox cluster, a git server holding a copy
// of the demo's manifests (demo/ in this package; test/package.test.ts keeps them equal to the
// examples at the repository root), a restic repository made on the spot with data for their
// hosts, and the daemon. It shows the plan, the restores running, a second commit picked up
// through the push webhook, the files restored and the status branch. Each step below gathers
// facts; render.ts words them.
// The demo reads only files this package ships (demo/), CRDs compiled into the product and, on the
// real engine, the daemon's ServiceAccount and RBAC from the product package's deploy/.
import { execFile } from 'node:child_process';
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { KubeObject } from 'restore-controller/api/meta';
import type { RestoreSession } from 'restore-controller/api/restoresession';
import { isFinalPhase } from 'restore-controller/api/restoresession';
import { crdFor, MANAGED_KINDS } from 'restore-controller/api/crds';
import { Daemon } from 'restore-controller/daemon/daemon';
import { startHttpServer } from 'restore-controller/daemon/http-server';
import { hmacSha256Hex, webhookHandler } from 'restore-controller/daemon/webhook';
import { RESTORE_SESSIONS } from 'restore-controller/kube/resources';
import { jsonLogger } from 'restore-controller/common/log';
import type { Logger } from 'restore-controller/common/log';
import { ClusterState, loadObjects, readManifestPaths, validateSource } from 'restore-controller/manifests/index';
import { pinSnapshots, planRestores, planToText, ResticSnapshotSource } from 'restore-controller/plan/index';
import type { RepositoryRef, SnapshotSource } from 'restore-controller/plan/index';
import { seedRepository } from '../restic/seed.ts';
import { Sandbox } from '../sandbox/sandbox.ts';
import { KubeEngine } from '../engine/engine.ts';
import { kubeEngineUnavailable } from '../engine/control-plane.ts';
import {
  STAYS_UP,
  STEP_TITLES,
  allSucceeded,
  renderCreatedAfterWebhook,
  renderDaemonIdentity,
  renderDaemonLog,
  renderGitUrl,
  renderHeader,
  renderStopped,
  renderLookAround,
  renderOutcome,
  renderStatusLog,
  renderProgress,
  renderProgressLine,
  renderSecondCommitTitle,
  renderVolumes,
  renderWebhookAnswer,
} from './render.ts';
import type { RestoredVolume } from './render.ts';
import { GitSource } from 'restore-controller/source/index';
import { StatusWriter } from 'restore-controller/status/index';
import { GitHttpServer } from '../git-http-server.ts';
import type { SeedResult } from '../restic/seed.ts';

const run = promisify(execFile);
/** The demo's manifests, shipped with this package (see package.json "files"). */
export const DEMO_MANIFESTS = fileURLToPath(new URL('../../demo/', import.meta.url));
/** Every file the demo reads from DEMO_MANIFESTS, relative to it. */
export const DEMO_FILES = ['cluster-state/', 'clusters/', 'second-commit/audit-copy.yaml'] as const;
const PASSWORD = 'demo-only-password';
const WEBHOOK_SECRET = 'demo-only-webhook-secret';
const HOSTS = ['my-sts-0', 'my-sts-1', 'my-sts-2', 'app', 'host-0', 'host-1', 'host-2'];

export type DemoEngine = 'embedded' | 'kube-apiserver';

export interface DemoOptions {
  dir?: string;
  /** The sandbox's engine (default embedded). */
  engine?: DemoEngine;
  /** Stop once every restore is final (tests); else stay up until Ctrl-C. */
  exit: boolean;
  out: (text: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A bound on a wait during the clean-up, which does not keep the process up by itself. */
const unrefSleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** Step 1: a real restic repository with one snapshot per host of the examples. */
function seedBackups(dir: string): Promise<SeedResult> {
  const files = (host: string) => ({
    [`/source/data/${host}.json`]: `{"host":"${host}"}\n`,
    '/source/data/tmp.json': '{"scratch":true}\n',
    '/source/data/notes.txt': `notes of ${host}\n`,
  });
  return seedRepository({
    repoPath: join(dir, 'restic-repo'),
    password: PASSWORD,
    snapshots: HOSTS.map((host) => ({ host, files: files(host) })),
    fastKdf: true,
  });
}

interface Cluster {
  engine: DemoEngine;
  kubeconfigPath: string;
  /** Where volumes/<namespace>/<claim> are (both engines' layout). */
  workDir: string;
  stop(): Promise<void>;
  kc: k8s.KubeConfig;
  custom: k8s.CustomObjectsApi;
  /** What the daemon (and its controller) authenticate as: deploy/'s ServiceAccount on the real engine, admin on the embedded one (no authorization there). */
  daemon: { kc: k8s.KubeConfig; user?: string; kubeconfigPath?: string };
}

/**
 * The class the demo's snapshot sources and VolumeSnapshotter claims use. The real engine's
 * `standard` binds on first use (WaitForFirstConsumer, as kind's): no pod ever uses those claims,
 * so its snapshots would never be ready and that restore would end Unknown, as Stash's does.
 */
const immediateClass = (engine: DemoEngine) => (engine === 'kube-apiserver' ? 'immediate' : 'standard');

async function startEngine(dir: string, engine: DemoEngine): Promise<Omit<Cluster, 'kc' | 'custom' | 'daemon'>> {
  if (engine === 'embedded') {
    const sandbox = await new Sandbox({ dir: join(dir, 'cluster'), nodes: 2 }).start();
    return { engine, kubeconfigPath: sandbox.kubeconfigPath!, workDir: sandbox.workDir, stop: () => sandbox.stop() };
  }
  const why = kubeEngineUnavailable();
  if (why) throw new Error(`demo: the kube-apiserver engine cannot run here: ${why}`);
  const kube = await new KubeEngine({ dir: join(dir, 'cluster'), nodes: 2 }).start();
  return { engine, kubeconfigPath: kube.kubeconfigPath, workDir: kube.dir, stop: () => kube.stop() };
}

/** Step 2: the sandbox with the CRDs, the examples' workloads, the repository Secret, claims and snapshots. */
async function startCluster(dir: string, engine: DemoEngine): Promise<Cluster> {
  const started = await startEngine(dir, engine);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(started.kubeconfigPath);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const create = async (o: KubeObject) => {
    try {
      await objects.create(o as k8s.KubernetesObject);
    } catch (e) {
      if ((e as { code?: number }).code !== 409) throw e;
    }
  };
  // CRDs go raw: client-node's typed serializer would drop `x-kubernetes-*` schema keys.
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  for (const k of MANAGED_KINDS) {
    await custom
      .createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: crdFor(k) })
      .catch((e: { code?: number }) => {
        if (e.code !== 409) throw e;
      });
  }
  await waitForCrds(custom);
  const state = join(DEMO_MANIFESTS, 'cluster-state');
  for (const f of readdirSync(state)) {
    for (const doc of readFileSync(join(state, f), 'utf8').split(/^---$/m)) {
      const o = parse(doc) as KubeObject | null;
      if (o && o.kind !== 'Node') await create(o);
    }
  }
  await create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'local-repo-secret', namespace: 'demo' }, stringData: { RESTIC_PASSWORD: PASSWORD } });
  for (const i of [0, 1, 2]) {
    await create({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: `source-data-${i}`, namespace: 'demo' },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: immediateClass(engine), resources: { requests: { storage: '1Gi' } } },
    });
    await create({
      apiVersion: 'snapshot.storage.k8s.io/v1',
      kind: 'VolumeSnapshot',
      metadata: { name: `source-data-${i}-snap`, namespace: 'demo' },
      spec: { source: { persistentVolumeClaimName: `source-data-${i}` } },
    });
  }
  const daemon = engine === 'kube-apiserver' ? await daemonIdentity(kc, create, started.workDir) : { kc };
  return { ...started, kc, custom, daemon };
}

const DAEMON_NAMESPACE = 'restore-controller';
const DAEMON_SERVICE_ACCOUNT = 'restore-controller';

/** A file of deploy/ in the installed product package (its package.json "files" ships these). */
function productDeployFile(file: string): string {
  return join(dirname(createRequire(import.meta.url).resolve('restore-controller/package.json')), 'deploy', file);
}

/**
 * On the real engine the daemon runs as it does in a cluster installed from deploy/: its
 * ServiceAccount, bound to deploy/rbac's least-privilege ClusterRole, with a token from the
 * TokenRequest API (as its pod's would be), so a grant the daemon lacks fails the demo. The
 * kubeconfig is also written next to the admin one, for `kubectl auth can-i --list`.
 */
async function daemonIdentity(admin: k8s.KubeConfig, create: (o: KubeObject) => Promise<void>, workDir: string): Promise<Cluster['daemon']> {
  const docs = ['base/namespace.yaml', 'base/serviceaccount.yaml', 'rbac/clusterrole.yaml', 'rbac/clusterrolebinding.yaml'].flatMap((f) =>
    readFileSync(productDeployFile(f), 'utf8').split(/^---$/m),
  );
  for (const doc of docs) {
    const o = parse(doc) as KubeObject | null;
    if (!o) continue;
    if (o.kind === 'ServiceAccount') o.metadata.namespace = DAEMON_NAMESPACE;
    await create(o);
  }
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    name: DAEMON_SERVICE_ACCOUNT,
    namespace: DAEMON_NAMESPACE,
    body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } },
  });
  const cluster = admin.getCurrentCluster()!;
  const user = `system:serviceaccount:${DAEMON_NAMESPACE}:${DAEMON_SERVICE_ACCOUNT}`;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token: request.status!.token }],
    contexts: [{ name: DAEMON_SERVICE_ACCOUNT, cluster: cluster.name, user, namespace: DAEMON_NAMESPACE }],
    currentContext: DAEMON_SERVICE_ACCOUNT,
  });
  const kubeconfigPath = join(workDir, 'daemon.kubeconfig');
  writeFileSync(kubeconfigPath, kc.exportConfig(), { mode: 0o600 });
  return { kc, user, kubeconfigPath };
}

/** Until the API serves every CRD the demo created (a real API server takes a moment). */
async function waitForCrds(custom: k8s.CustomObjectsApi): Promise<void> {
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
    const served = await Promise.all(
      MANAGED_KINDS.map((k) => {
        const crd = crdFor(k) as unknown as { spec: { group: string; names: { plural: string }; versions: Array<{ name: string }> } };
        return custom.listClusterCustomObject({ group: crd.spec.group, version: crd.spec.versions[0]!.name, plural: crd.spec.names.plural, limit: 1 }).then(
          () => true,
          () => false,
        );
      }),
    );
    if (served.every(Boolean)) return;
  }
}

interface GitRepo {
  server: GitHttpServer;
  url: string;
  /** The working copy the demo commits from. */
  work: string;
  git(args: string[]): Promise<{ stdout: string }>;
  commitAndPush(message: string): Promise<string>;
}

/** Step 3: a git server with the demo's restores committed on main, the Repository pointing at `repoPath`. */
async function publishManifests(dir: string, repoPath: string, engine: DemoEngine): Promise<GitRepo> {
  const server = await GitHttpServer.start({ root: join(dir, 'git') });
  const url = server.createRepo('restores');
  const work = join(dir, 'work');
  cpSync(join(DEMO_MANIFESTS, 'clusters'), join(work, 'clusters'), { recursive: true });
  const repoFile = join(work, 'clusters/demo/repository.yaml');
  writeFileSync(repoFile, readFileSync(repoFile, 'utf8').replace('/data/stash-test/restic-repo', repoPath));
  const snapshotFile = join(work, 'clusters/demo/snapshot-restore.yaml');
  writeFileSync(snapshotFile, readFileSync(snapshotFile, 'utf8').replace('storageClassName: standard', `storageClassName: ${immediateClass(engine)}`));
  const git = (args: string[]) =>
    run('git', args, {
      cwd: work,
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Demo',
        GIT_AUTHOR_EMAIL: 'demo@example.com',
        GIT_COMMITTER_NAME: 'Demo',
        GIT_COMMITTER_EMAIL: 'demo@example.com',
      },
    });
  const commitAndPush = async (message: string) => {
    await git(['add', '-A']);
    await git(['commit', '--quiet', '-m', message]);
    await git(['push', '--quiet', url, 'main']);
    return (await git(['rev-parse', 'HEAD'])).stdout.trim();
  };
  await git(['init', '--quiet', '--initial-branch=main']);
  await commitAndPush('Add the demo restores');
  return { server, url, work, git, commitAndPush };
}

/**
 * Step 3b: the plan a pull request of these manifests shows (`restorectl plan --cluster-state …`
 * with the restic password): every host, what it restores, and `latest` pinned to a snapshot id.
 */
async function reviewPlan(repo: GitRepo, commit: string): Promise<string> {
  const source = await readManifestPaths([join(repo.work, 'clusters/demo')]);
  const state = await readManifestPaths([join(DEMO_MANIFESTS, 'cluster-state')]);
  const cluster = new ClusterState(loadObjects(state.files).manifests.map((m) => m.object));
  const desired = validateSource(
    source.files.map((f) => ({ ...f, path: relative(repo.work, f.path) })),
    cluster,
  );
  const restic = new ResticSnapshotSource({ password: PASSWORD });
  // A local backend is read at its mountPath where the plan runs; here the sandbox's hostPath
  // volume is a folder of this machine, so the repository is read there.
  const snapshots: SnapshotSource = {
    list: (repo, query) => restic.list(onThisMachine(repo), query),
  };
  try {
    return planToText(await pinSnapshots(planRestores({ desired, cluster, sourceCommit: commit }), desired, cluster, snapshots));
  } finally {
    await restic.close();
  }
}

function onThisMachine(repo: RepositoryRef): RepositoryRef {
  const local = repo.repository?.spec.backend.local as { mountPath?: string; hostPath?: { path?: string } } | undefined;
  if (!repo.repository || !local?.hostPath?.path) return repo;
  const backend = { ...repo.repository.spec.backend, local: { ...local, mountPath: local.hostPath.path } };
  return { ...repo, repository: { ...repo.repository, spec: { ...repo.repository.spec, backend } } as typeof repo.repository };
}

/** Step 4: the daemon on the sandbox, following main, logging to `logFile`. */
async function startDaemon(dir: string, cluster: Cluster, repo: GitRepo, log: Logger, running: Running): Promise<Daemon> {
  const daemon = new Daemon({
    source: new GitSource({ url: repo.url, branch: 'main', path: 'clusters/demo', cacheDir: join(dir, 'cache/source'), log }),
    statusWriter: new StatusWriter({ url: repo.url, cacheDir: join(dir, 'cache/status'), log }),
    kubeConfig: cluster.daemon.kc,
    cluster: 'demo',
    intervalMs: 3000,
    log,
    controller: { agent: { image: Sandbox.DEFAULT_AGENT_IMAGE }, resyncMs: 1000, pollMs: 500, log: log.child({ component: 'controller' }) },
  });
  // Stopped with the rest from now on, even while its first cycle runs (it writes under `dir`):
  // the clean-up comes after that cycle has ended.
  running.add(async () => {
    daemon.stop();
    await Promise.race([daemon.drain(), unrefSleep(10_000)]);
  });
  await daemon.cycle();
  await daemon.start();
  return daemon;
}

function listSessions(custom: k8s.CustomObjectsApi): Promise<RestoreSession[]> {
  return custom.listClusterCustomObject({ ...RESTORE_SESSIONS }).then((l) => (l as { items: RestoreSession[] }).items);
}

/** Reports the sessions' progress whenever it changes, until every one is final (at most 10 minutes). */
async function followSessions(custom: k8s.CustomObjectsApi, say: (line: string) => void): Promise<RestoreSession[]> {
  let last = '';
  let sessions: RestoreSession[] = [];
  for (const deadline = Date.now() + 10 * 60_000; Date.now() < deadline; ) {
    sessions = await listSessions(custom);
    const progress = renderProgress(sessions);
    if (progress !== last) say(renderProgressLine(new Date(), progress));
    last = progress;
    if (sessions.length && sessions.every((s) => isFinalPhase(s.status?.phase))) break;
    await sleep(1000);
  }
  return sessions;
}

/** Step 5: commit the second restore, announce it through the signed webhook, wait for its RestoreSession. */
async function pushSecondCommit(repo: GitRepo, webhookUrl: string, custom: k8s.CustomObjectsApi, say: (line: string) => void): Promise<void> {
  cpSync(join(DEMO_MANIFESTS, 'second-commit', 'audit-copy.yaml'), join(repo.work, 'clusters/demo/audit-copy.yaml'));
  const head = await repo.commitAndPush("Copy host-0's JSON files into a new PVC");
  const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: head }));
  const pushedAt = performance.now();
  const hook = await fetch(`${webhookUrl}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmacSha256Hex(WEBHOOK_SECRET, body)}` },
    body,
  });
  say(renderWebhookAnswer(hook.status, await hook.text()));
  while (
    !(await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name: 'audit-copy' }).then(
      () => true,
      () => false,
    ))
  )
    await sleep(20);
  say(renderCreatedAfterWebhook('demo/audit-copy', performance.now() - pushedAt));
}

/** Step 6: what is in each volume of the demo namespace. */
async function restoredVolumes(cluster: Cluster): Promise<RestoredVolume[]> {
  const volumes = join(cluster.workDir, 'volumes', 'demo');
  const out: RestoredVolume[] = [];
  for (const claim of readdirSync(volumes).sort()) {
    const files = (await run('find', ['.', '-type', 'f'], { cwd: join(volumes, claim) })).stdout.split('\n').filter(Boolean).sort();
    out.push({ claim, files });
  }
  return out;
}

/** Resolves with the first SIGINT or SIGTERM from now on. */
function nextSignal(): Promise<NodeJS.Signals> {
  // `on`, not `once`: a Ctrl-C reaches both restorectl and this plugin, which restorectl also
  // passes on; a second one must not kill the demo while it stops.
  return new Promise<NodeJS.Signals>((resolve) => {
    process.on('SIGINT', () => resolve('SIGINT'));
    process.on('SIGTERM', () => resolve('SIGTERM'));
  });
}

/**
 * What has been started so far, stopped in reverse order (each once, failures ignored). A step
 * still under way when a signal came (the race does not cancel it) may start something after
 * stopAll: that is stopped at once, the clean-up runs again, and the step ends there.
 */
class Running {
  private readonly stops: (() => Promise<void> | void)[] = [];
  private stopped: { cleanUp: () => void } | undefined;
  add(stop: () => Promise<void> | void): void {
    if (this.stopped) {
      const { cleanUp } = this.stopped;
      void Promise.resolve()
        .then(stop)
        .catch(() => undefined)
        .then(cleanUp);
      throw new Abandoned();
    }
    this.stops.push(stop);
  }
  async stopAll(cleanUp: () => void = () => undefined): Promise<void> {
    this.stopped = { cleanUp };
    for (const stop of this.stops.splice(0).reverse())
      await Promise.resolve()
        .then(stop)
        .catch(() => undefined);
    cleanUp();
  }
}

/** Appends to the daemon's log; a line that comes after the clean-up removed the folder is dropped. */
function appendLine(path: string, line: string): void {
  try {
    appendFileSync(path, line);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/** Ends a step that outlived the demo (see Running). */
class Abandoned extends Error {}

/** Thrown out of the steps when a signal arrives mid-way. */
class Stopped extends Error {
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals) {
    super(signal);
    this.signal = signal;
  }
}

export async function runDemo(opts: DemoOptions): Promise<number> {
  const say = (t: string) => opts.out(t + '\n');
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'restorectl-demo-'));
  mkdirSync(dir, { recursive: true });
  const running = new Running();
  // Ctrl-C at any step: stop what runs, remove the folder the demo made (a --dir is left, and said so).
  const signal = nextSignal();
  const interrupted = signal.then((s) => Promise.reject(new Stopped(s)));
  interrupted.catch(() => undefined);
  const cleanUp = () => {
    if (!opts.dir) rmSync(dir, { recursive: true, force: true });
  };
  let underWay: Promise<unknown> = Promise.resolve();
  const finish = async (code: number, sig?: NodeJS.Signals) => {
    await running.stopAll(cleanUp);
    // A step still under way may write under `dir` before it fails on what was stopped: clean up again once it has ended.
    await Promise.race([underWay.catch(() => undefined), unrefSleep(15_000)]);
    cleanUp();
    say(renderStopped(dir, !opts.dir, sig));
    return code;
  };
  let up = false;
  try {
    const work = steps(opts, dir, running, say);
    underWay = work;
    work.catch(() => undefined); // after a signal its end is nobody's business (Running stops what it starts)
    const code = await Promise.race([work, interrupted]);
    if (code !== 'stay up') return await finish(code);
    up = true;
    say(STAYS_UP);
    return await finish(0, await signal);
  } catch (e) {
    if (e instanceof Stopped) return finish(up ? 0 : 130, e.signal);
    await running.stopAll();
    throw e;
  }
}

async function steps(opts: DemoOptions, dir: string, running: Running, say: (t: string) => void): Promise<number | 'stay up'> {
  say(renderHeader(dir));

  say(STEP_TITLES.backups);
  const backups = await seedBackups(dir);
  say(STEP_TITLES.cluster);
  const engine = opts.engine ?? 'embedded';
  const cluster = await startCluster(dir, engine);
  running.add(() => cluster.stop());
  if (engine === 'kube-apiserver')
    say(
      '  (kube-apiserver engine: a real control plane; snapshot-restore.yaml uses its Immediate class `immediate`, since `standard` binds only when a pod uses the claim)',
    );
  say(STEP_TITLES.git);
  const repo = await publishManifests(dir, backups.repoPath, engine);
  running.add(() => repo.server.close());
  say(renderGitUrl(repo.url));
  say(STEP_TITLES.plan);
  say(await reviewPlan(repo, (await repo.git(['rev-parse', 'HEAD'])).stdout.trim()));
  say(STEP_TITLES.daemon);
  const daemonLog = join(dir, 'daemon.log');
  if (cluster.daemon.user) say(renderDaemonIdentity(cluster.daemon.user, cluster.daemon.kubeconfigPath!));
  say(renderDaemonLog(daemonLog));
  const log = jsonLogger((line) => appendLine(daemonLog, line), { fields: { component: 'daemon' } });
  const daemon = await startDaemon(dir, cluster, repo, log, running);
  const webhook = await startHttpServer(
    'demo webhook',
    { host: '127.0.0.1', port: 0 },
    webhookHandler({
      secret: WEBHOOK_SECRET,
      follow: { branch: 'main' },
      onPush: (o) => {
        if (o.provider === 'restorectl') log.info(`reconcile requested${o.by ? ` by ${o.by}` : ''}`);
        void daemon.trigger();
      },
    }),
  );
  running.add(() => webhook.close());
  const webhookSecretFile = join(dir, 'webhook-secret');
  writeFileSync(webhookSecretFile, WEBHOOK_SECRET + '\n', { mode: 0o600 });
  await followSessions(cluster.custom, say);
  await daemon.trigger();

  say(renderSecondCommitTitle(webhook.url));
  await pushSecondCommit(repo, webhook.url, cluster.custom, say);
  const sessions = await followSessions(cluster.custom, say);
  await daemon.trigger();

  say(STEP_TITLES.volumes);
  say(renderVolumes(await restoredVolumes(cluster)));
  say(STEP_TITLES.statusLog);
  say(renderStatusLog((await run('git', ['log', '--format=%h%x00%s%x00%b%x1e', 'restore-status'], { cwd: repo.server.repoPath('restores') })).stdout));
  say(renderOutcome(sessions));
  say(
    renderLookAround({
      kubeconfig: cluster.kubeconfigPath,
      gitRepo: repo.server.repoPath('restores'),
      gitUrl: repo.url,
      daemonLog,
      webhookUrl: webhook.url,
      webhookSecretFile,
    }),
  );
  if (opts.exit) return allSucceeded(sessions) ? 0 : 1;
  return 'stay up';
}
