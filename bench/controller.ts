// Benchmark: the Controller driving many RestoreSessions at once (issue 7), on the embedded sandbox
// and on the real kube-apiserver engine side by side (--engine). Either runs in a child process
// (`restorectl sandbox [--engine kube-apiserver]`), so the memory sampled here is the controller's,
// plus this script's small setup and polling. The Controller runs in this process, with its watches,
// as admin (not deploy/'s ServiceAccount: the tests check its grants).
//
// The mix, all real: VolumeSnapshotter sessions (no agent: the controller makes a PVC from a
// VolumeSnapshot and waits for it to bind), restore-Job sessions and Deployment (init-container)
// sessions whose agent runs as a real `restorectl agent restore` process with real restic.
//
// Prints time to all-final, API requests per session (and the ratio to before the watch caches),
// requests per second in the steady state once every session is final (aim 0) (the controller's own
// count, the same on both engines: every request it makes, informer LISTs included; watch streams
// counted apart; beside it what the server counted, see bench/engines.ts), peak RSS and heap, CPU time.
// Figures only: nothing is asserted about timing. On the real engine the claims that no pod consumes
// (the VolumeSnapshot's source, the VolumeSnapshotter's) use the `immediate` class: `standard` is
// WaitForFirstConsumer there, as on a cluster.
// Run: npm run bench:controller [-- --engine both|embedded|kube-apiserver --snapshots 450 --jobs 40
//        --deployments 10 --namespaces 10 --concurrency 4 --qps 50 --burst 300]
// BENCH_LOG=1 prints the controller's log on stderr.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
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
import { REPO_ROOT, enginesFrom, load, startEngine } from './engines.ts';
import type { BenchEngine, EngineName } from './engines.ts';

const { values } = parseArgs({
  options: {
    snapshots: { type: 'string', default: '450' },
    jobs: { type: 'string', default: '40' },
    deployments: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '4' },
    namespaces: { type: 'string', default: '10' },
    'timeout-min': { type: 'string', default: '20' },
    engine: { type: 'string' },
    qps: { type: 'string', default: '50' },
    burst: { type: 'string', default: '300' },
  },
});
const { engines: ENGINES, note: ENGINE_NOTE } = enginesFrom(values.engine);
const LIMITS = { qps: Number(values.qps), burst: Number(values.burst) };
const QPS = LIMITS.qps ? `${LIMITS.qps} QPS, burst ${LIMITS.burst}` : 'no rate limit';
const N = { snapshot: Number(values.snapshots), job: Number(values.jobs), deployment: Number(values.deployments) };
const CONCURRENCY = Number(values.concurrency);
const NAMESPACES = Array.from({ length: Math.max(1, Number(values.namespaces)) }, (_, i) => `bench-${i}`);
const TOTAL = N.snapshot + N.job + N.deployment;
/** Requests per session before the controller read from its watch caches (the note's figure for 114 sessions, at a7f16f4). */
const BASELINE_PER_SESSION = 12.0;
const STEADY_MS = Number(process.env['BENCH_STEADY_MS'] ?? 10_000);
if (![N.snapshot, N.job, N.deployment].every((n) => Number.isInteger(n) && n >= 0) || TOTAL === 0)
  throw new Error('--snapshots, --jobs and --deployments must be integers ≥ 0, not all 0');

