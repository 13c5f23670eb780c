// Test helper: the Kubernetes API a test runs against, on either engine from the same test code.
// RESTORE_ENGINE=kube-apiserver (npm run test:kube) runs the real control plane of
// packages/devkit/src/engine, one per mocha run, shared by every suite (stop() deletes the
// namespaces the suite made and waits for them to go); otherwise (npm test's first pass) each
// startSandbox() is an embedded sandbox on a random port in a temp dir, torn down by stop().
//
// `kc`/`kubeconfigPath` are admin: tests set up and look with them. `controllerKc`/
// `controllerKubeconfigPath` are what the controller and the daemon run as: on the real engine the
// ServiceAccount restore-controller/restore-controller with deploy/rbac's ClusterRole, from a
// TokenRequest token (so a missing grant fails the test); on the embedded engine, which has no
// authorization, the same as `kc`.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Sandbox } from '@restore-controller/devkit/sandbox';
import type { SandboxOptions } from '@restore-controller/devkit/sandbox';
import { skipUnlessKubeEngine, startKubeEngine } from '@restore-controller/devkit/engine/testing';
import type { TestKubeEngine } from '@restore-controller/devkit/engine/testing';
import { parse, stringify } from 'yaml';
import { DEFAULT_AGENT_IMAGE } from '../../src/controller/agent-container.ts';

export type EngineName = 'embedded' | 'kube-apiserver';

/** The engine this mocha run's suites use (RESTORE_ENGINE). */
export const ENGINE: EngineName = process.env['RESTORE_ENGINE'] === 'kube-apiserver' ? 'kube-apiserver' : 'embedded';

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningKubectl {
  child: ChildProcess;
  /** Output so far. */
  output(): KubectlResult;
  done: Promise<KubectlResult>;
}

/** A suite's Kubernetes on this run's engine ({@link startEngine}). */
export interface EngineSandbox {
  engine: EngineName;
  /** The embedded sandbox (undefined on the real engine). */
  sandbox: Sandbox | undefined;
  /** The real engine (undefined on the embedded one): its API server can be stopped and started. */
  kubeEngine: TestKubeEngine['engine'] | undefined;
  /** Where volumes/<ns>/<claim>, snapshots/ and pods/ are (both engines use that layout). */
  dir: string;
  /** Containers of this image run the agent. */
  agentImage: string;
  kubeconfigPath: string;
  kc: k8s.KubeConfig;
  /** What the controller and the daemon authenticate as (deploy/'s ServiceAccount on the real engine). */
  controllerKubeconfigPath: string;
  controllerKc: k8s.KubeConfig;
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  kubectlStart(args: string[]): RunningKubectl;
  /** Stops the server, keeping the dir (for restart tests; embedded only). */
  stopServer(): Promise<void>;
  stop(): Promise<void>;
}

/** The embedded sandbox, for suites that look inside it ({@link startSandbox}). */
export interface TestSandbox extends EngineSandbox {
  engine: 'embedded';
  sandbox: Sandbox;
}

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;

/** Skips the calling suite when it cannot run on this run's engine (the real one without Go or a build). */
export function skipUnlessEngine(ctx: { skip(): void }): void {
  if (ENGINE === 'kube-apiserver') skipUnlessKubeEngine(ctx);
}

function kubectlRunner(kubeconfigPath: string, home: string) {
  const env = { ...process.env, HOME: home, KUBECACHEDIR: join(home, 'kubectl-cache'), KUBECONFIG: kubeconfigPath };
  const running = new Set<ChildProcess>();
  const start = (args: string[], input?: string): RunningKubectl => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { env, cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdin!.end(input ?? '');
    const done = new Promise<KubectlResult>((resolve) => {
      child.on('close', (code) => {
        running.delete(child);
        resolve({ code, stdout, stderr });
      });
    });
    return { child, output: () => ({ code: child.exitCode, stdout, stderr }), done };
  };
  return {
    start,
    killAll: () => {
      for (const c of running) c.kill('SIGKILL');
    },
  };
}

const loadKc = (path: string): k8s.KubeConfig => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(path);
  return kc;
};

/**
 * This run's engine for a suite written once for both: the shared real engine under
 * RESTORE_ENGINE=kube-apiserver (only `agentCommand` of the options applies there), else an
 * embedded sandbox.
 */
