// bench/cycle.ts (`npm run bench:cycle`): the daemon's cycle at 10, 100 and 1,000 declared
// sessions, on the embedded sandbox and on the real kube-apiserver engine side by side (each in
// its own process), with a real smart-HTTP git server.
//  - first cycle: N sessions created, N ledger entries pushed, by step; then how long the controller
//    takes to bring every new session to Pending (its targets do not exist), under its client-side
//    rate limit (default 50 QPS, burst 300; --qps/--burst change it);
//  - steady state while the N sessions wait for their targets, and again once they are final:
//    API requests per second over a quiet window (aim 0: waiting sessions are woken by watches);
//  - no-op cycle (nothing changed anywhere): aim 0 API writes, 0 commits, < 100 ms at 1,000;
//  - one-file change: aim work proportional to the change (1 create, 1 status file);
//  - push → RestoreSession latency: a push, then a signed GitHub push webhook to the daemon's
//    webhook server, until the new session is visible through the API. Aim p50 < 1 s;
//  - the daemon alone (--daemon-sessions, default 1 and 1,000): `restorectl run` from the built
//    JavaScript as a process of its own, its first cycle from its own log, and its peak RSS from
//    /proc (VmHWM) until the controller has caught up. Aim ≤ 150 MiB + 20 KiB per session.
// Requests: `client` is every request the daemon's client sent (counted on its KubeConfig: the
// same measure on both engines); `server` is what the API server counted (bench/engines.ts says
// how, per engine); a cycle's count includes the controller's reaction to what the cycle created.
// BENCH_BUILT=1 runs the in-process daemon from dist/ too. Run with --expose-gc (the npm script does).
// Run: npm run bench:cycle [-- --engine both|embedded|kube-apiserver --sessions 10,100,1000
//        --daemon-sessions 1,1000 --qps 50 --burst 300 --daemon-heap-snapshot DIR]
import { execFileSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { GitHttpServer } from '@restore-controller/devkit/git-http-server';
import { REPO_ROOT, countedKubeConfig, enginesFrom, load, staleBuild, startDaemonProcess, startEngine } from './engines.ts';
import type { EngineName, RequestCount } from './engines.ts';
import { restoreSessionYaml } from './manifests.ts';

const { values } = parseArgs({
  options: {
    engine: { type: 'string' },
    sessions: { type: 'string', default: process.env['BENCH_SIZES'] ?? '10,100,1000' },
    'daemon-sessions': { type: 'string', default: '1,1000' },
    qps: { type: 'string', default: '50' },
    burst: { type: 'string', default: '300' },
    /** NODE_OPTIONS for the daemon alone (e.g. --max-semi-space-size=2), to compare V8 settings. */
    'daemon-node-options': { type: 'string', default: '' },
    /** How long the daemon alone may take to catch up before its figures are taken anyway (s). */
    'catch-up-timeout': { type: 'string', default: '300' },
    /** A folder: the daemon alone writes a heap snapshot there once caught up (after its figures are taken). */
    'daemon-heap-snapshot': { type: 'string', default: '' },
  },
});
const { engines: ENGINES, note: ENGINE_NOTE } = enginesFrom(values.engine);
const list = (s: string) => s.split(',').filter(Boolean).map(Number);
const SIZES = list(values.sessions);
const DAEMON_SIZES = list(values['daemon-sessions']);
const LIMITS = { qps: Number(values.qps), burst: Number(values.burst) };
const QPS = `${LIMITS.qps ? `${LIMITS.qps} QPS, burst ${LIMITS.burst}` : 'no rate limit'}`;
if ([...SIZES, ...DAEMON_SIZES].some((n) => !Number.isInteger(n) || n < 1))
  throw new Error('--sessions and --daemon-sessions take counts ≥ 1, comma-separated');

const BUILT = process.env['BENCH_BUILT'] === '1';
if (BUILT && !existsSync(fileURLToPath(new URL('../dist/daemon/daemon.js', import.meta.url))))
  throw new Error('BENCH_BUILT=1: run `npm run build` first (dist/ is missing)');
const stale = DAEMON_SIZES.length || BUILT ? staleBuild() : undefined;
if (stale) throw new Error(`the daemon-alone figures run the built JavaScript, but ${stale} (or pass --daemon-sessions '')`);
/** A module of the product: built (dist/*.js) or its source (src/*.ts). */
const product = (path: string) => import(BUILT ? `../dist/${path}.js` : `../src/${path}.ts`);
const { Daemon } = (await product('daemon/daemon')) as typeof import('../src/daemon/daemon.ts');
const { RESTORE_SESSIONS } = (await product('kube/resources')) as typeof import('../src/kube/resources.ts');
const { startHttpServer } = (await product('daemon/http-server')) as typeof import('../src/daemon/http-server.ts');
const { hmacSha256Hex, webhookHandler } = (await product('daemon/webhook')) as typeof import('../src/daemon/webhook.ts');
const { GitSource } = (await product('source/index')) as typeof import('../src/source/index.ts');
const { StatusWriter } = (await product('status/index')) as typeof import('../src/status/index.ts');
type DaemonT = InstanceType<typeof Daemon>;

const NOOP_RUNS = Number(process.env['BENCH_RUNS'] ?? 7);
/** How long the steady state is watched for requests (ms). */
const STEADY_MS = Number(process.env['BENCH_STEADY_MS'] ?? 10_000);
const LATENCY_RUNS = Number(process.env['BENCH_LATENCY_RUNS'] ?? 9);
const SECRET = 'bench-webhook-secret';
const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Bench',
  GIT_AUTHOR_EMAIL: 'bench@example.com',
  GIT_COMMITTER_NAME: 'Bench',
  GIT_COMMITTER_EMAIL: 'bench@example.com',
};

