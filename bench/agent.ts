// Benchmark: restoring one snapshot (default 1 GiB in 20,000 files under /source/data) with plain
// `restic restore <id> --target DIR` and through the agent (`restorectl agent restore` against an
// in-process sandbox API), and printing the ratio agent/plain (issues 6, 16). Figures only:
// nothing is asserted about timing.
//
// Robust to a shared, noisy machine: the runs alternate (agent, plain restic, agent, plain
// restic, … for --rounds rounds), so a drift in load hits both; it reports the median and the
// minimum of each, the ratio of the medians, the median of each agent run's ratio to the plain run
// right after it, and the load average before, during and after. Two agent variants: `pinned`, a
// session the daemon pinned at accept time (its restore.gitops/snapshots annotation names the
// id: restic restore starts at once, the total is listed beside it at low priority), and
// `unpinned`, a `latest` the agent pins itself: `restic restore latest` starts at once too, beside
// one `restic ls --json latest` stream whose first line gives the full id that restore's own
// output (the short id) is matched to, and which then goes on to count the total.
//
// The agent's time is split into phases, from its debug log lines (LOG_LEVEL=debug) and measured
// from the moment the bench starts the process: node and the modules loaded, the API reached (the
// session read), restic restore started, restic restore done, the final stat written, exit.
//
// What runs is what the image runs: the built JavaScript. By default src/ is compiled into the
// temp dir exactly as `npm run build` does (tsc -p tsconfig.build.json, without source maps);
// --dist DIR measures a build made elsewhere (e.g. another commit's, for a before/after);
// --tsx runs bin/restorectl.js on the TypeScript sources (adds the transpiler's start-up).
// Both sides start with a cold restic cache of their own and read the repository from the page
// cache (it was just written). The repository uses restic's real key derivation unless
// --fast-kdf: every restic command pays it once (the agent's listing pays it beside the restore).
// Run: npm run bench:agent [-- --files N --size-mib M --rounds R --variants pinned,unpinned --fast-kdf --dist DIR --tsx]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { RestoreSession } from '../src/api/index.ts';
import { SNAPSHOTS_ANNOTATION } from '../src/api/meta.ts';
import { formatSnapshotPins } from '../src/api/snapshot-pins.ts';
import { RESTORE_SESSIONS } from '../src/kube/resources.ts';
import { seedRepository, whichExecutable } from '@restore-controller/devkit/seed';
import { writeRandomFiles } from '../test/support/restic-repo.ts';
import { startSandbox } from '../test/support/sandbox.ts';
import type { TestSandbox } from '../test/support/sandbox.ts';

const { values } = parseArgs({
  options: {
    files: { type: 'string', default: '20000' },
    'size-mib': { type: 'string', default: '1024' },
    rounds: { type: 'string', default: '3' },
    runs: { type: 'string' },
    variants: { type: 'string', default: 'pinned,unpinned' },
    'fast-kdf': { type: 'boolean', default: false },
    dist: { type: 'string' },
    tsx: { type: 'boolean', default: false },
  },
});
const FILES = Number(values.files);
const SIZE = Number(values['size-mib']) * 1024 * 1024;
const ROUNDS = Number(values.runs ?? values.rounds);
const VARIANTS = values.variants.split(',').filter(Boolean) as Variant[];
type Variant = 'pinned' | 'unpinned';
if (!(FILES > 0 && SIZE >= FILES && ROUNDS > 0)) throw new Error('--files, --size-mib and --rounds must be positive (and the size at least one byte per file)');
if (!VARIANTS.length || VARIANTS.some((v) => v !== 'pinned' && v !== 'unpinned')) throw new Error('--variants: a comma-separated list of pinned, unpinned');
if (values.dist && values.tsx) throw new Error('--dist and --tsx exclude each other');

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(REPO_ROOT, 'bin/restorectl.js');
const PASSWORD = randomBytes(18).toString('base64'); // never printed
const NS = 'bench';
const DATA = '/source/data';