export async function startEngine(options: Partial<SandboxOptions> = {}): Promise<EngineSandbox> {
  return ENGINE === 'kube-apiserver' ? useSharedEngine(options) : startSandbox(options);
}

/** An embedded sandbox on a random port in a temp dir, whatever the run's engine. */
export async function startSandbox(options: Partial<SandboxOptions> = {}): Promise<TestSandbox> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sandbox-test-'));
  const sandbox = await new Sandbox({ ...options, dir, port: options.port ?? 0 }).start();
  const kubeconfigPath = sandbox.kubeconfigPath!;
  const kc = loadKc(kubeconfigPath);
  const kubectl = kubectlRunner(kubeconfigPath, dir);
  let serverStopped = false;
  const stopServer = async (): Promise<void> => {
    if (serverStopped) return;
    serverStopped = true;
    await sandbox.stop();
  };
  return {
    engine: 'embedded',
    sandbox,
    kubeEngine: undefined,
    dir,
    agentImage: sandbox.options.agentImage ?? DEFAULT_AGENT_IMAGE,
    kubeconfigPath,
    kc,
    controllerKubeconfigPath: kubeconfigPath,
    controllerKc: kc,
    kubectl: (args, input) => kubectl.start(args, input).done,
    kubectlStart: (args) => kubectl.start(args),
    stopServer,
    async stop() {
      kubectl.killAll();
      await stopServer();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---- the real engine, one per mocha run ----

interface SharedEngine {
  t: TestKubeEngine;
  controllerKubeconfigPath: string;
  /** Namespaces there before any suite ran (kept by stop()). */
  baseline: Set<string>;
}

let shared: Promise<SharedEngine> | undefined;
/** One suite at a time holds the engine (mocha runs suites one after another). */
let holder: string | undefined;

const CONTROLLER_NS = 'restore-controller';
const CONTROLLER_SA = 'restore-controller';

async function must(t: TestKubeEngine, args: string[], input?: string): Promise<string> {
  const r = await t.kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Waits until the CRDs are Established and their lists answer: kube-apiserver answers 429 "storage
 * is (re)initializing" for a while after a CRD is created, which a suite's first request would meet.
 */
async function crdsServed(t: TestKubeEngine): Promise<void> {
  await must(t, ['wait', '--for', 'condition=Established', '--timeout', '120s', '-f', 'deploy/crds']);
  const kinds =
    'restoresessions.stash.appscode.com,repositories.stash.appscode.com,tasks.stash.appscode.com,functions.stash.appscode.com,appbindings.appcatalog.appscode.com';
  await eventually(async () => (await t.kubectl(['get', kinds, '-A', '-o', 'name'])).code === 0, 120_000, 500);
}

/**
 * deploy/'s ServiceAccount and RBAC (not its Deployment: the tests run the daemon themselves), and
 * a kubeconfig with a TokenRequest token for it, as the daemon's pod would have.
 */
async function controllerIdentity(t: TestKubeEngine): Promise<string> {
  await must(t, ['apply', '--server-side', '-f', 'deploy/crds']);
  await crdsServed(t);
  await must(t, ['apply', '--server-side', '-f', 'deploy/base/namespace.yaml']);
  await must(t, ['apply', '--server-side', '-n', CONTROLLER_NS, '-f', 'deploy/base/serviceaccount.yaml']);
  await must(t, ['apply', '--server-side', '-f', 'deploy/rbac']);
  const token = (await must(t, ['create', 'token', CONTROLLER_SA, '-n', CONTROLLER_NS, '--duration', '24h'])).trim();
  const admin = parse(readFileSync(t.kubeconfigPath, 'utf8')) as { clusters: Array<{ name: string; cluster: Record<string, unknown> }> };
  const cluster = admin.clusters[0]!;
  const path = join(t.dir, 'controller.kubeconfig');
  const user = `system:serviceaccount:${CONTROLLER_NS}:${CONTROLLER_SA}`;
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [cluster],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'restore-controller', context: { cluster: cluster.name, user, namespace: CONTROLLER_NS } }],
      'current-context': 'restore-controller',
    }),
    { mode: 0o600 },
  );
  return path;
}

