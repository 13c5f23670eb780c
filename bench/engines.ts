// What bench:cycle and bench:controller share: the Kubernetes API they run against, on either
// engine, each in a child process (so its memory is not the bench's), with a count of the requests
// it served; a client-side request counter; `--engine`; the daemon as a process of its own
// (`restorectl run`) with its RSS sampled from /proc.
//
// Requests are counted three ways, each said where it is printed:
//  - client: every request this process's client sends through a counted KubeConfig (API calls and
//    watch starts), the same measure on both engines;
//  - embedded sandbox: its --verbose request log (every request it served, watches included);
//  - kube-apiserver: `apiserver_request_total` from /metrics (admin kubeconfig). It counts every
//    client (kube-controller-manager, the scheduler, the simulated nodes' heartbeats and kubelets,
//    the provisioner) and a watch only when it ends, so it is a ceiling, not the daemon's count.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, openSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { request } from 'node:https';
import type { RequestOptions } from 'node:https';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';

export type EngineName = 'embedded' | 'kube-apiserver';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
export const RESTORECTL = join(REPO_ROOT, 'bin/restorectl.js');

export const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

export interface RequestCount {
  total: number;
  /** Not GET/LIST/WATCH. */
  writes: number;
}

export interface BenchEngine {
  name: EngineName;
  /** Admin kubeconfig. */
  kubeconfig: string;
  kc: k8s.KubeConfig;
  /** Requests the API server has served so far (see the header for what each engine counts). */
  served(): Promise<RequestCount>;
  /** What served() counts, for the output. */
  servedBy: string;
  /** Waits until the server's count has stopped moving (the embedded log arrives through a pipe). */
  settled(): Promise<void>;
  /** The requests the embedded sandbox logged (method and path), for BENCH_DEBUG. */
  lines(): string[];
  startupMs: number;
  stop(): Promise<void>;
}

/**
 * `--engine kube-apiserver|embedded|both` → the engines to run, and why the real one is left out
 * (default: both when the real engine can run here, else embedded).
 */
export function enginesFrom(flag: string | undefined): { engines: EngineName[]; note: string } {
  const why = kubeEngineUnavailable();
  if (flag === undefined || flag === '') {
    return why
      ? { engines: ['embedded'], note: `embedded only: the kube-apiserver engine cannot run here (${why})` }
      : { engines: ['embedded', 'kube-apiserver'], note: 'both engines' };
  }
  const engines: EngineName[] = flag === 'both' ? ['embedded', 'kube-apiserver'] : flag === 'embedded' || flag === 'kube-apiserver' ? [flag] : [];
  if (!engines.length) throw new Error(`--engine must be kube-apiserver, embedded or both, not ${JSON.stringify(flag)}`);
  if (engines.includes('kube-apiserver') && why) throw new Error(`--engine ${flag}: the kube-apiserver engine cannot run here: ${why}`);
  return { engines, note: engines.join(' and ') };
}

/** Why the real engine cannot run (no launcher, or neither Go nor a cached build); undefined when it can. */
export function kubeEngineUnavailable(): string | undefined {
  const scripts = join(REPO_ROOT, 'packages/devkit/control-plane');
  if (!existsSync(join(scripts, 'start.sh'))) return `no ${join(scripts, 'start.sh')}`;
  const mod = readFileSync(join(scripts, 'go.mod'), 'utf8');
  const k8sVersion = /^\s*k8s\.io\/kubernetes\s+(v\S+)/m.exec(mod)?.[1];
  const etcd = /^\s*go\.etcd\.io\/etcd\/server\/v3\s+(v\S+)/m.exec(mod)?.[1];
  const cache = process.env['RESTORE_CONTROL_PLANE_CACHE'] ?? join(process.env['HOME'] ?? '', '.cache/restore-controller/control-plane');
  const bin = join(cache, `${k8sVersion}-${etcd}`, 'bin');
  if (['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].every((b) => existsSync(join(bin, b)))) return undefined;
  return `no cached control plane in ${bin}; \`packages/devkit/control-plane/ensure.sh\` builds it (needs Go)`;
}

/** `restorectl sandbox [--engine kube-apiserver] --dir DIR` as a child process, up when it prints its kubeconfig. */
export async function startEngine(name: EngineName, dir: string): Promise<BenchEngine> {
  const t0 = performance.now();
  const args = [RESTORECTL, 'sandbox', '--dir', dir, ...(name === 'embedded' ? ['--verbose'] : ['--engine', 'kube-apiserver'])];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buf = '';
  let tail = '';
  child.stderr!.on('data', (d: Buffer) => {
    const text = d.toString();
    tail = (tail + text).slice(-4000);
    if (name !== 'embedded') return;
    buf += text;
    const parts = buf.split('\n');
    buf = parts.pop()!;
    // --verbose logs each request at debug: `debug: GET /api/v1/pods`.
    for (const l of parts) {
      const r = /^debug: ([A-Z]+ \/.*)$/.exec(l)?.[1];
      if (r) lines.push(r);
    }
  });
  const kubeconfig = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^kubeconfig: (.+)$/m.exec(out);
      if (m) resolve(m[1]!.trim());
    });
    child.on('exit', (code) => reject(new Error(`restorectl sandbox (${name}) exited with ${code} before it was up:\n${tail}`)));
  });
  const startupMs = performance.now() - t0;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  if (name === 'embedded') {
    const served = async () => ({ total: lines.length, writes: lines.filter((l) => !l.startsWith('GET ')).length });
    return {
      name,
      kubeconfig,
      kc,
      served,
      servedBy: "the sandbox's request log (every request it served, watches included)",
      settled: async () => {
        const until = Date.now() + 3000;
        for (let seen = -1; seen !== lines.length && Date.now() < until; ) {
          seen = lines.length;
          await new Promise((r) => setTimeout(r, 300));
        }
      },
      lines: () => [...lines],
      startupMs,
      stop,
    };
  }
  return {
    name,
    kubeconfig,
    kc,
    served: () => apiserverRequests(kc),
    servedBy:
      "kube-apiserver's apiserver_request_total (every client: the control plane's own controllers and the simulated nodes too; watches counted when they end)",
    settled: () => new Promise((r) => setTimeout(r, 1000)),
    lines: () => [],
    startupMs,
    stop,
  };
}

