// bench/cycle.ts (`npm run bench:cycle`): the daemon's cycle at 10, 100 and 1,000 declared
// sessions, against a sandbox API server in its own process (so the memory figures are the
// daemon's) and a real smart-HTTP git server.
//  - first cycle: N sessions created, N ledger entries pushed; then how long the controller
//    takes to bring every new session to Pending (its targets do not exist), under its
//    client-side rate limit (default 50 QPS, burst 300);
//  - steady state while the N sessions wait for their targets, and again once they are final:
//    API requests per second over a quiet window (aim 0: waiting sessions are woken by watches);
//  - no-op cycle (nothing changed anywhere): aim 0 API writes, 0 commits, < 100 ms at 1,000;
//  - one-file change: aim work proportional to the change (1 create, 1 status file);
//  - push → RestoreSession latency: a push, then a signed GitHub push webhook to the daemon's
//    webhook server, until the new session is visible through the API. Aim p50 < 1 s;
//  - memory: heap after a full GC and peak RSS once the first cycle has settled, and the cost of
//    one session (the heap's growth from the smallest size, per session). Aim ≤ 150 MiB + 20 KiB
//    per session.
// API requests are counted by the sandbox (its --verbose request log), writes are the non-GET ones;
// a cycle's count includes the controller's reaction to what the cycle created.
// BENCH_BUILT=1 runs the product's built JavaScript (`npm run build` → dist/) instead of its
// TypeScript through tsx: the memory figures that matter. Run with --expose-gc (the npm script does).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { GitHttpServer } from '@restore-controller/devkit/git-http-server';
import { restoreSessionYaml } from './manifests.ts';

const BUILT = process.env.BENCH_BUILT === '1';
if (BUILT && !existsSync(fileURLToPath(new URL('../dist/daemon/daemon.js', import.meta.url))))
  throw new Error('BENCH_BUILT=1: run `npm run build` first (dist/ is missing)');
/** A module of the product: built (dist/*.js) or its source (src/*.ts). */
const product = (path: string) => import(BUILT ? `../dist/${path}.js` : `../src/${path}.ts`);
const { crdFor, MANAGED_KINDS } = (await product('api/crds')) as typeof import('../src/api/crds.ts');
const { Daemon } = (await product('daemon/daemon')) as typeof import('../src/daemon/daemon.ts');
const { RESTORE_SESSIONS } = (await product('kube/resources')) as typeof import('../src/kube/resources.ts');
const { startHttpServer } = (await product('daemon/http-server')) as typeof import('../src/daemon/http-server.ts');
const { hmacSha256Hex, webhookHandler } = (await product('daemon/webhook')) as typeof import('../src/daemon/webhook.ts');
const { GitSource } = (await product('source/index')) as typeof import('../src/source/index.ts');
const { StatusWriter } = (await product('status/index')) as typeof import('../src/status/index.ts');
type DaemonT = InstanceType<typeof Daemon>;

const SIZES = (process.env.BENCH_SIZES ?? '10,100,1000').split(',').map(Number);
const NOOP_RUNS = Number(process.env.BENCH_RUNS ?? 7);
/** How long the steady state is watched for requests (ms). */
const STEADY_MS = Number(process.env.BENCH_STEADY_MS ?? 10_000);
const LATENCY_RUNS = Number(process.env.BENCH_LATENCY_RUNS ?? 9);
const SECRET = 'bench-webhook-secret';
const BIN = fileURLToPath(new URL('../bin/restorectl.js', import.meta.url));
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

/** The sandbox as a child process, counting the requests it serves. */
async function startSandbox(
  dir: string,
): Promise<{ kubeconfig: string; requests: () => { total: number; writes: number; lines: string[] }; stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [BIN, 'sandbox', '--dir', dir, '--verbose'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  child.stderr.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    // --verbose logs each request at debug: `debug: GET /api/v1/pods`.
    for (const l of parts) {
      const request = /^debug: ([A-Z]+ \/.*)$/.exec(l)?.[1];
      if (request) lines.push(request);
    }
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('kubeconfig:')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`sandbox exited with ${code}`)));
  });
  return {
    kubeconfig: join(dir, 'kubeconfig'),
    requests: () => ({ total: lines.length, writes: lines.filter((l) => !l.startsWith('GET ')).length, lines: [...lines] }),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
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

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
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

const QPS = 'default 50 QPS, burst 300';
/** Heap after a full GC (when run with --expose-gc) and RSS now. */
function heapNow(): { heap: number; rss: number; gc: boolean } {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, gc: Boolean(gc) };
}
const memory: { size: number; heap: number; rss: number; gc: boolean }[] = [];