const fmtS = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const fmtMiB = (kib: number | undefined) => (kib === undefined ? 'n/a' : `${(kib / 1024).toFixed(0)} MiB`);
/** The median (the mean of the middle two for an even count). */
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const loadavg = async () => (await readFile('/proc/loadavg', 'utf8').catch(() => '? ? ?')).split(' ').slice(0, 3).join(' ');
const log = (line: string) => process.stdout.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Processes: wall time, and peak RSS (VmHWM) of a process and of each restic it starts, by
// polling /proc (VmHWM only grows, so the last reading before exit is the peak).

interface ChildSeen {
  pid: number;
  command: string;
  firstMs: number;
  lastMs: number;
  hwmKiB: number;
}

interface Measured {
  code: number | null;
  /** Date.now() when the process was started, to place its log lines' times. */
  startedEpoch: number;
  wallMs: number;
  stderr: string;
  peakKiB?: number;
  children: ChildSeen[];
}

function procHwm(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s*(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function procChildren(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}

function procCommand(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .slice(0, 2)
      .join(' ')
      .replace(/^\S*\//, '');
  } catch {
    return '?';
  }
}

function measure(argv: string[], env: NodeJS.ProcessEnv): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const startedEpoch = Date.now();
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { env, cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4_000_000)));
    let peak: number | undefined;
    const seen = new Map<number, ChildSeen>();
    const poll = () => {
      const t = performance.now() - started;
      peak = Math.max(peak ?? 0, procHwm(child.pid!) ?? 0) || peak;
      for (const pid of procChildren(child.pid!)) {
        let c = seen.get(pid);
        if (!c) seen.set(pid, (c = { pid, command: procCommand(pid), firstMs: t, lastMs: t, hwmKiB: 0 }));
        // a fresh fork shows its parent's command line until it execs
        if (!/restic/.test(c.command)) c.command = procCommand(pid);
        c.lastMs = t;
        c.hwmKiB = Math.max(c.hwmKiB, procHwm(pid) ?? 0);
      }
    };
    const timer = setInterval(poll, 50);
    child.once('spawn', poll);
    child.once('error', (e) => {
      clearInterval(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearInterval(timer);
      resolve({ code, startedEpoch, wallMs: performance.now() - started, stderr, peakKiB: peak, children: [...seen.values()] });
    });
  });
}

// ---------------------------------------------------------------------------------------------

/** The agent's phases, in ms from the moment its process was started (undefined: no such log line, e.g. an older build). */
interface Phases {
  modules?: number;
  api?: number;
  resticStart?: number;
  resticDone?: number;
  statWritten?: number;
  exit: number;
}

const PHASES: [keyof Phases, string][] = [
  ['modules', 'node + modules loaded'],
  ['api', 'API reached (session read)'],
  ['resticStart', 'restic restore started'],
  ['resticDone', 'restic restore done'],
  ['statWritten', 'final stat written'],
  ['exit', 'exit'],
];

/** The phases of one agent run, from its JSON log lines (LOG_LEVEL=debug). */
function phasesOf(m: Measured): Phases {
  const out: Phases = { exit: m.wallMs };
  let restorePid: number | undefined;
  for (const line of m.stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    let rec: { time?: string; msg?: string; pid?: number };
    try {
      rec = JSON.parse(line);
    } catch {
      continue;
    }
    const at = rec.time ? Date.parse(rec.time) - m.startedEpoch : undefined;
    if (at === undefined || !rec.msg) continue;
    if (rec.msg === 'agent restore: modules loaded') out.modules ??= at;
    else if (rec.msg === 'read the RestoreSession') out.api ??= at;
    else if (/^started (\S*\/)?restic restore /.test(rec.msg) && out.resticStart === undefined) {
      out.resticStart = at;
      restorePid = rec.pid;
    } else if (/ ended: /.test(rec.msg) && rec.pid !== undefined && rec.pid === restorePid) out.resticDone ??= at;
    else if (/ stat written to the RestoreSession$/.test(rec.msg)) out.statWritten ??= at;
  }
  // an older build without the lines: restic's start and end as /proc saw them (50 ms polls)
  const seen = m.children.find((c) => / restore$/.test(c.command));
  if (seen) {
    out.resticStart ??= seen.firstMs;
    out.resticDone ??= seen.lastMs;
  }
  return out;
}

