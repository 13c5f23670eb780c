// bench/git.ts (`npm run bench:git`): the git ends of the loop at scale, side by side with the git CLI.
//  1. a repository of 10,000 manifests and 1,000 commits: first sync by our Source vs `git clone`
//  2. an incremental fetch of one new commit
//  3. StatusWriter commits touching 10 of 10,000 status files, and all 10,000
// Everything crosses the real smart-HTTP server (git http-backend) on 127.0.0.1.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { GitHttpServer } from '@restore-controller/devkit/git-http-server';
import { GitSource } from '../src/source/index.ts';
import { StatusWriter } from '../src/status/index.ts';
import type { ManagedSession, StatusSnapshot } from '../src/status/index.ts';
import { restoreSessionYaml } from './manifests.ts';

const FILES = Number(process.env.BENCH_FILES ?? 10_000);
const COMMITS = Number(process.env.BENCH_COMMITS ?? 1_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const NS = 100;

const tmp = mkdtempSync(join(tmpdir(), 'bench-git-'));
const server = await GitHttpServer.start({ root: join(tmp, 'repos') });
const results: [string, string, string, string][] = [];

function manifest(ns: number, i: number, rev = 0): string {
  return restoreSessionYaml({ name: `restore-${i}`, namespace: `ns-${ns}`, repository: `repo-${ns}`, rerun: rev });
}

const pathOf = (k: number) => `clusters/bench/ns-${k % NS}/restore-${k}.yaml`;

/** Builds the source repository with git fast-import: one commit of FILES files, then COMMITS-1 small ones. */
function buildSourceRepo(name: string): void {
  server.createRepo(name);
  const parts: string[] = [];
  let time = 1_780_000_000;
  const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  for (let c = 1; c <= COMMITS; c++) {
    parts.push(`commit refs/heads/main\nmark :${c}\ncommitter Bench <bench@example.com> ${time++} +0000\n${data(`commit ${c}`)}`);
    if (c > 1) parts.push(`from :${c - 1}\n`);
    if (c === 1) for (let k = 0; k < FILES; k++) parts.push(`M 100644 inline ${pathOf(k)}\n${data(manifest(k % NS, k))}`);
    else
      for (let j = 0; j < 3; j++) {
        const k = (c * 7 + j * 3331) % FILES;
        parts.push(`M 100644 inline ${pathOf(k)}\n${data(manifest(k % NS, k, c))}`);
      }
    parts.push('\n');
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: server.repoPath(name), input: parts.join(''), maxBuffer: 1 << 30 });
  execFileSync('git', ['repack', '-adq'], { cwd: server.repoPath(name) });
}

async function time<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

async function median(runs: number, fn: (run: number) => Promise<number>): Promise<number> {
  const out: number[] = [];
  for (let r = 0; r < runs; r++) out.push(await fn(r));
  out.sort((a, b) => a - b);
  return out[Math.floor(out.length / 2)]!;
}

const ms = (n: number) => `${Math.round(n).toLocaleString('en-US')} ms`;
function row(what: string, ours: number | undefined, cli: number | undefined, aim: string) {
  const ratio = ours !== undefined && cli !== undefined ? ` (${(ours / cli).toFixed(1)}×)` : '';
  results.push([what, ours === undefined ? '—' : ms(ours) + ratio, cli === undefined ? '—' : ms(cli), aim]);
  console.error(`  ${what}: ${ours === undefined ? '-' : ms(ours)} vs ${cli === undefined ? '-' : ms(cli)}`);
}

// Async: the server runs in this process, so a synchronous git over HTTP would deadlock it.
const run = promisify(execFile);
const cli = (args: string[], cwd?: string) => run('git', args, { cwd, maxBuffer: 1 << 30 });