async function startShared(): Promise<SharedEngine> {
  const t = await startKubeEngine({ nodes: 1 });
  const controllerKubeconfigPath = await controllerIdentity(t);
  const baseline = new Set(
    (await must(t, ['get', 'namespaces', '-o', 'name']))
      .split('\n')
      .filter(Boolean)
      .map((n) => n.replace(/^namespace\//, '')),
  );
  return { t, controllerKubeconfigPath, baseline };
}

/** Stops the shared engine (the root hook of test/support/engine-hooks.ts calls it after the run). */
export async function stopSharedEngine(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await (await s).t.stop();
}

const EMBEDDED_ONLY: Array<keyof SandboxOptions> = [
  'dir',
  'port',
  'nodes',
  'historySize',
  'bookmarkIntervalMs',
  'simulate',
  'gracefulPodDeletion',
  'timing',
  'log',
  'agentImage',
];

async function useSharedEngine(options: Partial<SandboxOptions>): Promise<EngineSandbox> {
  const unsupported = EMBEDDED_ONLY.filter((k) => options[k] !== undefined);
  if (unsupported.length)
    throw new Error(`startSandbox: ${unsupported.join(', ')} are embedded-engine options; this suite cannot run on the shared kube-apiserver engine`);
  if (holder) throw new Error(`startSandbox: the shared kube-apiserver engine is still held by a suite that did not stop() (${holder})`);
  shared ??= startShared();
  const s = await shared;
  holder = new Error().stack?.split('\n')[3]?.trim() ?? 'a suite';
  s.t.engine.setAgentCommand(options.agentCommand);
  const kubectl = kubectlRunner(s.t.kubeconfigPath, s.t.dir);
  let stopped = false;
  return {
    engine: 'kube-apiserver',
    sandbox: undefined,
    kubeEngine: s.t.engine,
    dir: s.t.dir,
    agentImage: DEFAULT_AGENT_IMAGE,
    kubeconfigPath: s.t.kubeconfigPath,
    kc: s.t.kc,
    controllerKubeconfigPath: s.controllerKubeconfigPath,
    controllerKc: loadKc(s.controllerKubeconfigPath),
    kubectl: (args, input) => kubectl.start(args, input).done,
    kubectlStart: (args) => kubectl.start(args),
    stopServer: () => Promise.reject(new Error('stopServer: the shared kube-apiserver engine is not stopped by a suite')),
    async stop() {
      if (stopped) return;
      stopped = true;
      kubectl.killAll();
      try {
        await cleanNamespaces(s);
      } finally {
        s.t.engine.setAgentCommand(undefined);
        holder = undefined;
      }
    },
  };
}

/**
 * Deletes every namespace the suite made and waits until they, and the volumes of their claims,
 * are gone (the next suite may make the same names). Finalizers nobody is left to remove (the
 * controller's, on sessions, once the suite stopped it) are removed here.
 */
async function cleanNamespaces(s: SharedEngine): Promise<void> {
  const core = s.t.kc.makeApiClient(k8s.CoreV1Api);
  const custom = s.t.kc.makeApiClient(k8s.CustomObjectsApi);
  const mine = async () => (await core.listNamespace()).items.map((n) => n.metadata!.name!).filter((n) => !s.baseline.has(n));
  const namespaces = await mine();
  for (const name of namespaces) await core.deleteNamespace({ name }).catch(() => undefined);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const left = await mine();
    const pvs = (await core.listPersistentVolume()).items.filter((pv) => namespaces.includes(pv.spec?.claimRef?.namespace ?? ''));
    if (!left.length && !pvs.length) return;
    if (Date.now() > deadline)
      throw new Error(`namespaces ${left.join(', ')} / volumes ${pvs.map((p) => p.metadata?.name).join(', ')} still there after 120 s`);
    for (const namespace of left)
      for (const plural of ['restoresessions', 'repositories']) {
        const list = (await custom
          .listNamespacedCustomObject({ group: 'stash.appscode.com', version: 'v1beta1', namespace, plural })
          .catch(() => ({ items: [] }))) as {
          items: Array<{ metadata: { name: string; finalizers?: string[] } }>;
        };
        for (const o of list.items.filter((x) => x.metadata.finalizers?.length))
          await custom
            .patchNamespacedCustomObject(
              { group: 'stash.appscode.com', version: 'v1beta1', namespace, plural, name: o.metadata.name, body: { metadata: { finalizers: null } } },
              k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
            )
            .catch(() => undefined);
      }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Polls until `check` returns a truthy value (or throws the last error after `timeoutMs`). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      lastError = new Error('condition not met');
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw lastError;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