const session = (i: number) => restoreSessionYaml({ name: `restore-${i}`, namespace: 'bench', repository: 'repo' });
const REPOSITORY = `apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata:
  name: repo
  namespace: bench
spec:
  backend:
    local:
      mountPath: /safe/data
      hostPath:
        path: /data/stash-test/restic-repo
    storageSecretName: repo-secret
`;

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function kubectl(kubeconfig: string, home: string, args: string[]): string {
  return execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, HOME: home, KUBECACHEDIR: join(home, 'kubectl-cache') },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** An engine with the CRDs (Established), the namespace and the Repository's Secret; a git server with N sessions pushed. */
async function setUp(engineName: EngineName, n: number, tmp: string) {
  const engine = await startEngine(engineName, join(tmp, 'cluster'));
  const server = await GitHttpServer.start({ root: join(tmp, 'repos') });
  kubectl(engine.kubeconfig, tmp, ['apply', '--server-side', '-f', 'deploy/crds']);
  kubectl(engine.kubeconfig, tmp, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
  const core = engine.kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'bench' } } });
  await core.createNamespacedSecret({ namespace: 'bench', body: { metadata: { name: 'repo-secret' }, stringData: { RESTIC_PASSWORD: 'bench' } } });
  const url = server.createRepo('restores');
  const work = join(tmp, 'work');
  mkdirSync(join(work, 'clusters', 'bench'), { recursive: true });
  git(work, ['init', '--quiet', '--initial-branch=main']);
  git(work, ['remote', 'add', 'origin', server.repoPath('restores')]);
  writeFileSync(join(work, 'clusters', 'bench', 'repository.yaml'), REPOSITORY);
  for (let i = 0; i < n; i++) writeFileSync(join(work, 'clusters', 'bench', `restore-${i}.yaml`), session(i));
  const push = (message: string) => {
    git(work, ['add', '-A']);
    git(work, ['commit', '--quiet', '-m', message]);
    git(work, ['push', '--quiet', 'origin', 'HEAD']); // by path: a sync push over HTTP to this process would deadlock
  };
  push(`${n} restores`);
  const statusCommits = () => {
    try {
      return Number(server.git('restores', ['rev-list', '--count', 'restore-status']).trim());
    } catch {
      return 0; // no status branch yet
    }
  };
  return { engine, server, url, work, push, statusCommits };
}

async function markSucceeded(custom: k8s.CustomObjectsApi, n: number): Promise<void> {
  for (let i = 0; i < n; i += 20) {
    await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, async (_, j) => {
        const name = `restore-${i + j}`;
        const s = (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'bench', name })) as { status?: object };
        await custom.replaceNamespacedCustomObjectStatus({
          ...RESTORE_SESSIONS,
          namespace: 'bench',
          name,
          body: {
            ...s,
            status: {
              ...s.status,
              phase: 'Succeeded',
              totalHosts: 1,
              sessionDuration: '1s',
              stats: [{ hostname: 'host-0', phase: 'Succeeded', duration: '1s' }],
              conditions: [],
            },
          },
        });
      }),
    );
  }
}