let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const ms = (x: number) => `${x.toFixed(0)} ms`;

interface Row {
  size: number;
  phase: string;
  time: string;
  requests: string;
  writes: string;
  commits: string;
  note: string;
}
const rows: Row[] = [];

async function benchSize(n: number): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), `bench-cycle-${n}-`));
  const sandbox = await startSandbox(join(tmp, 'cluster'));
  const server = await GitHttpServer.start({ root: join(tmp, 'repos') });
  try {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(sandbox.kubeconfig);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    for (const k of MANAGED_KINDS)
      await custom.createClusterCustomObject({ group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions', body: crdFor(k) });
    const core = kc.makeApiClient(k8s.CoreV1Api);
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

    const cacheDir = join(tmp, 'cache');
    const daemon = new Daemon({
      source: new GitSource({ url, branch: 'main', path: 'clusters/bench', cacheDir: join(cacheDir, 'source') }),
      statusWriter: new StatusWriter({ url, cacheDir: join(cacheDir, 'status') }),
      kubeConfig: kc,
      cluster: 'bench',
      // The controller runs alongside as in production; its targets do not exist, so every session
      // waits Pending after one reconcile.
      controller: { agent: { image: 'restorectl:bench' }, resyncMs: 3_600_000 },
    });

    await daemon.watch(); // as `restorectl run` does; cycles then run only when the bench calls them

    // The sandbox's request log arrives through a pipe: wait until it has been quiet for a while.
    const settled = async () => {
      const until = Date.now() + 3000; // a session polled by the controller keeps it from ever being silent
      for (let seen = -1; seen !== sandbox.requests().total && Date.now() < until; ) {
        seen = sandbox.requests().total;
        await new Promise((r) => setTimeout(r, 300));
      }
    };
    const measure = async (phase: string, note: (r: Awaited<ReturnType<DaemonT['cycle']>>) => string) => {
      await daemon.controller.idle();
      await settled();
      const before = sandbox.requests();
      const commitsBefore = statusCommits();
      const t = performance.now();
      const report = await daemon.cycle();
      const took = performance.now() - t;
      await daemon.controller.idle(); // the controller reacting to what the cycle created, at its rate limit
      const caughtUp = performance.now() - t;
      await settled(); // the cycle's requests, and those of the controller reacting to its writes
      const after = sandbox.requests();
      const commits = statusCommits() - commitsBefore;
      if (!report.ok) throw new Error(`${phase}: ${report.error}`);
      return {
        timings: report.timings,
        took,
        requests: after.total - before.total,
        writes: after.writes - before.writes,
        commits,
        note: note(report),
        lines: after.lines.slice(before.total),
        caughtUp,
      };
    };
    /** Requests per second reaching the API server over a quiet window, and the controller's reconciles in it. */
    const steady = async (phase: string) => {
      await daemon.controller.idle();
      await settled();
      const before = sandbox.requests().total;
      const reconciles = daemon.controller.stats.reconciles;
      await new Promise((r) => setTimeout(r, STEADY_MS));
      await settled();
      const n = sandbox.requests().total - before;
      rows.push({
        size: n_,
        phase,
        time: `${(STEADY_MS / 1000).toFixed(0)} s window`,
        requests: `${(n / (STEADY_MS / 1000)).toFixed(1)}/s`,
        writes: '',
        commits: '',
        note: `${n} requests, ${daemon.controller.stats.reconciles - reconciles} reconciles in the window (aim 0 requests/s)`,
      });
    };
    const n_ = n;

    const first = await measure('first', (r) => `${r.applied.length} applied; by step: ${steps([{ timings: r.timings }])}`);
    rows.push({
      size: n,
      phase: 'first cycle',
      time: ms(first.took),
      requests: String(first.requests),
      writes: String(first.writes),
      commits: String(first.commits),
      note: `${first.note}${n >= 1000 ? ` (${(first.took / 2000).toFixed(2)}× the 2 s aim)` : ''}; ${(first.requests / n).toFixed(1)} requests/session; controller caught up after ${ms(first.caughtUp)} (${QPS})`,
    });
    memory.push({ size: n, ...heapNow() });
    await steady('steady: sessions waiting');
    // Steady state: the restores are done. Stand-in agents report every host Succeeded (the
    // controller then leaves the sessions alone), and one cycle records it on the status branch.
    await daemon.controller.idle();
    await markSucceeded(custom, n);
    await daemon.controller.idle();
    await daemon.cycle();

    await steady('steady: sessions final');
    const noop: { timings: Record<string, number | undefined>; took: number; requests: number; writes: number; commits: number; lines: string[] }[] = [];
    for (let r = 0; r < NOOP_RUNS; r++) noop.push(await measure('no-op', () => ''));
    const warm = noop.slice(1);
    const worst = warm.reduce((a, b) => (b.writes + b.commits > a.writes + a.commits ? b : a));
    rows.push({
      size: n,
      phase: 'no-op cycle (warm)',
      time: `p50 ${ms(
        percentile(
          warm.map((x) => x.took),
          0.5,
        ),
      )}, max ${ms(Math.max(...warm.map((x) => x.took)))}`,
      requests: String(
        percentile(
          warm.map((x) => x.requests),
          0.5,
        ),
      ),
      writes: String(Math.max(...warm.map((x) => x.writes))),
      commits: String(Math.max(...warm.map((x) => x.commits))),
      note: worst.writes
        ? `writes: ${worst.lines
            .filter((l) => !l.startsWith('GET '))
            .slice(0, 3)
            .join('; ')}`
        : `cold ${ms(noop[0]!.took)}; p50 by step: ${steps(warm)}`,
    });

    writeFileSync(join(work, 'clusters', 'bench', `restore-${n}.yaml`), session(n));
    push('one more restore');
    const one = await measure(
      'one-file',
      (r) => `${r.applied.map((a) => `${a.action.action} ${a.action.kind}`).join(', ')}; by step: ${steps([{ timings: r.timings }])}`,
    );
    if (process.env.BENCH_DEBUG) console.log(one.lines.join('\n'));
    rows.push({
      size: n,
      phase: 'one-file change',
      time: ms(one.took),
      requests: String(one.requests),
      writes: String(one.writes),
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
    rows.push({
      size: n,
      phase: 'push → RestoreSession',
      time: `p50 ${ms(percentile(latencies, 0.5))}, p90 ${ms(percentile(latencies, 0.9))}`,
      requests: '',
      writes: '',
      commits: '',
      note: `${LATENCY_RUNS} pushes, each announced by a signed webhook`,
    });
    await webhook.close();
    daemon.stop();
  } finally {
    await sandbox.stop();
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

console.log(
  `bench:cycle — sizes ${SIZES.join(', ')}; ${BUILT ? 'built dist/' : 'sources through tsx'}; node ${process.version}; load ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
for (const n of SIZES) {
  const rssBefore = process.memoryUsage().rss;
  await benchSize(n);
  console.log(`  ${n} sessions done (peak RSS so far ${mib(peakRss)}, was ${mib(rssBefore)} before this size)`);
}
clearInterval(sampler);
const widths = [8, 24, 26, 9, 7, 8];
const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' ');
console.log('\n' + line(['sessions', 'phase', 'time', 'requests', 'writes', 'commits', 'note']));
for (const r of rows) console.log(line([String(r.size), r.phase, r.time, r.requests, r.writes, r.commits, r.note]));
if (memory.length) {
  const base = memory.reduce((a, b) => (b.size < a.size ? b : a));
  console.log(
    `\nmemory once the first cycle settled (${memory[0]!.gc ? 'heap after a full GC' : 'heap without a GC: run with --expose-gc'}; ${BUILT ? 'built dist/' : 'sources through tsx'}):`,
  );
  for (const m of memory) {
    const perSession = m.size > base.size ? ` = ${((m.heap - base.heap) / (m.size - base.size) / 1024).toFixed(1)} KiB heap per session over ${base.size}` : '';
    const aim = 150 + (m.size * 20) / 1024;
    console.log(
      `  ${String(m.size).padStart(5)} sessions: heap ${mib(m.heap)}, RSS ${mib(m.rss)} = ${(m.rss / 2 ** 20 / aim).toFixed(2)}× the aim of ${aim.toFixed(0)} MiB${perSession}`,
    );
  }
}
console.log(
  `\npeak RSS of the daemon process (git server in it too; the sandbox is a separate process): ${mib(peakRss)}; maxRSS ${mib(process.resourceUsage().maxRSS * 1024)}`,
);
console.log(
  `load average at the end: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} (2 cores, shared with other work)`,
);
console.log(
  'aims: steady 0 requests/s; no-op 0 writes, 0 commits, < 100 ms at 1,000 sessions; one-file change proportional to the change; push → session p50 < 1 s',
);
