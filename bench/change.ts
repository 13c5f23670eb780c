// bench/change.ts (`npm run bench:change`, issue 16): the daemon's validate + plan steps at 1,000
// and 5,000 declared sessions, the first run against a one-file change. The steps are the daemon's
// own (revisionFiles → loadObjectsYielding → validateLoaded → ledgerView → planRestores) with its
// caches (ValidationCache, PlanCache), against the cluster state the daemon has once its sessions
// ran: every session live and Succeeded, every Repository live, the ledger recording each run.
//   first run      fresh caches (a daemon's first cycle);
//   no cache       the same one-file change planned without caches (what every cycle did before);
//   one file       added (a new session), modified (a rerun bump), removed, and a Repository's file
//                  changed (its 100 sessions are checked and planned again: work follows the
//                  dependents, not only the file);
//   nothing        no change (a new cluster state, as every cycle builds; built outside the timings,
//                  as the daemon builds it in its list step).
// Each change is measured RUNS times (a different file each time), the median printed with the
// ratio to the first run and the work done (files parsed, objects checked, objects planned). Every
// cached result is compared with a plan made without caches: a difference is printed and fails.
// Run: npm run bench:change [-- --sizes 1000,5000 --runs 5]
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { KubeObject } from '../src/api/meta.ts';
import { ClusterState, ValidationCache, loadObjectsYielding } from '../src/manifests/index.ts';
import { PlanCache, planRestores } from '../src/plan/index.ts';
import type { Plan } from '../src/plan/index.ts';
import { validateLoaded } from '../src/daemon/namespace.ts';
import { revisionFiles } from '../src/source/types.ts';
import { restoreSessionYaml } from './manifests.ts';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1000,5000' }, runs: { type: 'string', default: '5' } } });
const SIZES = values.sizes.split(',').map(Number);
const RUNS = Number(values.runs);
const PER_NAMESPACE = 100;
const COMPLETE = ['RestoreSession', 'Repository', 'Task', 'Function', 'AppBinding'];

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;
/** CPU milliseconds (user + system) since `from`: steadier than wall time on a loaded machine. */
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
};

const nsOf = (i: number) => `team-${Math.floor(i / PER_NAMESPACE)}`;
const sessionPath = (i: number) => `clusters/prod/${nsOf(i)}/restore-${i}.yaml`;
const sessionText = (i: number, rerun?: number) =>
  restoreSessionYaml({ name: `restore-${i}`, namespace: nsOf(i), repository: 'repo', ...(rerun === undefined ? {} : { rerun }) });
const repositoryText = (ns: string, prefix = ns) => `apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata:
  name: repo
  namespace: ${ns}
spec:
  backend:
    s3: {endpoint: s3.amazonaws.com, bucket: backups, prefix: ${prefix}}
    storageSecretName: s3-secret
`;

interface Caches {
  validation: ValidationCache;
  planning: PlanCache;
}

/** The cluster state a cycle builds in its list step (Daemon.cycleSteps), before validate and plan. */
const stateOf = (live: KubeObject[]) => new ClusterState(live, { completeKinds: COMPLETE });

/** The daemon's validate and plan steps (Daemon.validate, Daemon.plan), with its caches when given. */
async function validateAndPlan(files: Map<string, string>, cluster: ClusterState, ledger: Map<string, { phase: string }>, caches?: Caches): Promise<Plan> {
  const loaded = await loadObjectsYielding(revisionFiles({ files }), caches ? { cache: caches.validation.files } : {});
  const desired = validateLoaded(loaded, cluster, undefined, caches?.validation);
  const view = new Map([...ledger].map(([id, e]) => [id, { phase: e.phase }]));
  return planRestores({ desired, cluster, ledger: view, sourceCommit: null, ...(caches ? { cache: caches.planning } : {}) });
}

function work(c: Caches, before: { files: number; checks: number; plans: number }) {
  return {
    files: c.validation.files.misses - before.files,
    checks: c.validation.checks.misses - before.checks,
    plans: c.planning.misses - before.plans,
  };
}
const counters = (c: Caches) => ({ files: c.validation.files.misses, checks: c.validation.checks.misses, plans: c.planning.misses });

let failed = false;

