// Benchmark: the Controller driving many RestoreSessions at once (issue 7). The sandbox runs in a
// child process (`restorectl sandbox`), so the memory sampled here is the controller's, plus this
// script's small setup and polling. The Controller runs in this process, with its watches.
//
// The mix, all real: VolumeSnapshotter sessions (no agent: the controller makes a PVC from a
// VolumeSnapshot and waits for it to bind), restore-Job sessions and Deployment (init-container)
// sessions whose agent runs as a real `restorectl agent restore` process with real restic.
//
// Prints time to all-final, API requests per session (and the ratio to before the watch caches),
// requests per second in the steady state once every session is final (aim 0), (the controller's own count: every request
// it makes, informer LISTs included; watch streams counted apart), peak RSS and heap, CPU time.
// Figures only: nothing is asserted about timing.
// Run: npm run bench:controller [-- --snapshots 450 --jobs 40 --deployments 10 --namespaces 10 --concurrency 4]
// BENCH_LOG=1 prints the controller's log on stderr.
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import type { RestoreSession } from '../src/api/index.ts';
import { isFinalPhase } from '../src/api/restoresession.ts';
import { nullLogger, textLogger } from '../src/common/log.ts';
import { Controller } from '../src/controller/index.ts';
import { DEFAULT_AGENT_IMAGE } from '../src/controller/agent-container.ts';
import { loadKubeConfig } from '../src/kube/kubeconfig.ts';
import { RESTORE_SESSIONS } from '../src/kube/resources.ts';
import { makeRepo } from '../test/support/restic-repo.ts';

const { values } = parseArgs({
  options: {
    snapshots: { type: 'string', default: '450' },
    jobs: { type: 'string', default: '40' },
    deployments: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '4' },
    namespaces: { type: 'string', default: '10' },
    'timeout-min': { type: 'string', default: '20' },
  },
});
const N = { snapshot: Number(values.snapshots), job: Number(values.jobs), deployment: Number(values.deployments) };
const CONCURRENCY = Number(values.concurrency);
const NAMESPACES = Array.from({ length: Math.max(1, Number(values.namespaces)) }, (_, i) => `bench-${i}`);
const TOTAL = N.snapshot + N.job + N.deployment;
/** Requests per session before the controller read from its watch caches (the note's figure for 114 sessions, at a7f16f4). */
const BASELINE_PER_SESSION = 12.0;
const STEADY_MS = Number(process.env['BENCH_STEADY_MS'] ?? 10_000);
if (![N.snapshot, N.job, N.deployment].every((n) => Number.isInteger(n) && n >= 0) || TOTAL === 0)
  throw new Error('--snapshots, --jobs and --deployments must be integers ≥ 0, not all 0');

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const PASSWORD = randomBytes(18).toString('base64'); // never printed
const out = (line: string) => process.stdout.write(`${line}\n`);
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

type Kind = keyof typeof N;

// ---------------------------------------------------------------------------------------------
// The sandbox, in its own process.

async function startSandboxProcess(dir: string): Promise<{ child: ChildProcess; kubeconfig: string }> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/restorectl.js'), 'sandbox', '--dir', dir], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      stdout += d;
      const m = /^kubeconfig: (.+)$/m.exec(stdout);
      if (m) resolve({ child, kubeconfig: m[1]! });
    });
    child.on('exit', (code) => reject(new Error(`restorectl sandbox exited (${code}) before it was up:\n${stderr}`)));
  });
}

// ---------------------------------------------------------------------------------------------
// Objects.

const meta = (name: string, namespace: string) => ({ name, namespace });
/** Sessions and their workloads are spread over the namespaces, i-th to the (i mod n)-th. */
const nsOf = (i: number) => NAMESPACES[i % NAMESPACES.length]!;
const claimSpec = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };

function sessionFor(kind: Kind, i: number): object {
  const name = `${kind}-${String(i).padStart(3, '0')}`;
  const base = { apiVersion: 'stash.appscode.com/v1beta1', kind: 'RestoreSession', metadata: meta(name, nsOf(i)) };
  if (kind === 'snapshot') {
    return {
      ...base,
      spec: {
        driver: 'VolumeSnapshotter',
        target: {
          replicas: 1,
          volumeClaimTemplates: [
            {
              metadata: { name: `${name}-\${POD_ORDINAL}` },
              spec: { ...claimSpec, dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'source-snap' } },
            },
          ],
        },
      },
    };
  }
  if (kind === 'job') {
    const claim = `${name}-\${POD_ORDINAL}`;
    return {
      ...base,
      spec: {
        repository: { name: 'repo' },
        target: {
          replicas: 1,
          volumeMounts: [{ name: claim, mountPath: '/source/data' }],
          volumeClaimTemplates: [{ metadata: { name: claim }, spec: claimSpec }],
          rules: [{ paths: ['/source/data'] }],
        },
      },
    };
  }
  return {
    ...base,
    spec: {
      repository: { name: 'repo' },
      target: {
        alias: 'app',
        ref: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        volumeMounts: [{ name: 'data', mountPath: '/source/data' }],
        rules: [{ paths: ['/source/data'] }],
      },
    },
  };
}