async function main(tmp: string, cleanups: (() => Promise<void>)[]): Promise<void> {
  const restic = await whichExecutable('restic');
  if (!restic) throw new Error('restic is not installed (not found on PATH)');
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  const what = values.tsx ? 'bin/restorectl.js through tsx (sources)' : values.dist ? `the build in ${values.dist}` : 'built from src/ as npm run build does';
  log(
    `bench:agent: ${FILES} files, ${(SIZE / 1048576).toFixed(0)} MiB under ${DATA}; ${ROUNDS} round(s) of ${VARIANTS.map((v) => `agent ${v}, plain restic`).join(', ')}; ${values['fast-kdf'] ? 'fast (test) KDF' : "restic's real KDF"}; agent: ${what}`,
  );
  log(
    `machine: ${await loadavg()} load average, ${(await readFile('/proc/cpuinfo', 'utf8').catch(() => '')).match(/^processor/gm)?.length ?? '?'} CPUs, node ${process.version}`,
  );

  let t0 = performance.now();
  let agentArgv = [process.execPath, BIN];
  if (values.dist) {
    const main = join(values.dist, 'cli/main.js');
    if (!existsSync(main)) throw new Error(`--dist ${values.dist}: no cli/main.js there (give the dist/ folder of a build)`);
    agentArgv = [process.execPath, main];
  } else if (!values.tsx) {
    const build = join(tmp, 'build');
    await mkdir(build, { recursive: true });
    await writeFile(join(build, 'package.json'), '{"type":"module"}\n');
    await symlink(join(REPO_ROOT, 'node_modules'), join(build, 'node_modules'));
    const tsc = await measure(
      [
        process.execPath,
        join(REPO_ROOT, 'node_modules/typescript/bin/tsc'),
        '-p',
        join(REPO_ROOT, 'tsconfig.build.json'),
        '--outDir',
        join(build, 'dist'),
        '--sourceMap',
        'false',
      ],
      process.env,
    );
    if (tsc.code !== 0) throw new Error(`tsc failed: ${tsc.stderr.slice(-1000)}`);
    agentArgv = [process.execPath, join(build, 'dist/cli/main.js')];
    log(`built the agent (tsc -p tsconfig.build.json) in ${fmtS(performance.now() - t0)}`);
  }

  const repoPath = join(tmp, 'repo');
  t0 = performance.now();
  const seeded = await seedRepository({
    repoPath,
    password: PASSWORD,
    fastKdf: values['fast-kdf'],
    snapshots: [{ host: 'app', files: {}, paths: [DATA], populate: (root) => writeRandomFiles(root, DATA, FILES, SIZE) }],
  });
  const snapshot = seeded.snapshotIds[0]!;
  log(`seeded snapshot ${snapshot.slice(0, 8)} in ${fmtS(performance.now() - t0)} (${seeded.confinement})`);

  t0 = performance.now();
  const t: TestSandbox = await startSandbox({ dir: join(tmp, 'sandbox') });
  cleanups.push(() => t.stop());
  const custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
  const apply = async (obj: object) => {
    const r = await t.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], stringify(obj));
    if (r.code !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
  };
  const crds = await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds']);
  if (crds.code !== 0) throw new Error(`kubectl apply deploy/crds failed: ${crds.stderr}`);
  await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bench-secret', namespace: NS }, stringData: { RESTIC_PASSWORD: PASSWORD } });
  await apply({
    apiVersion: 'stash.appscode.com/v1alpha1',
    kind: 'Repository',
    metadata: { name: 'bench-repo', namespace: NS },
    spec: { backend: { local: { mountPath: '/safe/data', hostPath: { path: '/data/bench' } }, storageSecretName: 'bench-secret' } },
  });
  // The agent reads a JSON kubeconfig, as the kube-apiserver engine's kubelet writes one for a
  // pod (a real pod reads its service account, no kubeconfig at all): the sandbox's YAML one would
  // add the YAML parser's loading, which no pod pays.
  const agentKubeconfig = join(tmp, 'agent.kubeconfig');
  await writeFile(agentKubeconfig, JSON.stringify(parse(await readFile(t.kubeconfigPath, 'utf8'))), { mode: 0o600 });
  log(`sandbox up in ${fmtS(performance.now() - t0)}`);

  let plainRuns = 0;
  const plain = async (): Promise<Measured> => {
    const i = plainRuns++;
    const target = join(tmp, `plain-${i}`);
    const argv = [restic, 'restore', snapshot, '--target', target, '--cache-dir', join(tmp, `plain-cache-${i}`)];
    const hwmFile = join(tmp, 'time.out');
    const m = await measure(timeBin ? [timeBin, '-o', hwmFile, '-f', '%M', ...argv] : argv, {
      PATH: process.env.PATH,
      HOME: tmp,
      RESTIC_REPOSITORY: repoPath,
      RESTIC_PASSWORD: PASSWORD,
    });
    if (m.code !== 0) throw new Error(`plain restic restore failed (exit ${m.code}): ${m.stderr.slice(-500)}`);
    const resticKiB = timeBin ? Number((await readFile(hwmFile, 'utf8')).trim().split('\n').pop()) : m.peakKiB;
    await rm(target, { recursive: true, force: true });
    await rm(join(tmp, `plain-cache-${i}`), { recursive: true, force: true });
    return { ...m, children: [{ pid: 0, command: 'restic restore', firstMs: 0, lastMs: m.wallMs, hwmKiB: resticKiB ?? 0 }] };
  };

  let agentRuns = 0;
  const agent = async (pinned: boolean): Promise<Measured> => {
    const name = `bench-${agentRuns++}${pinned ? '-pinned' : ''}`;
    const annotations = pinned ? { [SNAPSHOTS_ANNOTATION]: formatSnapshotPins({ app: [{ requested: 'latest', path: DATA, id: snapshot }] }) } : {};
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name, namespace: NS, annotations },
      spec: {
        repository: { name: 'bench-repo' },
        target: {
          alias: 'app',
          ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'bench' },
          volumeMounts: [{ name: 'data', mountPath: DATA }],
          rules: [{ paths: [DATA] }],
        },
      },
    });
    const got = (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, name })) as RestoreSession;
    await custom.replaceNamespacedCustomObjectStatus({
      ...RESTORE_SESSIONS,
      namespace: NS,
      name,
      body: { ...got, status: { phase: 'Running', totalHosts: 1 } },
    });
    const root = join(tmp, 'pods', name);
    await mkdir(join(root, 'safe'), { recursive: true });
    await symlink(repoPath, join(root, 'safe', 'data'));
    const m = await measure(
      [...agentArgv, 'agent', 'restore', '--session', `${NS}/${name}`, '--host-from', 'pod', '--root', root, '--kubeconfig', agentKubeconfig],
      { ...process.env, POD_NAME: `${name}-pod`, LOG_LEVEL: 'debug' },
    );
    const stat = ((await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, name })) as RestoreSession).status?.stats?.[0];
    if (m.code !== 0 || stat?.phase !== 'Succeeded') throw new Error(`agent restore failed (exit ${m.code}, ${stat?.phase}): ${m.stderr.slice(-1000)}`);
    if (stat.progress?.bytesDone !== SIZE) throw new Error(`agent reports ${stat.progress?.bytesDone} bytes restored, expected ${SIZE}`);
    if (stat.snapshot !== snapshot) throw new Error(`agent restored snapshot ${stat.snapshot}, expected ${snapshot}`);
    await rm(root, { recursive: true, force: true });
    return m;
  };

  interface Run {
    m: Measured;
    load: number;
    /** An agent run: the plain run right after it (its pair). */
    pair?: Measured;
  }
  const plains: Run[] = [];
  const agents: Record<Variant, Run[]> = { pinned: [], unpinned: [] };
  const loadNow = async () => Number((await loadavg()).split(' ')[0]);
  const show = (label: string, r: Run, extra: string) =>
    log(`  ${label.padEnd(18)} ${fmtS(r.m.wallMs).padStart(9)}  load ${r.load.toFixed(1).padStart(5)}  ${extra}`);
  for (let round = 0; round < ROUNDS; round++) {
    // rotate which agent variant goes first, so a drift in load does not favour one
    const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
    log(`round ${round + 1}/${ROUNDS}`);
    for (const v of order) {
      const a: Run = { load: await loadNow(), m: await agent(v === 'pinned') };
      const p: Run = { load: await loadNow(), m: await plain() };
      a.pair = p.m;
      agents[v].push(a);
      plains.push(p);
      const ph = phasesOf(a.m);
      const parts = a.m.children.filter((c) => /restic/.test(c.command)).map((c) => `${c.command.replace(/^.*restic /, '')} ${fmtMiB(c.hwmKiB)}`);
      show(
        `agent ${v}`,
        a,
        `restic restore from ${ph.resticStart === undefined ? 'n/a' : fmtS(ph.resticStart)} to ${ph.resticDone === undefined ? 'n/a' : fmtS(ph.resticDone)}; node peak RSS ${fmtMiB(a.m.peakKiB)}; restic peak RSS ${parts.join(', ')}`,
      );
      show('plain restic', p, `ratio ${(a.m.wallMs / p.m.wallMs).toFixed(3)}x; restic peak RSS ${fmtMiB(p.m.children[0]!.hwmKiB)}`);
    }
  }

  const walls = (rs: Run[]) => rs.map((r) => r.m.wallMs);
  const mp = median(walls(plains));
  const loads = [...plains, ...VARIANTS.flatMap((v) => agents[v])].map((r) => r.load);
  log('');
  log(`data: ${(SIZE / 1048576).toFixed(0)} MiB in ${FILES} files; 5% of the plain median is ${fmtS(mp * 0.05)}: the agent's whole overhead budget`);
  log(`plain restic restore          median ${fmtS(mp)}  min ${fmtS(Math.min(...walls(plains)))}  (${plains.length} runs)`);
  for (const v of VARIANTS) {
    const rs = agents[v];
    const ma = median(walls(rs));
    const pairRatio = median(rs.map((r) => r.m.wallMs / r.pair!.wallMs));
    log(
      `${(v === 'pinned' ? 'agent, pinned by the daemon' : 'agent, pins latest itself').padEnd(29)} median ${fmtS(ma)}  min ${fmtS(Math.min(...walls(rs)))}  ratio of medians ${(ma / mp).toFixed(3)}x  median ratio to its pair ${pairRatio.toFixed(3)}x  (aim <= 1.05x)`,
    );
    const phases = rs.map((r) => phasesOf(r.m));
    const med = (k: keyof Phases) => {
      const xs = phases.map((p) => p[k]).filter((x): x is number => x !== undefined);
      return xs.length ? median(xs) : undefined;
    };
    log(`  phases (median, from the process start): ${PHASES.map(([k, label]) => `${label} ${med(k) === undefined ? 'n/a' : fmtS(med(k)!)}`).join(' → ')}`);
    const before = med('resticStart');
    const restore = phases.map((p) => (p.resticDone ?? NaN) - (p.resticStart ?? NaN)).filter(Number.isFinite);
    const after = phases.map((p) => p.exit - (p.resticDone ?? NaN)).filter(Number.isFinite);
    log(
      `  before restic restore ${before === undefined ? 'n/a' : fmtS(before)}; restic restore itself ${restore.length ? fmtS(median(restore)) : 'n/a'} (plain: ${fmtS(mp)}); after it ${after.length ? fmtS(median(after)) : 'n/a'}; node peak RSS ${fmtMiB(Math.max(...rs.map((r) => r.m.peakKiB ?? 0)))}`,
    );
    // What the agent adds around restic restore, which load noise on restic's own run does not blur.
    const overhead = phases.map((p) => p.exit - ((p.resticDone ?? NaN) - (p.resticStart ?? NaN))).filter(Number.isFinite);
    if (overhead.length) {
      const o = median(overhead);
      log(
        `  agent's own time (wall minus restic restore): median ${fmtS(o)} = ${((o / mp) * 100).toFixed(1)}% of the plain median: ${((mp + o) / mp).toFixed(3)}x were restic's restore as fast in the agent as alone`,
      );
    }
  }
  log(
    `load average (1 min) at the runs' starts: median ${median(loads).toFixed(1)}, ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}; at the end ${await loadavg()}`,
  );
}
const tmp = await mkdtemp(join(tmpdir(), 'bench-agent-'));
const cleanups: (() => Promise<void>)[] = [];
const cleanup = async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await rm(tmp, { recursive: true, force: true });
};
const onSignal = (sig: NodeJS.Signals) => {
  void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  await main(tmp, cleanups);
} catch (e) {
  process.exitCode = 1;
  process.stderr.write(`bench:agent: ${(e as Error).message}\n`);
} finally {
  await cleanup();
}