const PASSWORD = randomBytes(18).toString('base64'); // never printed
const out = (line: string) => process.stdout.write(`${line}\n`);
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MiB`;
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

type Kind = keyof typeof N;

// ---------------------------------------------------------------------------------------------
// Objects.

const meta = (name: string, namespace: string) => ({ name, namespace });
/** Sessions and their workloads are spread over the namespaces, i-th to the (i mod n)-th. */
const nsOf = (i: number) => NAMESPACES[i % NAMESPACES.length]!;
const claimSpec = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };
/** A claim no pod mounts binds only in an Immediate class (the real engine's default is WaitForFirstConsumer). */
const unconsumedClaimSpec = { ...claimSpec, storageClassName: 'immediate' };

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
              spec: { ...unconsumedClaimSpec, dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'source-snap' } },
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

interface Figures {
  engine: EngineName;
  created: number;
  allFinal: number;
  final: number;
  phases: Record<string, number>;
  lastByKind: Record<Kind, number | undefined>;
  finalByKind: Record<Kind, number>;
  requests: number;
  served: number;
  lists: number;
  informers: number;
  restarts: number;
  steady: { perSecond: number; requests: number; reconciles: number; served: number };
  limiter: { waited: number; taken: number };
  latencyMs: number;
  timed: number;
  byCall: Array<[string, number]>;
  rss: number;
  rssBefore: number;
  heap: number;
  heapBefore: number;
  settledHeap: number;
  cpu: NodeJS.CpuUsage;
  gc: boolean;
}

async function runOn(engineName: EngineName): Promise<Figures> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-controller-'));
  let engine: BenchEngine | undefined;
  let controller: Controller | undefined;
  try {
    const repo = await makeRepo({
      dir,
      password: PASSWORD,
      snapshots: ['host-0', 'app'].map((host) => ({ host, files: { [`/source/data/${host}.json`]: `{"host":"${host}"}` } })),
    });

    engine = await startEngine(engineName, join(dir, 'sandbox'));
    out(`${engineName}: up in ${secs(engine.startupMs)}; load average ${load()}`);
    const kc = loadKubeConfig({ kubeconfig: engine.kubeconfig });
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const kubectl = (args: string[]) =>
      promisify(execFile)('kubectl', ['--kubeconfig', engine!.kubeconfig, ...args], { cwd: REPO_ROOT, env: { ...process.env, HOME: dir } });
    await kubectl(['apply', '--server-side', '-f', 'deploy/crds']);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
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
        { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: meta('source-data', ns), spec: unconsumedClaimSpec },
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
    const served0 = await engine.served();
    controller = new Controller(kc, {
      agent: { image: DEFAULT_AGENT_IMAGE },
      concurrency: CONCURRENCY,
      clientLimits: LIMITS,
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
    const done = (kind: string) => [...finalAt.values()].filter((f) => f.kind === kind).length;
    while (finalAt.size < TOTAL && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      if (Date.now() >= nextProgress) {
        nextProgress += 30_000;
        const c = controller.cluster.counter;
        const latency = (c.waitedMs - last.waitedMs) / Math.max(1, c.timed - last.timed);
        last = { waitedMs: c.waitedMs, timed: c.timed };
        out(
          `  ${engineName} ${secs(Date.now() - t0).padStart(7)}: ${finalAt.size}/${TOTAL} final (snapshot ${done('snapshot')}/${N.snapshot}, job ${done('job')}/${N.job}, deployment ${done('deployment')}/${N.deployment}), ${controller.cluster.counter.requests} API requests (mean latency ${latency.toFixed(0)} ms), load average ${load()}`,
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
    if (finalAt.size < TOTAL) {
      // What the sessions left behind wait for, as their status says.
      const list = (await custom.listClusterCustomObject({ ...RESTORE_SESSIONS })) as { items: RestoreSession[] };
      for (const s of list.items.filter((x) => !finalAt.has(x.metadata.name)).slice(0, 5)) {
        const why = (s.status?.conditions ?? []).filter((c) => c.status !== 'True').map((c) => `${c.type}: ${c.message ?? c.reason}`);
        out(
          `  ${engineName}: ${s.metadata.namespace}/${s.metadata.name} still ${s.status?.phase ?? 'without a phase'}${why.length ? ` (${why.join('; ')})` : ''}`,
        );
      }
    }
    clearInterval(sampler);
    const requests = controller.cluster.counter.requests;
    const served = (await engine.served()).total - served0.total;
    // Steady state: every session final, nothing changes; the controller should send nothing.
    await controller.idle();
    await engine.settled();
    const steadyFrom = { requests: controller.cluster.counter.requests, reconciles: controller.stats.reconciles, served: (await engine.served()).total };
    await new Promise((r) => setTimeout(r, STEADY_MS));
    await engine.settled();
    const steady = {
      perSecond: (controller.cluster.counter.requests - steadyFrom.requests) / (STEADY_MS / 1000),
      requests: controller.cluster.counter.requests - steadyFrom.requests,
      reconciles: controller.stats.reconciles - steadyFrom.reconciles,
      served: ((await engine.served()).total - steadyFrom.served) / (STEADY_MS / 1000),
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
    const lastOf = (kind: Kind) => {
      const f = byKind(kind);
      return f.length ? Math.max(...f.map((x) => x.ms)) : undefined;
    };
    return {
      engine: engineName,
      created,
      allFinal,
      final: finalAt.size,
      phases,
      lastByKind: { snapshot: lastOf('snapshot'), job: lastOf('job'), deployment: lastOf('deployment') },
      finalByKind: { snapshot: done('snapshot'), job: done('job'), deployment: done('deployment') },
      requests,
      served,
      lists: watch?.lists ?? 0,
      informers: watch?.informers ?? 0,
      restarts: watch?.restarts ?? 0,
      steady,
      limiter: { waited: limiter.waited, taken: limiter.taken },
      latencyMs: waitedMs / Math.max(1, timed),
      timed,
      byCall,
      rss: sample.rss,
      rssBefore: base.rss,
      heap: sample.heap,
      heapBefore: base.heapUsed,
      settledHeap,
      cpu,
      gc: Boolean(gc),
    };
  } finally {
    await controller?.stop();
    await engine?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

function report(f: Figures): void {
  out('');
  out(`== ${f.engine}`);
  out(`sessions created in ${secs(f.created)} (8 at a time through the API)`);
  out(
    f.final === TOTAL
      ? `all ${TOTAL} final in ${secs(f.allFinal)} after the first create`
      : `TIMED OUT: ${f.final} of ${TOTAL} final after ${secs(f.allFinal)}`,
  );
  out(
    `  phases: ${Object.entries(f.phases)
      .map(([p, n]) => `${p} ${n}`)
      .join(', ')}`,
  );
  for (const kind of ['snapshot', 'job', 'deployment'] as const) {
    const lastMs = f.lastByKind[kind];
    if (N[kind])
      out(`  ${kind.padEnd(10)} ${String(f.finalByKind[kind]).padStart(3)}/${N[kind]} final, the last at ${lastMs === undefined ? 'n/a' : secs(lastMs)}`);
  }
  out(
    `API requests by the controller (its own count): ${f.requests} = ${(f.requests / TOTAL).toFixed(1)} per session, ${(f.requests / TOTAL / BASELINE_PER_SESSION).toFixed(2)}× the ${BASELINE_PER_SESSION} of before the watch caches (informer LISTs included: ${f.lists}); ${f.informers} watch streams, restarted ${f.restarts} times`,
  );
  out(
    `  the server counted ${f.served} requests meanwhile (${f.engine === 'embedded' ? "the sandbox's log: the controller's, the agents' and this script's polling LIST every second" : "apiserver_request_total: every client, the control plane's own controllers, the nodes and the agents too"})`,
  );
  out(
    `steady state (all final, ${(STEADY_MS / 1000).toFixed(0)} s window): ${f.steady.perSecond.toFixed(1)} requests/s by the controller (${f.steady.requests} requests, ${f.steady.reconciles} reconciles; aim 0); the server ${f.steady.served.toFixed(1)}/s from every client`,
  );
  out(`  rate limit: ${f.limiter.waited} of ${f.limiter.taken} requests waited for a token (${QPS})`);
  out(`  mean latency of the controller's requests: ${f.latencyMs.toFixed(0)} ms (over ${f.timed} timed)`);
  out(`  per session: ${f.byCall.map(([call, n]) => `${call} ${(n / TOTAL).toFixed(2)}`).join(', ')}`);
  out(
    `controller process memory: peak RSS ${mib(f.rss)} (${mib(f.rssBefore)} before the controller started), peak heap used ${mib(f.heap)} (${mib(f.heapBefore)} before); heap in the steady state${f.gc ? ' after a full GC' : ''} ${mib(f.settledHeap)}`,
  );
  out(
    `controller process CPU: ${secs((f.cpu.user + f.cpu.system) / 1000)} (user ${secs(f.cpu.user / 1000)}, system ${secs(f.cpu.system / 1000)}) over ${secs(f.allFinal)}`,
  );
}