function steps(runs: { timings: Record<string, number | undefined> }[]): string {
  const keys = Object.keys(runs[0]?.timings ?? {});
  return keys
    .map(
      (k) =>
        `${k} ${percentile(
          runs.map((r) => r.timings[k] ?? 0),
          0.5,
        ).toFixed(0)}`,
    )
    .join(', ');
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length - 1) * p))]!;
}

/** Heap after a full GC (when run with --expose-gc) and RSS now. */
function heapNow(): { heap: number; rss: number; gc: boolean } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, gc: Boolean(gc) };
}
const memory: { engine: EngineName; size: number; heap: number; rss: number; gc: boolean }[] = [];

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const ms = (x: number) => `${x.toFixed(0)} ms`;
const aimMiB = (n: number) => 150 + (n * 20) / 1024;

interface Row {
  engine: EngineName;
  size: number;
  phase: string;
  time: string;
  client: string;
  writes: string;
  server: string;
  commits: string;
  note: string;
}
const rows: Row[] = [];
const notes: string[] = [];

async function benchSize(engineName: EngineName, n: number): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), `bench-cycle-${n}-`));
  const { engine, server, url, work, push, statusCommits } = await setUp(engineName, n, tmp);
  const row = (r: Omit<Row, 'engine' | 'size'>) => rows.push({ engine: engineName, size: n, ...r });
  try {
    const counted = countedKubeConfig(engine.kc);
    const custom = engine.kc.makeApiClient(k8s.CustomObjectsApi);
    const cacheDir = join(tmp, 'cache');
    const daemon = new Daemon({
      source: new GitSource({ url, branch: 'main', path: 'clusters/bench', cacheDir: join(cacheDir, 'source') }),
      statusWriter: new StatusWriter({ url, cacheDir: join(cacheDir, 'status') }),
      kubeConfig: counted.kc,
      cluster: 'bench',
      // The controller runs alongside as in production; its targets do not exist, so every session
      // waits Pending after one reconcile.
      controller: { agent: { image: 'restorectl:bench' }, resyncMs: 3_600_000, clientLimits: LIMITS },
    });

    await daemon.watch(); // as `restorectl run` does; cycles then run only when the bench calls them

    const counts = async (): Promise<{ client: RequestCount; server: RequestCount }> => ({ client: counted.count(), server: await engine.served() });
    const measure = async (note: (r: Awaited<ReturnType<DaemonT['cycle']>>) => string) => {
      await daemon.controller.idle();
      await engine.settled();
      const before = await counts();
      const linesBefore = engine.lines().length;
      const commitsBefore = statusCommits();
      const t = performance.now();
      const report = await daemon.cycle();
      const took = performance.now() - t;
      await daemon.controller.idle(); // the controller reacting to what the cycle created, at its rate limit
      const caughtUp = performance.now() - t;
      await engine.settled(); // the cycle's requests, and those of the controller reacting to its writes
      const after = await counts();
      if (!report.ok) throw new Error(`${engineName}, ${n} sessions: ${report.error}`);
      return {
        timings: report.timings,
        took,
        requests: after.client.total - before.client.total,
        writes: after.client.writes - before.client.writes,
        served: after.server.total - before.server.total,
        commits: statusCommits() - commitsBefore,
        note: note(report),
        lines: engine.lines().slice(linesBefore),
        caughtUp,
      };
    };
    /** Requests per second over a quiet window: the daemon's client, and the server (every client there). */
    const steady = async (phase: string) => {
      await daemon.controller.idle();
      await engine.settled();
      const before = await counts();
      const reconciles = daemon.controller.stats.reconciles;
      await new Promise((r) => setTimeout(r, STEADY_MS));
      await engine.settled();
      const after = await counts();
      const s = STEADY_MS / 1000;
      const client = after.client.total - before.client.total;
      row({
        phase,
        time: `${s.toFixed(0)} s window`,
        client: `${(client / s).toFixed(1)}/s`,
        writes: '',
        server: `${((after.server.total - before.server.total) / s).toFixed(1)}/s`,
        commits: '',
        note: `${client} client requests, ${daemon.controller.stats.reconciles - reconciles} reconciles in the window (aim 0 requests/s)`,
      });
    };

    const calls0 = { ...daemon.controller.cluster.counter.byCall };
    const reconciles0 = daemon.controller.stats.reconciles;
    const first = await measure((r) => `${r.applied.length} applied; by step: ${steps([{ timings: r.timings }])}`);
    const controllerCalls = Object.entries(daemon.controller.cluster.counter.byCall)
      .map(([call, k]) => [call, k - (calls0[call] ?? 0)] as const)
      .filter(([, k]) => k > 0 && k >= n / 20)
      .map(([call, k]) => `${call} ${(k / n).toFixed(2)}`)
      .join(', ');
    row({
      phase: 'first cycle',
      time: ms(first.took),
      client: String(first.requests),
      writes: String(first.writes),
      server: String(first.served),
      commits: String(first.commits),
      note: `${first.note}${n >= 1000 ? ` (${(first.took / 2000).toFixed(2)}× the 2 s aim)` : ''}; ${(first.requests / n).toFixed(1)} client requests/session (the controller's per session: ${controllerCalls}; ${((daemon.controller.stats.reconciles - reconciles0) / n).toFixed(2)} reconciles); controller caught up after ${ms(first.caughtUp)} (${QPS}; ${daemon.controller.limiter.stats.waited} requests waited for a token)`,
    });
    memory.push({ engine: engineName, size: n, ...heapNow() });
    await steady('steady: sessions waiting');
    // Steady state: the restores are done. Stand-in agents report every host Succeeded (the
    // controller then leaves the sessions alone), and one cycle records it on the status branch.
    await daemon.controller.idle();
    await markSucceeded(custom, n);
    await daemon.controller.idle();
    await daemon.cycle();

    await steady('steady: sessions final');
    const noop: Awaited<ReturnType<typeof measure>>[] = [];
    for (let r = 0; r < NOOP_RUNS; r++) noop.push(await measure(() => ''));
    const warm = noop.slice(1);
    const worst = warm.reduce((a, b) => (b.writes + b.commits > a.writes + a.commits ? b : a));
    row({
      phase: 'no-op cycle (warm)',
      time: `p50 ${ms(
        percentile(
          warm.map((x) => x.took),
          0.5,
        ),
      )}, max ${ms(Math.max(...warm.map((x) => x.took)))}`,
      client: String(
        percentile(
          warm.map((x) => x.requests),
          0.5,
        ),
      ),
      writes: String(Math.max(...warm.map((x) => x.writes))),
      server: String(
        percentile(
          warm.map((x) => x.served),
          0.5,
        ),
      ),
      commits: String(Math.max(...warm.map((x) => x.commits))),
      note:
        worst.writes && worst.lines.length
          ? `writes: ${worst.lines
              .filter((l) => !l.startsWith('GET '))
              .slice(0, 3)
              .join('; ')}`
          : `cold ${ms(noop[0]!.took)}; p50 by step: ${steps(warm)}`,
    });

    writeFileSync(join(work, 'clusters', 'bench', `restore-${n}.yaml`), session(n));
    push('one more restore');
    const one = await measure((r) => `${r.applied.map((a) => `${a.action.action} ${a.action.kind}`).join(', ')}; by step: ${steps([{ timings: r.timings }])}`);
    if (process.env['BENCH_DEBUG']) console.log(one.lines.join('\n'));
    row({
      phase: 'one-file change',
      time: ms(one.took),
      client: String(one.requests),
      writes: String(one.writes),
      server: String(one.served),
      commits: String(one.commits),
      note: one.note,
    });

    // Push → session visible: the push lands, then a signed GitHub push webhook reaches the daemon's webhook server.
    const webhook = await startHttpServer(
      'bench webhook',
      { host: '127.0.0.1', port: 0 },
      webhookHandler({ secret: SECRET, follow: { branch: 'main' }, onPush: () => void daemon.trigger() }),
    );
    const latencies: number[] = [];
    for (let r = 0; r < LATENCY_RUNS; r++) {
      await daemon.controller.idle();
      const i = n + 1 + r;
      writeFileSync(join(work, 'clusters', 'bench', `restore-${i}.yaml`), session(i));
      push(`restore ${i}`);
      const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', after: git(work, ['rev-parse', 'HEAD']) }));
      const t = performance.now();
      const hook = await fetch(`${webhook.url}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmacSha256Hex(SECRET, body)}` },
        body,
      });
      if (hook.status !== 202) throw new Error(`webhook answered ${hook.status}: ${await hook.text()}`);
      for (;;) {
        const found = await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'bench', name: `restore-${i}` }).then(
          () => true,
          () => false,
        );
        if (found) break;
        await new Promise((res) => setTimeout(res, 5));
      }
      latencies.push(performance.now() - t);
      await daemon.trigger();
    }
    row({
      phase: 'push → RestoreSession',
      time: `p50 ${ms(percentile(latencies, 0.5))}, p90 ${ms(percentile(latencies, 0.9))}`,
      client: '',
      writes: '',
      server: '',
      commits: '',
      note: `${LATENCY_RUNS} pushes, each announced by a signed webhook`,
    });
    await webhook.close();
    daemon.stop();
  } finally {
    await engine.stop();
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

interface DaemonFigures {
  engine: EngineName;
  size: number;
  firstCycle?: { seconds: number; timings: Record<string, number> };
  caughtUpMs?: number;
  pending: number;
  hwm: number;
  rssEnd: number;
  startupMs: number;
  /** Per second from the first create: creates (the Applier) and sessions brought to Pending (the controller), from the daemon's log. */
  timeline?: string;
  /** When the sampled RSS peaked, and when the first cycle's end was seen (ms after the start). */
  peakAtMs: number;
  firstCycleAtMs?: number;
}
const daemonFigures: DaemonFigures[] = [];

/**
 * Where the first cycle's apply goes, second by second from the first create: sessions created
 * and sessions first seen Pending, as a watch of this process sees them.
 */
async function watchTimeline(kc: k8s.KubeConfig): Promise<{ text: () => string | undefined; stop: () => void }> {
  const created: number[] = [];
  const pending = new Map<string, number>();
  const seen = new Set<string>();
  const ended: string[] = [];
  let stopped = false;
  let req: { abort(): void } | undefined;
  // Started again whenever it ends (a watch may be closed by the server); ADDED events of a restart are not new.
  const start = async (): Promise<void> => {
    req = await new k8s.Watch(kc).watch(
      `/apis/${RESTORE_SESSIONS.group}/${RESTORE_SESSIONS.version}/namespaces/bench/${RESTORE_SESSIONS.plural}`,
      {},
      (type: string, o: { metadata: { name: string }; status?: { phase?: string } }) => {
        if (type === 'ADDED' && !seen.has(o.metadata.name)) {
          seen.add(o.metadata.name);
          created.push(performance.now());
        }
        if (o.status?.phase === 'Pending' && !pending.has(o.metadata.name)) pending.set(o.metadata.name, performance.now());
      },
      (err: unknown) => {
        if (err) ended.push(String((err as Error).message ?? err));
        if (!stopped) setTimeout(() => void start().catch((e: Error) => ended.push(e.message)), 100);
      },
    );
  };
  await start();
  return {
    stop: () => {
      stopped = true;
      req?.abort();
    },
    text: () => {
      if (!created.length) return ended.length ? `no creates seen; the watch ended: ${ended.slice(0, 2).join('; ')}` : undefined;
      const t0 = created[0]!;
      const seconds = Math.ceil((created[created.length - 1]! - t0 + 1) / 1000);
      const per = (xs: Iterable<number>, i: number) => [...xs].filter((x) => x >= t0 + i * 1000 && x < t0 + (i + 1) * 1000).length;
      return Array.from({ length: seconds }, (_, i) => `${per(created, i)}/${per(pending.values(), i)}`).join(' ');
    },
  };
}

/** `restorectl run` (dist/) as its own process against a fresh cluster and N declared sessions: its first cycle and its memory. */
async function daemonAlone(engineName: EngineName, n: number): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), `bench-daemon-${n}-`));
  const { engine, server, url } = await setUp(engineName, n, tmp);
  const custom = engine.kc.makeApiClient(k8s.CustomObjectsApi);
  const watched = await watchTimeline(engine.kc);
  const snapshotDir = values['daemon-heap-snapshot'] ? join(values['daemon-heap-snapshot'], `${engineName}-${n}`) : '';
  if (snapshotDir) mkdirSync(snapshotDir, { recursive: true });
  const nodeOptions = [values['daemon-node-options'], snapshotDir ? `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${snapshotDir}` : '']
    .filter(Boolean)
    .join(' ');
  const t0 = performance.now();
  const daemon = startDaemonProcess(
    [
      '--git-url',
      url,
      '--path',
      'clusters/bench',
      '--cluster',
      'bench',
      '--kubeconfig',
      engine.kubeconfig,
      '--cache-dir',
      join(tmp, 'cache'),
      '--interval',
      '1h',
      '--agent-image',
      'restorectl:bench',
      '--kube-api-qps',
      String(LIMITS.qps),
      '--kube-api-burst',
      String(LIMITS.burst),
    ],
    nodeOptions ? { NODE_OPTIONS: nodeOptions } : {},
  );
  const figures: DaemonFigures = { engine: engineName, size: n, pending: 0, hwm: 0, rssEnd: 0, startupMs: 0, peakAtMs: 0 };
  try {
    const deadline = Date.now() + Number(values['catch-up-timeout']) * 1000;
    const exited = () => daemon.child.exitCode !== null || daemon.child.signalCode !== null;
    while (Date.now() < deadline && !exited()) {
      await new Promise((r) => setTimeout(r, 1000));
      if (!figures.startupMs && daemon.logs.some((l) => l['msg'] === 'running')) figures.startupMs = performance.now() - t0;
      const cycle = daemon.logs.find((l) => l['msg'] === 'cycle timings');
      if (!cycle) continue;
      figures.firstCycle ??= { seconds: cycle['seconds'] as number, timings: cycle['timings'] as Record<string, number> };
      figures.firstCycleAtMs ??= performance.now() - t0;
      if (cycle['ok'] === false)
        throw new Error(`the daemon's first cycle failed: ${JSON.stringify(daemon.logs.filter((l) => l['level'] === 'error').slice(0, 3))}`);
      const sessions = (await custom.listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'bench' })) as {
        items: Array<{ status?: { phase?: string } }>;
      };
      figures.pending = sessions.items.filter((s) => s.status?.phase === 'Pending').length;
      if (figures.pending >= n) {
        figures.caughtUpMs = performance.now() - t0;
        await new Promise((r) => setTimeout(r, 3000)); // what the last reconciles leave behind
        break;
      }
    }
    if (exited()) throw new Error(`restorectl run exited (${daemon.child.exitCode}): ${JSON.stringify(daemon.logs.slice(-5))}`);
    figures.timeline = watched.text();
    const m = daemon.memory();
    figures.hwm = m.hwm;
    figures.rssEnd = m.rss;
    figures.peakAtMs = m.peakAtMs;
    daemonFigures.push(figures);
    if (snapshotDir) await heapSnapshot(daemon.child, snapshotDir);
  } finally {
    watched.stop();
    await daemon.stop();
    await engine.stop();
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Signals the daemon (started with --heapsnapshot-signal=SIGUSR2) and waits until its snapshot is written. */
async function heapSnapshot(child: ChildProcess, dir: string): Promise<void> {
  child.kill('SIGUSR2');
  const deadline = Date.now() + 300_000;
  let last = -1;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    const f = readdirSync(dir).find((x) => x.endsWith('.heapsnapshot'));
    const size = f ? statSync(join(dir, f)).size : -1;
    if (f && size > 0 && size === last) return void console.log(`  heap snapshot: ${join(dir, f)} (${mib(size)})`);
    last = size;
  }
  console.log(`  heap snapshot: none written in ${dir} within 300 s`);
}