function deploymentObjects(i: number): object[] {
  const name = `deployment-${String(i).padStart(3, '0')}`;
  return [
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta(`${name}-data`, nsOf(i)), spec: claimSpec },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name, nsOf(i)),
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/source/data' }] }],
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName: `${name}-data` } }],
          },
        },
      },
    },
  ];
}

async function createAll(api: k8s.KubernetesObjectApi, objs: object[], parallel = 8): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < objs.length) await api.create(objs[next++] as k8s.KubernetesObject);
    }),
  );
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-controller-'));
  let sandbox: ChildProcess | undefined;
  let controller: Controller | undefined;
  try {
    out(
      `restore-controller bench: ${TOTAL} RestoreSessions (${N.snapshot} VolumeSnapshotter, ${N.job} restore Job, ${N.deployment} Deployment init-container) over ${NAMESPACES.length} namespace(s); controller concurrency ${CONCURRENCY}`,
    );
    out(
      `machine: ${(await import('node:os')).cpus().length} CPUs, load average ${(await import('node:os'))
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}, Node ${process.version}`,
    );
    const repo = await makeRepo({
      dir,
      password: PASSWORD,
      snapshots: ['host-0', 'app'].map((host) => ({ host, files: { [`/source/data/${host}.json`]: `{"host":"${host}"}` } })),
    });

    const sbx = await startSandboxProcess(join(dir, 'sandbox'));
    sandbox = sbx.child;
    const kc = loadKubeConfig({ kubeconfig: sbx.kubeconfig });
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    await promisify(execFile)('kubectl', ['--kubeconfig', sbx.kubeconfig, 'apply', '--server-side', '-f', 'deploy/crds'], {
      cwd: REPO_ROOT,
      env: { ...process.env, HOME: dir },
    });
    await createAll(
      objects,
      NAMESPACES.flatMap((ns) => [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } },
        { apiVersion: 'v1', kind: 'Secret', metadata: meta('repo-secret', ns), stringData: { RESTIC_PASSWORD: PASSWORD } },
        {
          apiVersion: 'stash.appscode.com/v1alpha1',
          kind: 'Repository',
          metadata: meta('repo', ns),
          spec: { backend: { local: { mountPath: '/safe/repo', hostPath: { path: repo.repoPath } }, storageSecretName: 'repo-secret' } },
        },
        { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta('source-data', ns), spec: claimSpec },
        {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshot',
          metadata: meta('source-snap', ns),
          spec: { source: { persistentVolumeClaimName: 'source-data' } },
        },
      ]),
      1,
    );
    await createAll(objects, Array.from({ length: N.deployment }, (_, i) => deploymentObjects(i)).flat());

    // The controller, in this process, measured from here.
    const sample = { rss: 0, heap: 0 };
    const base = process.memoryUsage();
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      sample.rss = Math.max(sample.rss, m.rss);
      sample.heap = Math.max(sample.heap, m.heapUsed);
    }, 50);
    const cpu0 = process.cpuUsage();
    controller = new Controller(kc, {
      agent: { image: DEFAULT_AGENT_IMAGE },
      concurrency: CONCURRENCY,
      log: process.env['BENCH_LOG'] ? textLogger((line) => process.stderr.write(line), { level: 'debug' }) : nullLogger,
    });
    await controller.start();

    const sessions = (['snapshot', 'job', 'deployment'] as Kind[]).flatMap((kind) => Array.from({ length: N[kind] }, (_, i) => sessionFor(kind, i)));
    const t0 = Date.now();
    await createAll(objects, sessions);
    const created = Date.now() - t0;

    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const finalAt = new Map<string, { kind: string; phase: string; ms: number }>();
    const deadline = t0 + Number(values['timeout-min']) * 60_000;
    let nextProgress = t0 + 30_000;
    let last = { waitedMs: 0, timed: 0 };
    while (finalAt.size < TOTAL && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      if (Date.now() >= nextProgress) {
        nextProgress += 30_000;
        const done = (kind: string) => [...finalAt.values()].filter((f) => f.kind === kind).length;
        const c = controller.cluster.counter;
        const latency = (c.waitedMs - last.waitedMs) / Math.max(1, c.timed - last.timed);
        last = { waitedMs: c.waitedMs, timed: c.timed };
        out(
          `  ${secs(Date.now() - t0).padStart(7)}: ${finalAt.size}/${TOTAL} final (snapshot ${done('snapshot')}/${N.snapshot}, job ${done('job')}/${N.job}, deployment ${done('deployment')}/${N.deployment}), ${controller.cluster.counter.requests} API requests (mean latency ${latency.toFixed(0)} ms), load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)}`,
        );
      }
      const list = (await custom.listClusterCustomObject({ ...RESTORE_SESSIONS })) as { items: RestoreSession[] };
      for (const s of list.items) {
        if (!finalAt.has(s.metadata.name) && isFinalPhase(s.status?.phase))
          finalAt.set(s.metadata.name, { kind: s.metadata.name.split('-')[0]!, phase: s.status!.phase!, ms: Date.now() - t0 });
      }
    }
    const allFinal = Date.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    const requests = controller.cluster.counter.requests;
    // Steady state: every session final, nothing changes; the controller should send nothing.
    await controller.idle();
    const steadyFrom = { requests: controller.cluster.counter.requests, reconciles: controller.stats.reconciles };
    await new Promise((r) => setTimeout(r, STEADY_MS));
    const steady = {
      perSecond: (controller.cluster.counter.requests - steadyFrom.requests) / (STEADY_MS / 1000),
      requests: controller.cluster.counter.requests - steadyFrom.requests,
      reconciles: controller.stats.reconciles - steadyFrom.reconciles,
    };
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const settledHeap = process.memoryUsage().heapUsed;
    const { waitedMs, timed } = controller.cluster.counter;
    const byCall = Object.entries(controller.cluster.counter.byCall).sort((a, b) => b[1] - a[1]);
    const watch = controller.watchStats();
    const limiter = controller.limiter.stats;
    await controller.stop();
    controller = undefined;

    const byKind = (kind: string) => [...finalAt.values()].filter((f) => f.kind === kind);
    const phases: Record<string, number> = {};
    for (const f of finalAt.values()) phases[f.phase] = (phases[f.phase] ?? 0) + 1;
    out('');
    out(`sessions created in ${secs(created)} (8 at a time through the API)`);
    out(
      finalAt.size === TOTAL
        ? `all ${TOTAL} final in ${secs(allFinal)} after the first create`
        : `TIMED OUT: ${finalAt.size} of ${TOTAL} final after ${secs(allFinal)}`,
    );
    out(
      `  phases: ${Object.entries(phases)
        .map(([p, n]) => `${p} ${n}`)
        .join(', ')}`,
    );
    for (const kind of ['snapshot', 'job', 'deployment'] as const) {
      const f = byKind(kind);
      if (N[kind])
        out(`  ${kind.padEnd(10)} ${String(f.length).padStart(3)}/${N[kind]} final, the last at ${f.length ? secs(Math.max(...f.map((x) => x.ms))) : 'n/a'}`);
    }
    out(
      `API requests by the controller: ${requests} = ${(requests / TOTAL).toFixed(1)} per session, ${(requests / TOTAL / BASELINE_PER_SESSION).toFixed(2)}× the ${BASELINE_PER_SESSION} of before the watch caches (informer LISTs included: ${watch?.lists ?? 0}); ${watch?.informers ?? 0} watch streams, restarted ${watch?.restarts ?? 0} times`,
    );
    out(
      `steady state (all final, ${(STEADY_MS / 1000).toFixed(0)} s window): ${steady.perSecond.toFixed(1)} requests/s (${steady.requests} requests, ${steady.reconciles} reconciles; aim 0)`,
    );
    out(`  rate limit: ${limiter.waited} of ${limiter.taken} requests waited for a token (default 50 QPS, burst 300)`);
    out(`  mean latency of the controller's requests: ${(waitedMs / Math.max(1, timed)).toFixed(0)} ms (over ${timed} timed)`);
    out(`  per session: ${byCall.map(([call, n]) => `${call} ${(n / TOTAL).toFixed(2)}`).join(', ')}`);
    out(
      `controller process memory: peak RSS ${mib(sample.rss)} (${mib(base.rss)} before the controller started), peak heap used ${mib(sample.heap)} (${mib(base.heapUsed)} before); heap in the steady state${gc ? ' after a full GC' : ''} ${mib(settledHeap)}`,
    );
    out(
      `  (this process holds the controller, its watch caches and this script's own polling LIST every second; the sandbox and the agents run in other processes)`,
    );
    out(
      `controller process CPU: ${secs((cpu.user + cpu.system) / 1000)} (user ${secs(cpu.user / 1000)}, system ${secs(cpu.system / 1000)}) over ${secs(allFinal)}`,
    );
    out(
      `load average at the end: ${(await import('node:os'))
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')} (a shared machine: figures vary with it)`,
    );
  } finally {
    await controller?.stop();
    if (sandbox && sandbox.exitCode === null) {
      const exited = new Promise((r) => sandbox!.once('exit', r));
      sandbox.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