out(
  `restore-controller bench: ${TOTAL} RestoreSessions (${N.snapshot} VolumeSnapshotter, ${N.job} restore Job, ${N.deployment} Deployment init-container) over ${NAMESPACES.length} namespace(s); controller concurrency ${CONCURRENCY}, ${QPS}; ${ENGINE_NOTE}`,
);
out(`machine: ${cpus().length} CPUs, load average ${load()}, Node ${process.version}`);
const all: Figures[] = [];
for (const e of ENGINES) all.push(await runOn(e));
for (const f of all) report(f);
if (all.length > 1) {
  out('');
  const w = [34, ...all.map(() => 22)];
  const rowOf = (cols: string[]) => cols.map((c, i) => c.padEnd(w[i] ?? 0)).join(' ');
  out(rowOf(['side by side', ...all.map((f) => f.engine)]));
  const r = (label: string, f: (x: Figures) => string) => out(rowOf([label, ...all.map(f)]));
  r('all final', (f) => (f.final === TOTAL ? secs(f.allFinal) : `timed out ${f.final}/${TOTAL}`));
  r(
    'controller requests per session',
    (f) => `${(f.requests / TOTAL).toFixed(1)} (${(f.requests / TOTAL / BASELINE_PER_SESSION).toFixed(2)}× ${BASELINE_PER_SESSION})`,
  );
  r('steady requests/s (aim 0)', (f) => f.steady.perSecond.toFixed(1));
  r('mean request latency', (f) => `${f.latencyMs.toFixed(0)} ms`);
  r('controller process peak RSS', (f) => mib(f.rss));
  r('controller CPU', (f) => secs((f.cpu.user + f.cpu.system) / 1000));
}
out(
  `(this process holds the controller, its watch caches and this script's own polling LIST every second; the API server and the agents run in other processes)`,
);
out(`load average at the end: ${load()} (a shared machine: figures vary with it)`);