for (const n of SIZES) {
  const files = new Map<string, string>();
  const namespaces = Math.ceil(n / PER_NAMESPACE);
  for (let k = 0; k < namespaces; k++) files.set(`clusters/prod/team-${k}/repository.yaml`, repositoryText(`team-${k}`));
  for (let i = 0; i < n; i++) files.set(sessionPath(i), sessionText(i));

  // The cluster once every session ran: what the daemon's cycles see in the steady state.
  const first = await validateAndPlan(files, stateOf([]), new Map());
  let rv = 1;
  const live: KubeObject[] = [];
  const ledger = new Map<string, { phase: string }>();
  for (const a of first.actions) {
    const metadata = { name: a.name, namespace: a.namespace, uid: `uid-${a.kind}-${a.namespace}-${a.name}`, resourceVersion: String(rv++) };
    if (a.kind === 'Repository') {
      live.push({ apiVersion: 'stash.appscode.com/v1alpha1', kind: 'Repository', metadata, spec: { backend: {} } } as KubeObject);
      continue;
    }
    ledger.set(a.contentId, { phase: 'Succeeded' });
    live.push({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: {
        ...metadata,
        labels: { 'app.kubernetes.io/managed-by': 'restore-controller' },
        annotations: { 'restore.gitops/content-id': a.contentId, 'restore.gitops/source': `bench@0:${a.file}` },
      },
      spec: {},
      status: { phase: 'Succeeded' },
    } as KubeObject);
  }

  const caches: Caches = { validation: new ValidationCache(), planning: new PlanCache() };
  global.gc?.();
  const loadBefore = load();
  const heapBefore = process.memoryUsage().heapUsed;
  let cluster = stateOf(live);
  let t = performance.now();
  let cpu = process.cpuUsage();
  await validateAndPlan(files, cluster, ledger, caches);
  const firstMs = performance.now() - t;
  const firstCpu = cpuMs(cpu);
  global.gc?.();
  const cacheKiB = (process.memoryUsage().heapUsed - heapBefore) / 1024;

  /** Applies a change, measures the cached run, checks it against a run without caches. */
  const measure = async (change: (r: number) => void) => {
    const times: number[] = [];
    const cpus: number[] = [];
    const uncached: number[] = [];
    const uncachedCpus: number[] = [];
    let done = { files: 0, checks: 0, plans: 0 };
    for (let r = 0; r < RUNS; r++) {
      change(r);
      cluster = stateOf(live); // a new one every cycle, from the same watch caches
      const before = counters(caches);
      t = performance.now();
      cpu = process.cpuUsage();
      const plan = await validateAndPlan(files, cluster, ledger, caches);
      times.push(performance.now() - t);
      cpus.push(cpuMs(cpu));
      done = work(caches, before);
      t = performance.now();
      cpu = process.cpuUsage();
      const full = await validateAndPlan(files, cluster, ledger);
      uncached.push(performance.now() - t);
      uncachedCpus.push(cpuMs(cpu));
      if (JSON.stringify(plan) !== JSON.stringify(full)) {
        console.log(`  DIFFERENT: the cached plan is not the plan made without caches`);
        failed = true;
      }
    }
    return { ms: median(times), cpu: median(cpus), uncachedMs: median(uncached), uncachedCpu: median(uncachedCpus), done };
  };

  const rows: [string, Awaited<ReturnType<typeof measure>>][] = [];
  rows.push(['nothing changed', await measure(() => {})]);
  rows.push([
    'one file added',
    await measure((r) => {
      files.set(sessionPath(n + r), sessionText(n + r));
    }),
  ]);
  rows.push(['one file modified', await measure((r) => void files.set(sessionPath(r * 7), sessionText(r * 7, r + 1)))]);
  rows.push(['one file removed', await measure((r) => void files.delete(sessionPath(n + r)))]);
  rows.push([
    `a Repository changed (${PER_NAMESPACE} sessions use it)`,
    await measure((r) => void files.set(`clusters/prod/team-${r % namespaces}/repository.yaml`, repositoryText(`team-${r % namespaces}`, `moved-${r}`))),
  ]);

  console.log(`── ${n} sessions, ${namespaces} Repositories (${files.size} files)`);
  console.log(
    `first run (fresh caches):   ${ms(firstMs)} (cpu ${ms(firstCpu)}); the caches hold ${(cacheKiB / 1024).toFixed(1)} MiB (${(cacheKiB / n).toFixed(1)} KiB per session)`,
  );
  for (const [name, m] of rows) {
    console.log(
      `${`${name}:`.padEnd(28)}${ms(m.ms).padStart(9)} (cpu ${ms(m.cpu)}) = ${(m.ms / firstMs).toFixed(3)}× the first run (cpu ${(m.cpu / firstCpu).toFixed(3)}×), ${(m.uncachedMs / m.ms).toFixed(1)}× faster than without caches (${ms(m.uncachedMs)}, cpu ${ms(m.uncachedCpu)}); work: ${m.done.files} file(s) parsed, ${m.done.checks} object(s) checked, ${m.done.plans} planned`,
    );
  }
  console.log(
    `caches after the runs: ${caches.validation.files.size} files, ${caches.validation.checks.size} checked objects, ${caches.planning.size} planned (the files present: ${files.size})`,
  );
  console.log(`load avg:  ${loadBefore} before, ${load()} after`);
}
console.log('aim: a one-file change costs in proportion to the change, not to the repository (issue 16)');
if (failed) process.exitCode = 1;
