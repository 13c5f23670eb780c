// Benchmark: load + validate + plan (issue 3, issue 16). Three cases, each against a raw `yaml`
// parse of the same files (parseAllDocuments + toJS, nothing else) as its baseline:
//   clean     N manifests whose targets are all in the cluster state (no diagnostics);
//   warnings  the same N manifests with two thirds of the StatefulSets absent from the cluster
//             state, so most sessions carry a "target not in the cluster state" warning;
//   errors    one file of D documents with an error each (a bad timeOut).
// Prints times, the ratio to the raw parse, how many files the plain fast path read (the others
// take the full `yaml` parser: src/manifests/yaml-plain.ts), peak memory and the load average.
// Run: npm run bench:plan [-- --count N --docs D --case clean|warnings|errors]
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { ClusterState, readManifestPaths, validateSource } from '../src/manifests/index.ts';
import type { SourceFile } from '../src/manifests/index.ts';
import { readsAsPlain } from '../src/manifests/yaml-source.ts';
import { planRestores } from '../src/plan/index.ts';

const { values } = parseArgs({
  options: { count: { type: 'string', default: '10000' }, docs: { type: 'string', default: '1000' }, case: { type: 'string', multiple: true } },
});
const count = Number(values.count);
const docs = Number(values.docs);
const cases = values.case?.length ? values.case : ['clean', 'warnings', 'errors'];
const dir = mkdtempSync(join(tmpdir(), 'bench-plan-'));

function session(i: number, ns: string, timeOut = '30m'): string {
  return `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata:
  name: restore-${i}
  namespace: ${ns}
spec:
  repository:
    name: repo
  target:
    alias: db-${i}
    ref:
      apiVersion: apps/v1
      kind: StatefulSet
      name: db-${i}
    volumeMounts:
      - name: data
        mountPath: /var/lib/data
    rules:
      - targetHosts: ["db-${i}-3", "db-${i}-4"]
        sourceHost: "db-${i}-1"
        paths: [/var/lib/data]
        include: ["*.json"]
      - paths: [/var/lib/data]
        exclude: [tmp.json, "*.txt"]
  timeOut: ${timeOut}
`;
}

function repository(ns: string): string {
  return `apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata:
  name: repo
  namespace: ${ns}
spec:
  backend:
    s3: {endpoint: s3.amazonaws.com, bucket: backups, prefix: ${ns}}
    storageSecretName: s3-secret
`;
}

/** 100 namespaces, each with one Repository and its sessions, in folders of 100 files. */
function writeManyFiles(root: string, liveEvery: number): object[] {
  const namespaces = Math.max(1, Math.ceil(count / 100));
  const live: object[] = [];
  let written = 0;
  for (let n = 0; n < namespaces && written < count; n++) {
    const ns = `team-${n}`;
    const sub = join(root, 'clusters', 'prod', ns);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'repository.yaml'), repository(ns));
    written++;
    for (let i = 0; i < 99 && written < count; i++, written++) {
      const id = n * 100 + i;
      writeFileSync(join(sub, `restore-${id}.yaml`), session(id, ns));
      if (id % liveEvery === 0) live.push({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: `db-${id}`, namespace: ns }, spec: { replicas: 5 } });
    }
  }
  return live;
}

/** One file: a Repository, then `docs` sessions with a bad timeOut each. */
function writeOneFile(root: string): object[] {
  mkdirSync(root, { recursive: true });
  const parts = [repository('team-0')];
  const live: object[] = [];
  for (let i = 0; i < docs; i++) {
    parts.push(session(i, 'team-0', 'soon'));
    live.push({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: `db-${i}`, namespace: 'team-0' }, spec: { replicas: 5 } });
  }
  writeFileSync(join(root, 'restores.yaml'), parts.join('---\n'));
  return live;
}

function rawParse(files: SourceFile[]): number {
  const t0 = performance.now();
  let n = 0;
  for (const f of files) for (const d of parseAllDocuments(f.text)) if (d.toJS()) n++;
  if (n < 0) throw new Error('unreachable');
  return performance.now() - t0;
}

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

try {
  for (const name of cases) {
    const root = join(dir, name);
    const live = name === 'errors' ? writeOneFile(root) : writeManyFiles(root, name === 'warnings' ? 3 : 1);
    const cluster = new ClusterState(live as never);
    global.gc?.();
    const loadBefore = load();

    const t0 = performance.now();
    const read = await readManifestPaths([root]);
    const t1 = performance.now();
    const desired = validateSource(read.files, cluster);
    const t2 = performance.now();
    const plan = planRestores({ desired, cluster });
    const t3 = performance.now();
    const peakMiB = process.resourceUsage().maxRSS / 1024; // before the raw parse adds its own
    const raw = rawParse(read.files);

    const hosts = plan.actions.reduce((n, a) => n + (a.hosts?.length ?? 0), 0);
    const errors = plan.diagnostics.filter((d) => d.severity === 'error').length;
    const warnings = plan.diagnostics.length - errors;
    const work = t3 - t1;
    console.log(
      `── ${name}: ${read.files.length} files, ${desired.sessions.length} RestoreSessions, ${desired.repositories.length} Repositories, ${hosts} host plans, ${errors} errors, ${warnings} warnings`,
    );
    console.log(`read:      ${(t1 - t0).toFixed(0)} ms`);
    console.log(`validate:  ${(t2 - t1).toFixed(0)} ms (parse, schema, semantic checks)`);
    console.log(`plan:      ${(t3 - t2).toFixed(0)} ms`);
    console.log(`total:     ${(t3 - t0).toFixed(0)} ms   (target < 2000 ms: ${((t3 - t0) / 2000).toFixed(2)}× of budget)`);
    console.log(`raw parse: ${raw.toFixed(0)} ms (yaml parseAllDocuments + toJS); validate + plan = ${(work / raw).toFixed(2)}× raw parse (target ≤ 2×)`);
    console.log(`fast path: ${read.files.filter((f) => readsAsPlain(f.text)).length} of ${read.files.length} files read by the plain YAML fast path`);
    console.log(`peak RSS:  ${peakMiB.toFixed(0)} MiB (the process so far, before the raw parse; target < 300 MiB: ${(peakMiB / 300).toFixed(2)}× of budget)`);
    console.log(`load avg:  ${loadBefore} before, ${load()} after`);
    const expectErrors = name === 'errors' ? docs : 0;
    if (errors !== expectErrors) {
      console.log(`unexpected: ${errors} errors, expected ${expectErrors}`);
      process.exitCode = 1;
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
