// Benchmark: restoring one snapshot (default 1 GiB in 20,000 files under /source/data) with plain
// `restic restore <id> --target DIR` and through the agent (`restorectl agent restore` against an
// in-process sandbox API), alternating, and printing the medians, the ratio agent/plain, the
// agent's peak RSS and restic's (issues 6, 16). Figures only: nothing is asserted about timing.
// The agent runs twice per round: `agent-pinned`, a session the daemon pinned at accept time (its
// restore.gitops/snapshots annotation names the id: restic restore starts at once, the total is
// listed beside it at low priority), and `agent`, an unpinned `latest` the agent pins itself from
// the first line of one `restic ls --json` stream (which then goes on to count the total).
// Run: npm run bench:agent [-- --files N --size-mib M --runs R --fast-kdf --tsx]
//
// The agent runs as shipped (the npm package and the image run dist/): src/ is compiled into the
// temp dir first. --tsx runs bin/restorectl.js on the TypeScript sources instead (development
// mode, which adds the transpiler's start-up to every run).
// Both variants start with a cold restic cache of their own and read the repository from the
// page cache (it was just written). The repository uses restic's real key derivation unless
// --fast-kdf: every restic command pays it once, and the agent runs more than one.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
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
    runs: { type: 'string', default: '3' },
    'fast-kdf': { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
  },
});
const FILES = Number(values.files);
const SIZE = Number(values['size-mib']) * 1024 * 1024;
const RUNS = Number(values.runs);
if (!(FILES > 0 && SIZE >= FILES && RUNS > 0)) throw new Error('--files, --size-mib and --runs must be positive (and the size at least one byte per file)');

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(REPO_ROOT, 'bin/restorectl.js');
const PASSWORD = randomBytes(18).toString('base64'); // never printed
const NS = 'bench';
const DATA = '/source/data';

const fmtS = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const fmtMiB = (kib: number | undefined) => (kib === undefined ? 'n/a' : `${(kib / 1024).toFixed(0)} MiB`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
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
    const started = performance.now();
    const child = spawn(argv[0]!, argv.slice(1), { env, cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)));
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
      resolve({ code, wallMs: performance.now() - started, stderr, peakKiB: peak, children: [...seen.values()] });
    });
  });
}

// ---------------------------------------------------------------------------------------------

async function main(tmp: string, cleanups: (() => Promise<void>)[]): Promise<void> {
  const restic = await whichExecutable('restic');
  if (!restic) throw new Error('restic is not installed (not found on PATH)');
  const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
  log(
    `bench:agent: ${FILES} files, ${(SIZE / 1048576).toFixed(0)} MiB under ${DATA}, ${RUNS} runs of each variant, ${values['fast-kdf'] ? 'fast (test) KDF' : "restic's real KDF"}, agent ${values.tsx ? 'through tsx' : 'compiled'}`,
  );
  log(`machine: ${(await readFile('/proc/loadavg', 'utf8').catch(() => '?')).split(' ').slice(0, 3).join(' ')} load average, node ${process.version}`);

  let t0 = performance.now();
  let agentArgv = [process.execPath, BIN];
  if (!values.tsx) {
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
    log(`built the agent (tsc) in ${fmtS(performance.now() - t0)}`);
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
  log(`sandbox up in ${fmtS(performance.now() - t0)}`);

  const plain = async (i: number): Promise<Measured> => {
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

  const agent = async (i: number, pinned: boolean): Promise<Measured> => {
    const name = `bench-${i}${pinned ? '-pinned' : ''}`;
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
      [...agentArgv, 'agent', 'restore', '--session', `${NS}/${name}`, '--host-from', 'pod', '--root', root, '--kubeconfig', t.kubeconfigPath],
      {
        ...process.env,
        POD_NAME: `bench-${i}-pod`,
      },
    );
    const stat = ((await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, name })) as RestoreSession).status?.stats?.[0];
    if (m.code !== 0 || stat?.phase !== 'Succeeded') throw new Error(`agent restore failed (exit ${m.code}, ${stat?.phase}): ${m.stderr.slice(-1000)}`);
    if (stat.progress?.bytesDone !== SIZE) throw new Error(`agent reports ${stat.progress?.bytesDone} bytes restored, expected ${SIZE}`);
    if (stat.snapshot !== snapshot) throw new Error(`agent restored snapshot ${stat.snapshot}, expected ${snapshot}`);
    await rm(root, { recursive: true, force: true });
    return m;
  };

  const variants = ['plain', 'agent-pinned', 'agent'] as const;
  const results: Record<(typeof variants)[number], Measured[]> = { plain: [], 'agent-pinned': [], agent: [] };
  for (let i = 0; i < RUNS; i++) {
    // rotate which goes first, so a drift in machine load does not favour one
    const order = [...variants.slice(i % 3), ...variants.slice(0, i % 3)];
    for (const v of order) {
      const m = v === 'plain' ? await plain(i) : await agent(i, v === 'agent-pinned');
      results[v].push(m);
      const parts = m.children.map((c) => `${c.command} ${fmtS(c.lastMs - c.firstMs)} (from ${fmtS(c.firstMs)}, ${fmtMiB(c.hwmKiB)})`);
      log(
        `  run ${i + 1} ${v.padEnd(12)} ${fmtS(m.wallMs).padStart(9)}${v !== 'plain' ? `  peak RSS ${fmtMiB(m.peakKiB)}; ${parts.join('; ')}` : `  restic peak RSS ${fmtMiB(m.children[0]!.hwmKiB)}`}`,
      );
    }
  }

  const mp = median(results.plain.map((m) => m.wallMs));
  const resticPlain = Math.max(...results.plain.map((m) => m.children[0]!.hwmKiB));
  log('');
  log(`plain restic restore          median ${fmtS(mp)}   restic peak RSS ${fmtMiB(resticPlain)}`);
  for (const v of ['agent-pinned', 'agent'] as const) {
    const runs = results[v];
    const ma = median(runs.map((m) => m.wallMs));
    const agentPeak = Math.max(...runs.map((m) => m.peakKiB ?? 0));
    const restores = runs.flatMap((m) => m.children.filter((c) => / restore$/.test(c.command)));
    const resticInAgent = Math.max(...restores.map((c) => c.hwmKiB));
    // what the agent costs before restic restore starts: node, the API, pinning
    const before = median(restores.map((c) => c.firstMs));
    log(
      `${(v === 'agent' ? 'agent, pins latest itself' : 'agent, pinned by the daemon').padEnd(29)} median ${fmtS(ma)}   restic restore starts after ${fmtS(before)}; agent (node) peak RSS ${fmtMiB(agentPeak)}, its restic restore ${fmtMiB(resticInAgent)}`,
    );
    log(`  ratio to plain              ${(ma / mp).toFixed(3)}x   (aim <= 1.05x)`);
  }
  log(`machine at the end: ${(await readFile('/proc/loadavg', 'utf8').catch(() => '?')).split(' ').slice(0, 3).join(' ')} load average`);
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
