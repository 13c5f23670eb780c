// bench/create.ts (`npm run bench:create`): what bounds the first cycle's apply step, the API
// server's create throughput for RestoreSessions, measured side by side on one engine:
//  - `kubectl create -f` of N sessions (its own client: one HTTP/2 connection; its requests from
//    --v=6), on kube-apiserver only (against the sandbox, kubectl throttles itself to 5 QPS);
//  - the Applier's create (client-node) at several in-flight levels, on a KubeConfig that makes a
//    new connection (and TLS handshake) per request, as client-node does by default, and on the
//    product's pooled keep-alive KubeConfig (src/kube/client.ts).
// Each run creates into a namespace of its own, so no run pays for another's objects.
// Run: npm run bench:create [-- --engine kube-apiserver|embedded --sessions 1000 --concurrency 8,16,32,64]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { parse } from 'yaml';
import { mapBounded } from '../src/apply/applier.ts';
import { TokenBucket, limitedKubeConfig } from '../src/kube/client.ts';
import { RESTORE_SESSIONS } from '../src/kube/resources.ts';
import { REPO_ROOT, enginesFrom, load, startEngine } from './engines.ts';
import type { EngineName } from './engines.ts';
import { restoreSessionYaml } from './manifests.ts';

const { values } = parseArgs({
  options: {
    engine: { type: 'string' },
    sessions: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '8,16,32,64' },
  },
});
const { engines: ENGINES, note } = enginesFrom(values.engine);
const N = Number(values.sessions);
const LEVELS = values.concurrency.split(',').filter(Boolean).map(Number);

function kubectl(kubeconfig: string, home: string, args: string[]): string {
  const env = { ...process.env, HOME: home, KUBECACHEDIR: join(home, 'kubectl-cache') };
  return execFileSync('kubectl', ['--kubeconfig', kubeconfig, ...args], {
    cwd: REPO_ROOT,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 28,
  });
}

/** kubectl's --v=6 request lines (`"Response" verb="POST" url=… status="201 Created"`), by verb and status. */
function requestLines(stderr: string): Record<string, number> {
  const by: Record<string, number> = {};
  for (const l of stderr.split('\n')) {
    const m = /verb="([A-Z]+)" url="([^"]+)" status="(\d+)/.exec(l) ?? /\] ([A-Z]+) (https?:\S+) (\d+)/.exec(l);
    if (!m) continue;
    const path = new URL(m[2]!).pathname.replace(/\/restore-\d+$/, '/NAME').replace(/namespaces\/[^/]+/, 'namespaces/NS');
    const k = `${m[1]} ${path} ${m[3]}`;
    by[k] = (by[k] ?? 0) + 1;
  }
  return by;
}

const sessionsIn = (namespace: string) => Array.from({ length: N }, (_, i) => restoreSessionYaml({ name: `restore-${i}`, namespace, repository: 'repo' }));

const rows: string[] = [];

async function benchEngine(name: EngineName): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'bench-create-'));
  const engine = await startEngine(name, join(tmp, 'cluster'));
  try {
    kubectl(engine.kubeconfig, tmp, ['apply', '--server-side', '-f', 'deploy/crds']);
    kubectl(engine.kubeconfig, tmp, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    const core = engine.kc.makeApiClient(k8s.CoreV1Api);
    let run = 0;
    const namespace = async () => {
      const ns = `bench-${run++}`;
      await core.createNamespace({ body: { metadata: { name: ns } } });
      return ns;
    };

    // kubectl create -f DIR: one file per session, as the daemon's repository has them; then again
    // with --v=6 (into another namespace) for its requests.
    // The embedded sandbox tells kubectl nothing of API Priority and Fairness, so client-go keeps
    // its client-side limit (5 QPS) there: 1,000 creates would take 200 s. kube-apiserver only.
    for (const verbose of name === 'kube-apiserver' ? [false, true] : []) {
      const ns = await namespace();
      const dir = join(tmp, ns);
      mkdirSync(dir);
      for (const [i, y] of sessionsIn(ns).entries()) writeFileSync(join(dir, `restore-${i}.yaml`), y);
      const t = performance.now();
      const r = spawnSync('kubectl', ['--kubeconfig', engine.kubeconfig, 'create', '-f', dir, ...(verbose ? ['--v=6'] : [])], {
        env: { ...process.env, HOME: tmp, KUBECACHEDIR: join(tmp, 'kubectl-cache') },
        encoding: 'utf8',
        stdio: ['ignore', 'ignore', 'pipe'],
        maxBuffer: 1 << 28,
      });
      const took = performance.now() - t;
      if (r.status !== 0) throw new Error(`kubectl create failed: ${r.stderr.slice(-500)}`);
      const requests = verbose
        ? `; requests: ${Object.entries(requestLines(r.stderr))
            .map(([k, n]) => `${k} ×${n}`)
            .join(', ')}`
        : '';
      rows.push(
        `${name.padEnd(15)} ${`kubectl create -f (${N} files)${verbose ? ', --v=6' : ''}`.padEnd(52)} ${took.toFixed(0).padStart(6)} ms  ${((N / took) * 1000).toFixed(0)} creates/s; load ${load()}${requests}`,
      );
    }

    // The Applier's request, client-node, `c` in flight: a new connection per request, then the pooled client.
    const kubeConfigs: [string, k8s.KubeConfig][] = [
      ['client-node default (a connection per request)', engine.kc],
      ['pooled keep-alive (src/kube/client.ts)', limitedKubeConfig(engine.kc, new TokenBucket({ qps: 0, burst: 1 }))],
    ];
    for (const [what, kc] of kubeConfigs) {
      const api = kc.makeApiClient(k8s.CustomObjectsApi);
      for (const c of LEVELS) {
        const ns = await namespace();
        const bodies = sessionsIn(ns).map((y) => parse(y) as object);
        const t = performance.now();
        await mapBounded(bodies, c, (body) => api.createNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: ns, body }));
        const took = performance.now() - t;
        rows.push(
          `${name.padEnd(15)} ${`${what}, ${c} in flight`.padEnd(52)} ${took.toFixed(0).padStart(6)} ms  ${((N / took) * 1000).toFixed(0)} creates/s; load ${load()}`,
        );
      }
    }
  } finally {
    await engine.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

console.log(`bench:create — ${note}; ${N} RestoreSessions per run; node ${process.version}; load ${load()}`);
for (const e of ENGINES) await benchEngine(e);
for (const r of rows) console.log(r);
console.log(`load average at the end: ${load()} (2 cores, shared with other work)`);