/** GET `path` from the API server with `kc`'s credentials (TLS client certificate or token). */
export async function getRaw(kc: k8s.KubeConfig, path: string): Promise<string> {
  const server = new URL(kc.getCurrentCluster()!.server);
  const opts: RequestOptions = { method: 'GET', host: server.hostname, port: server.port, path, headers: {} };
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 200)}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The sum of `apiserver_request_total` over every label, and over the write verbs. */
export async function apiserverRequests(kc: k8s.KubeConfig): Promise<RequestCount> {
  const text = await getRaw(kc, '/metrics');
  let total = 0;
  let writes = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const n = Number(line.slice(line.lastIndexOf(' ') + 1));
    total += n;
    const verb = /verb="([A-Z]+)"/.exec(line)?.[1];
    if (verb && !['GET', 'LIST', 'WATCH'].includes(verb)) writes += n;
  }
  return { total, writes };
}

/** A view of `kc` whose every request (API calls and watch starts) is counted, by method. */
export function countedKubeConfig(kc: k8s.KubeConfig): { kc: k8s.KubeConfig; count: () => RequestCount & { byMethod: Record<string, number> } } {
  const byMethod: Record<string, number> = {};
  const out = Object.create(kc) as k8s.KubeConfig;
  // Called on `this`, not `out`: a view made of this one (the product's pooled and rate-limited
  // clients) keeps its own createAgent, so its connections are still pooled when counted here.
  const auth = kc.applySecurityAuthentication;
  out.applySecurityAuthentication = async function (this: k8s.KubeConfig, context) {
    const m = context.getHttpMethod().toString();
    byMethod[m] = (byMethod[m] ?? 0) + 1;
    return auth.call(this, context);
  };
  const fetchOptions = kc.applyToFetchOptions;
  out.applyToFetchOptions = async function (this: k8s.KubeConfig, opts) {
    // Watches (and logs): always GET.
    const m = (opts.method ?? 'GET').toUpperCase();
    byMethod[m] = (byMethod[m] ?? 0) + 1;
    return fetchOptions.call(this, opts);
  };
  return {
    kc: out,
    count: () => {
      const total = Object.values(byMethod).reduce((a, b) => a + b, 0);
      return { total, writes: total - (byMethod['GET'] ?? 0), byMethod: { ...byMethod } };
    },
  };
}

/** Whether dist/ is older than any file of src/ (a stale build measures old code). */
export function staleBuild(): string | undefined {
  const marker = join(REPO_ROOT, 'dist/daemon/daemon.js');
  if (!existsSync(marker)) return 'dist/ is missing: run `npm run build` first';
  const built = statSync(marker).mtimeMs;
  const newer: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.ts') && statSync(p).mtimeMs > built) newer.push(p.slice(REPO_ROOT.length));
    }
  };
  walk(join(REPO_ROOT, 'src'));
  return newer.length ? `dist/ is older than ${newer.slice(0, 3).join(', ')}${newer.length > 3 ? '…' : ''}: run \`npm run build\`` : undefined;
}

/** A process's resident set now and its peak so far (VmRSS, VmHWM from /proc), in bytes; undefined once it is gone. */
export function procMemory(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

export interface DaemonProcess {
  child: ChildProcess;
  /** Its JSON log lines so far. */
  logs: Array<Record<string, unknown>>;
  /** Peak RSS sampled every 50 ms (and when, ms after the start), and VmHWM (the kernel's peak) at the last sample. */
  memory(): { rss: number; peakSampled: number; peakAtMs: number; hwm: number };
  stop(): Promise<void>;
}

/** `restorectl run …` (the built JavaScript, as the image runs it) with LOG_LEVEL=debug, its memory sampled. */
export function startDaemonProcess(args: string[], env: NodeJS.ProcessEnv = {}): DaemonProcess {
  const child = spawn(process.execPath, [RESTORECTL, 'run', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'debug', ...env },
    // BENCH_DAEMON_STDOUT=<file>: what the daemon prints on stdout (e.g. NODE_OPTIONS=--trace-gc) goes there.
    stdio: ['ignore', process.env['BENCH_DAEMON_STDOUT'] ? openSync(process.env['BENCH_DAEMON_STDOUT'], 'a') : 'ignore', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let buf = '';
  child.stderr!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    for (const l of parts) {
      try {
        logs.push(JSON.parse(l) as Record<string, unknown>);
      } catch {
        logs.push({ msg: l });
      }
    }
  });
  const mem = { rss: 0, peakSampled: 0, peakAtMs: 0, hwm: 0 };
  const started = performance.now();
  const sampler = setInterval(() => {
    const m = child.pid ? procMemory(child.pid) : undefined;
    if (!m) return;
    mem.rss = m.rss;
    mem.hwm = m.hwm;
    if (m.rss > mem.peakSampled) mem.peakAtMs = performance.now() - started;
    mem.peakSampled = Math.max(mem.peakSampled, m.rss);
  }, 50);
  return {
    child,
    logs,
    memory: () => ({ ...mem }),
    stop: () =>
      new Promise<void>((resolve) => {
        clearInterval(sampler);
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
