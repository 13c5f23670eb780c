// Benchmark: load + validate + plan for 10,000 manifests (issue 3). Prints time and peak memory.
// Run: npm run bench:plan [-- --count N]
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ClusterState, readManifestPaths, validateSource } from '../src/manifests/index.ts';
import { planRestores } from '../src/plan/index.ts';

const { values } = parseArgs({ options: { count: { type: 'string', default: '10000' } } });
const count = Number(values.count);
const dir = mkdtempSync(join(tmpdir(), 'bench-plan-'));

function session(i: number, ns: string): string {
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
  timeOut: 30m
`;
}

try {
  // 100 namespaces, each with one Repository and its sessions, in folders of 100 files.
  const namespaces = Math.max(1, Math.ceil(count / 100));
  const live: object[] = [];
  let written = 0;
  for (let n = 0; n < namespaces && written < count; n++) {
    const ns = `team-${n}`;
    const sub = join(dir, 'clusters', 'prod', ns);
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'repository.yaml'), `apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata:
  name: repo
  namespace: ${ns}
spec:
  backend:
    s3: {endpoint: s3.amazonaws.com, bucket: backups, prefix: ${ns}}
    storageSecretName: s3-secret
`);
    written++;
    for (let i = 0; i < 99 && written < count; i++, written++) {
      const id = n * 100 + i;
      writeFileSync(join(sub, `restore-${id}.yaml`), session(id, ns));
      live.push({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: `db-${id}`, namespace: ns }, spec: { replicas: 5 } });
    }
  }
  const cluster = new ClusterState(live as never);
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;

  const t0 = performance.now();
  const read = await readManifestPaths([dir]);
  const t1 = performance.now();
  const desired = validateSource(read.files, cluster);
  const t2 = performance.now();
  const plan = planRestores({ desired, cluster });
  const t3 = performance.now();

  const peakMiB = process.resourceUsage().maxRSS / 1024;
  const hosts = plan.actions.reduce((n, a) => n + (a.hosts?.length ?? 0), 0);
  const errors = plan.diagnostics.filter((d) => d.severity === 'error').length;
  console.log(`manifests: ${read.files.length} files, ${desired.sessions.length} RestoreSessions, ${desired.repositories.length} Repositories, ${hosts} host plans, ${errors} errors`);
  console.log(`read:      ${(t1 - t0).toFixed(0)} ms`);
  console.log(`validate:  ${(t2 - t1).toFixed(0)} ms (parse, schema, semantic checks)`);
  console.log(`plan:      ${(t3 - t2).toFixed(0)} ms`);
  console.log(`total:     ${(t3 - t0).toFixed(0)} ms   (target < 2000 ms: ${((t3 - t0) / 2000).toFixed(2)}× of budget)`);
  console.log(`peak RSS:  ${peakMiB.toFixed(0)} MiB (process, incl. ${(rssBefore / 1048576).toFixed(0)} MiB before loading; target < 300 MiB: ${(peakMiB / 300).toFixed(2)}× of budget)`);
  if (errors) process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