try {
  console.error(`building a repository of ${FILES} manifests and ${COMMITS} commits…`);
  const built = await time(() => buildSourceRepo('source'));
  const url = server.url('source');
  const packBytes = fs
    .readdirSync(join(server.repoPath('source'), 'objects/pack'))
    .filter((f) => f.endsWith('.pack'))
    .reduce((s, f) => s + fs.statSync(join(server.repoPath('source'), 'objects/pack', f)).size, 0);
  console.error(`  built in ${ms(built.ms)}, pack ${(packBytes / 1e6).toFixed(1)} MB; ${RUNS} run(s) each, median`);

  // 1. First sync.
  const cliBare = await median(
    RUNS,
    async (r) => (await time(() => cli(['clone', '--quiet', '--bare', '--single-branch', '--branch', 'main', url, join(tmp, `cli-bare-${r}`)]))).ms,
  );
  const cliCheckout = await median(
    RUNS,
    async (r) => (await time(() => cli(['clone', '--quiet', '--single-branch', '--branch', 'main', url, join(tmp, `cli-co-${r}`)]))).ms,
  );
  const isoFetch = await median(1, async (r) => {
    const gitdir = join(tmp, `iso-fetch-${r}`);
    await git.init({ fs, gitdir, bare: true });
    await git.addRemote({ fs, gitdir, remote: 'origin', url });
    return (await time(() => git.fetch({ fs, http, gitdir, url, ref: 'main', singleBranch: true, tags: false, cache: {} }))).ms;
  });
  const ourFetch = await median(RUNS, async (r) => {
    // Globs that select nothing: the fetch, the pack index and the tree walk, no blob read.
    const s = new GitSource({ url, cacheDir: join(tmp, `src-fetch-${r}`), env: {}, globs: ['no-such-file'] });
    return (await time(() => s.sync())).ms;
  });
  let source!: GitSource;
  const ourSync = await median(RUNS, async (r) => {
    const s = new GitSource({ url, cacheDir: join(tmp, `src-${r}`), env: {} });
    const { ms: t, value } = await time(() => s.sync());
    if (value.files.size !== FILES) throw new Error(`expected ${FILES} files, got ${value.files.size}`);
    source = s;
    return t;
  });
  row(
    `fetch of ${FILES.toLocaleString('en-US')} files / ${COMMITS.toLocaleString('en-US')} commits: Source (fetch + index + tree walk) vs \`git clone --bare\``,
    ourFetch,
    cliBare,
    '≤ 2× git',
  );
  row('  for reference: isomorphic-git `fetch()` alone (1 run)', isoFetch, cliBare, '');
  row('first sync: Source (fetch + read every manifest) vs `git clone` (with checkout)', ourSync, cliCheckout, '≤ 2× git');

  // 2. Incremental fetch of one new commit (2 files changed).
  const work = join(tmp, 'work');
  await cli(['clone', '--quiet', url, work]);
  const cliFetchDir = join(tmp, 'cli-bare-0');
  let n = 0;
  const pushOne = async () => {
    n++;
    fs.writeFileSync(join(work, pathOf(n)), manifest(n % NS, n, 10_000 + n));
    fs.writeFileSync(join(work, pathOf(n + 1)), manifest((n + 1) % NS, n + 1, 10_000 + n));
    await cli(['-c', 'user.name=b', '-c', 'user.email=b@x', 'commit', '--quiet', '-am', `change ${n}`], work);
    await cli(['push', '--quiet', 'origin', 'HEAD:main'], work);
  };
  const incOurs = await median(Math.max(RUNS, 5), async () => {
    await pushOne();
    const { ms: t, value } = await time(() => source.sync());
    if (value.changed.modified.length !== 2) throw new Error(`expected 2 changed files, got ${JSON.stringify(value.changed)}`);
    return t;
  });
  const incCli = await median(Math.max(RUNS, 5), async () => {
    await pushOne();
    return (await time(() => cli(['fetch', '--quiet', 'origin', 'main:main'], cliFetchDir))).ms;
  });
  const noop = await median(Math.max(RUNS, 5), async () => (await time(() => source.sync())).ms);
  row('incremental fetch of one new commit (2 files), diff and read', incOurs, incCli, '< 200 ms');
  row('sync when nothing moved (one ref advertisement)', noop, undefined, '');

  // 3. StatusWriter on a branch of 10,000 session files.
  const statusUrl = server.createRepo('status');
  await cli(['push', '--quiet', statusUrl, 'HEAD:main'], work);
  const sessions: ManagedSession[] = Array.from({ length: FILES }, (_, k) => ({
    namespace: `ns-${k % NS}`,
    name: `restore-${k}`,
    source: { url, branch: 'main', commit: '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d', file: pathOf(k) },
    contentId: `cid${k}`,
    executions: [{ contentId: `cid${k}`, phase: 'Running', acceptedAt: '2026-11-29T03:00:00Z', startedAt: '2026-11-29T03:00:05Z' }],
    status: { phase: 'Running', totalHosts: 3, stats: [{ hostname: 'host-0', phase: 'Succeeded', duration: '12s' }] },
  }));
  const snap = (): StatusSnapshot => ({
    cluster: 'bench',
    source: { url, branch: 'main', commit: '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d' },
    sessions: sessions.map((s) => ({ ...s })),
  });
  const writer = new StatusWriter({ url: statusUrl, cacheDir: join(tmp, 'status-cache'), env: {} });
  const firstWrite = await time(() => writer.writeStatus(snap()));
  if (firstWrite.value.files.length !== FILES + 1) throw new Error(`first write wrote ${firstWrite.value.files.length} files`);
  let round = 0;
  const ten = await median(RUNS, async () => {
    round++;
    for (let j = 0; j < 10; j++) {
      const s = sessions[((round * 10 + j) * 97) % FILES]!;
      s.status = { ...s.status!, stats: [...s.status!.stats!, { hostname: `host-${round}`, phase: 'Succeeded', duration: '3s' }] };
    }
    const { ms: t, value } = await time(() => writer.writeStatus(snap()));
    if (value.files.length !== 11) throw new Error(`expected 11 files, wrote ${value.files.length}`);
    return t;
  });
  const unchanged = await median(RUNS, async () => {
    const { ms: t, value } = await time(() => writer.writeStatus(snap()));
    if (value.commit) throw new Error('a no-change cycle committed');
    return t;
  });
  const all = await median(RUNS, async (r) => {
    for (const s of sessions) s.status = { ...s.status!, phase: r % 2 ? 'Running' : 'Succeeded' };
    const { ms: t, value } = await time(() => writer.writeStatus(snap()));
    if (value.files.length !== FILES + 1) throw new Error(`expected ${FILES + 1} files, wrote ${value.files.length}`);
    return t;
  });
  row(`StatusWriter: first write of ${FILES.toLocaleString('en-US')} status files (orphan branch)`, firstWrite.ms, undefined, '');
  row(`StatusWriter: commit + push touching 10 of ${FILES.toLocaleString('en-US')} files`, ten, undefined, '< 1 s');
  row(`StatusWriter: commit + push touching all ${FILES.toLocaleString('en-US')} files`, all, undefined, '< 5 s');
  row('StatusWriter: cycle with no change (no commit, no push)', unchanged, undefined, '');

  const rss = process.resourceUsage().maxRSS / 1024;
  console.log(
    `\n## bench/git.ts: ${FILES.toLocaleString('en-US')} manifests, ${COMMITS.toLocaleString('en-US')} commits (pack ${(packBytes / 1e6).toFixed(1)} MB), loopback smart HTTP, median of ${RUNS}+ runs, Node ${process.version}\n`,
  );
  console.log('| operation | ours | git CLI | aim |');
  console.log('|---|---|---|---|');
  for (const [w, o, c, a] of results) console.log(`| ${w} | ${o} | ${c} | ${a} |`);
  console.log(`\npeak RSS of this process: ${Math.round(rss)} MB`);
} finally {
  await server.close();
  rmSync(tmp, { recursive: true, force: true });
}