console.log(
  `bench:cycle — ${ENGINE_NOTE}; sessions ${SIZES.join(', ')}; daemon alone at ${DAEMON_SIZES.join(', ') || 'none'}; ${QPS}; in-process daemon ${BUILT ? 'built dist/' : 'sources through tsx'}; node ${process.version}; load ${load()}`,
);
for (const engineName of ENGINES) {
  for (const n of SIZES) {
    const rssBefore = process.memoryUsage().rss;
    await benchSize(engineName, n);
    console.log(`  ${engineName}: ${n} sessions done (peak RSS of the bench so far ${mib(peakRss)}, was ${mib(rssBefore)} before this size); load ${load()}`);
  }
  for (const n of DAEMON_SIZES) {
    await daemonAlone(engineName, n);
    console.log(`  ${engineName}: the daemon alone with ${n} sessions done; load ${load()}`);
  }
}
clearInterval(sampler);

const widths = [15, 8, 24, 26, 8, 7, 9, 8];
const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' ');
console.log(`\n${line(['engine', 'sessions', 'phase', 'time', 'client', 'writes', 'server', 'commits', 'note'])}`);
for (const size of SIZES)
  for (const phase of [...new Set(rows.map((r) => r.phase))])
    for (const r of rows.filter((x) => x.size === size && x.phase === phase))
      console.log(line([r.engine, String(r.size), r.phase, r.time, r.client, r.writes, r.server, r.commits, r.note]));
