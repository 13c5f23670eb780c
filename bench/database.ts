// Benchmark: a built-in PostgreSQL restore of a pg_dumpall backup (default 256 MiB of rows), run
// as plain `restic dump latest /dumpfile.sql --host host-0 | psql` and through the agent's
// DatabaseRestorer (src/databases: the same pipe, with the password-line filter and byte
// counting in Node), alternating; prints the dump size, the medians, the ratio restorer/plain and
// the restorer's peak RSS growth against the dump size, which shows the dump is streamed, not
// held. Figures only: nothing is asserted. Needs PostgreSQL (scripts/install-deps.sh).
// Run: npm run bench:database [-- --size-mib M --runs R]
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { AppBinding } from '../src/api/appbinding.ts';
import type { Repository } from '../src/api/repository.ts';
import type { RestoreSession } from '../src/api/restoresession.ts';
import { DatabaseRestorer } from '../src/databases/index.ts';
import { startPostgres } from '../test/support/databases.ts';

const { values } = parseArgs({ options: { 'size-mib': { type: 'string', default: '256' }, runs: { type: 'string', default: '3' } } });
const SIZE_MIB = Number(values['size-mib']);
const RUNS = Number(values.runs);
const RESTIC_PASSWORD = 'bench restic password';
const PASSWORD = 'bench pg password';

const pg = await startPostgres(PASSWORD);
if ('skip' in pg) {
  console.log(`skipped: ${pg.skip}`);
  process.exit(0);
}
const dir = await mkdtemp(join(tmpdir(), 'bench-database-'));
const repo = join(dir, 'repo');
const env = { ...pg.clientArgs().env, RESTIC_PASSWORD };
const sh = (script: string) => {
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', script], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${script.slice(0, 80)}: ${r.stderr}`);
  return r.stdout;
};
const conn = pg.clientArgs().argv.join(' ');
try {
  sh(`restic init --repo ${repo} >/dev/null`);
  const rows = SIZE_MIB * 1024; // ~1 KiB a row
  pg.client('CREATE DATABASE bench;');
  pg.client(`CREATE TABLE t (id int, payload text); INSERT INTO t SELECT i, repeat(md5(i::text), 31) FROM generate_series(1, ${rows}) i;`, {
    args: ['--dbname=bench'],
  });
  sh(`pg_dumpall ${conn} | restic backup --quiet --repo ${repo} --stdin --stdin-filename dumpfile.sql --host host-0`);
  const dumpBytes = Number(sh(`restic dump --repo ${repo} latest /dumpfile.sql --host host-0 | wc -c`).trim());
  const reset = () => pg.client('DROP DATABASE IF EXISTS bench WITH (FORCE);');

  const plain = (): number => {
    reset();
    const t = performance.now();
    // a fresh cache each run, as the restorer's scratch space starts empty in each agent
    sh(`restic dump --cache-dir "$(mktemp -d -p ${dir})" --repo ${repo} latest /dumpfile.sql --host host-0 | psql ${conn} -q >/dev/null`);
    return performance.now() - t;
  };
  const appBinding: AppBinding = {
    apiVersion: 'appcatalog.appscode.com/v1alpha1',
    kind: 'AppBinding',
    metadata: { name: 'bench', namespace: 'demo' },
    spec: { clientConfig: { url: `postgresql://127.0.0.1:${pg.port}/` }, secret: { name: 'auth' } },
  };
  const restorer = new DatabaseRestorer({ appBinding: async () => appBinding, secretData: async () => ({ username: 'postgres', password: PASSWORD }) });
  const session = {
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'RestoreSession',
    metadata: { name: 'bench', namespace: 'demo' },
    spec: {
      task: { name: 'postgres-restore-15.1' },
      target: { ref: { apiVersion: 'appcatalog.appscode.com/v1alpha1', kind: 'AppBinding', name: 'bench' } },
    },
  } as unknown as RestoreSession;
  const repository = {
    metadata: { name: 'r', namespace: 'demo' },
    spec: { backend: { local: { mountPath: repo }, storageSecretName: 's' } },
  } as unknown as Repository;
  const viaRestorer = async (): Promise<{ ms: number; peakRss: number; baseRss: number }> => {
    reset();
    global.gc?.();
    const baseRss = process.memoryUsage().rss;
    let peakRss = baseRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    const t = performance.now();
    await restorer.restore({
      session,
      repository,
      secret: { RESTIC_PASSWORD },
      plan: { host: 'host-0', sourceHost: 'host-0', snapshots: ['latest'], restores: true },
      root: '/',
      scratchDir: await mkdtemp(join(dir, 'scratch-')),
      signal: new AbortController().signal,
      onProgress: () => {},
    });
    const ms = performance.now() - t;
    clearInterval(sampler);
    return { ms, peakRss: Math.max(peakRss, process.memoryUsage().rss), baseRss };
  };

  const plainMs: number[] = [];
  const restorerMs: number[] = [];
  let growth = 0;
  for (let i = 0; i < RUNS; i++) {
    plainMs.push(plain());
    const r = await viaRestorer();
    restorerMs.push(r.ms);
    growth = Math.max(growth, r.peakRss - r.baseRss);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
  const p = median(plainMs);
  const r = median(restorerMs);
  console.log(
    `load average: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  console.log(`dump: ${mib(dumpBytes)} (${rows} rows), ${RUNS} run(s) each`);
  console.log(`plain restic dump | psql: median ${(p / 1000).toFixed(2)} s`);
  console.log(`DatabaseRestorer:         median ${(r / 1000).toFixed(2)} s (ratio ${(r / p).toFixed(2)})`);
  console.log(`DatabaseRestorer peak RSS growth: ${mib(growth)} = ${((growth / dumpBytes) * 100).toFixed(1)}% of the dump`);
} finally {
  await pg.stop();
  await rm(dir, { recursive: true, force: true });
}