console.log("\nrequests: client = the daemon's own client (counted on its KubeConfig: API calls and watch starts, the same on both engines)");
for (const e of ENGINES)
  console.log(
    `          server (${e}) = ${e === 'embedded' ? "the sandbox's request log (every request it served, watches included; the bench's own reads excluded by the windows)" : "kube-apiserver's apiserver_request_total (every client: kube-controller-manager, the scheduler, the simulated nodes; a watch counts when it ends)"}`,
  );
for (const n of notes) console.log(n);

if (memory.length) {
  console.log(
    `\nmemory of the in-process daemon once the first cycle settled (${memory[0]!.gc ? 'heap after a full GC' : 'heap without a GC: run with --expose-gc'}; this process also holds the git server and the bench):`,
  );
  for (const e of ENGINES) {
    const mine = memory.filter((m) => m.engine === e);
    const base = mine.reduce((a, b) => (b.size < a.size ? b : a), mine[0]!);
    for (const m of mine) {
      const perSession =
        m.size > base.size ? ` = ${((m.heap - base.heap) / (m.size - base.size) / 1024).toFixed(1)} KiB heap per session over ${base.size}` : '';
      console.log(`  ${e.padEnd(15)} ${String(m.size).padStart(5)} sessions: heap ${mib(m.heap)}, RSS ${mib(m.rss)}${perSession}`);
    }
  }
  console.log(`  peak RSS of the bench process: ${mib(peakRss)}`);
}
if (daemonFigures.length) {
  console.log(
    `\nthe daemon alone: \`restorectl run\` from dist/ in its own process (${QPS}${values['daemon-node-options'] ? `; NODE_OPTIONS=${values['daemon-node-options']}` : ''}), peak RSS = VmHWM from /proc until every session was Pending:`,
  );
  for (const e of ENGINES) {
    const mine = daemonFigures.filter((d) => d.engine === e);
    const base = mine.reduce((a, b) => (b.size < a.size ? b : a), mine[0]!);
    for (const d of mine) {
      const aim = aimMiB(d.size);
      const per = d.size > base.size ? `, ${((d.hwm - base.hwm) / (d.size - base.size) / 1024).toFixed(1)} KiB per session over ${base.size}` : '';
      const first = d.firstCycle
        ? `first cycle ${(d.firstCycle.seconds * 1000).toFixed(0)} ms${d.size >= 1000 ? ` (${(d.firstCycle.seconds / 2).toFixed(2)}× the 2 s aim)` : ''} (${Object.entries(
            d.firstCycle.timings,
          )
            .map(([k, v]) => `${k} ${v.toFixed(0)}`)
            .join(', ')})`
        : 'no cycle logged';
      const caught = d.caughtUpMs ? `all Pending ${ms(d.caughtUpMs)} after start` : `NOT caught up: ${d.pending}/${d.size} Pending at the timeout`;
      const peakAt = `RSS peaked ${ms(d.peakAtMs)} after start${d.firstCycleAtMs ? ` (first cycle seen ended by ${ms(d.firstCycleAtMs)})` : ''}`;
      console.log(
        `  ${e.padEnd(15)} ${String(d.size).padStart(5)} sessions: peak RSS ${mib(d.hwm)} = ${(d.hwm / 2 ** 20 / aim).toFixed(2)}× the aim of ${aim.toFixed(0)} MiB${per}; RSS at the end ${mib(d.rssEnd)}; ${first}; ${caught}; ${peakAt}`,
      );
      if (d.timeline)
        console.log(
          `  ${''.padEnd(15)} ${''.padStart(5)}           sessions created/Pending per second from the first create (a watch of the bench): ${d.timeline}`,
        );
    }
  }
}
console.log(`\nload average at the end: ${load()} (2 cores, shared with other work)`);
console.log(
  'aims: steady 0 requests/s; first cycle < 2 s at 1,000; no-op 0 writes, 0 commits, < 100 ms at 1,000 sessions; one-file change proportional to the change; push → session p50 < 1 s; daemon ≤ 150 MiB + 20 KiB per session',
);
