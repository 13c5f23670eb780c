// /metrics, /healthz and /readyz of a running daemon, on the sandbox with the real git server:
// what a Prometheus scrape and the kubelet's probes see as cycles succeed and the remote fails.
import { sinkLogger } from '../../src/common/log.ts';
import assert from 'node:assert/strict';
import { renameSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { countApiErrors } from '../../src/daemon/api-errors.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import { Health } from '../../src/daemon/health.ts';
import { DaemonMetrics } from '../../src/daemon/metrics.ts';
import { DaemonRunner } from '../../src/daemon/runner.ts';
import { GitSource } from '../../src/source/index.ts';
import { StatusWriter, readLedger } from '../../src/status/index.ts';
import { eventually } from '../support/sandbox.ts';
import { example, startFixture } from './fixture.ts';
import type { Fixture } from './fixture.ts';

/** The value of one sample in a Prometheus text exposition, e.g. `name{label="v"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('health: readiness', () => {
  it('is not ready before a cycle planned, ready after, not ready while the source fails, ready again once it recovers', () => {
    const h = new Health();
    assert.deepEqual(h.readiness(), { ready: false, reason: 'no cycle has synced the source and planned yet' });
    h.sourceSynced(false, undefined, new Date('2026-11-29T03:00:00Z'));
    assert.deepEqual(h.readiness(), { ready: false, reason: 'git source failing since 2026-11-29T03:00:00Z (1 failed sync); no revision was fetched yet' });
    h.sourceSynced(true, '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d');
    h.cyclePlanned();
    assert.deepEqual(h.readiness(), { ready: true, reason: 'ok' });
    h.sourceSynced(false, undefined, new Date('2026-11-29T04:00:00Z'));
    h.sourceSynced(false, undefined, new Date('2026-11-29T04:01:00Z'));
    assert.deepEqual(h.readiness(), {
      ready: false,
      reason: 'git source failing since 2026-11-29T04:00:00Z (2 failed syncs); the last good revision 1a2b3c4d5e6f stays in force',
    });
    h.sourceSynced(true, '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d');
    assert.equal(h.readiness().ready, true);
  });

  it('a standby replica is ready whatever it has seen, so a rollout can proceed', () => {
    const h = new Health();
    h.role = 'standby';
    assert.deepEqual(h.readiness(), { ready: true, reason: 'standby: another replica holds the leader Lease' });
  });
});

describe('metrics server of a running daemon', function () {
  this.timeout(120_000);
  let f: Fixture;
  let runner: DaemonRunner;
  let metrics: DaemonMetrics;
  const logs: string[] = [];
  const get = async (path: string) => {
    const r = await fetch(runner.metricsServer!.url + path);
    return { status: r.status, text: await r.text(), type: r.headers.get('content-type') };
  };

  before(async () => {
    f = await startFixture();
    metrics = new DaemonMetrics();
    const kubeConfig = countApiErrors(f.t.kc, (code) => metrics.apiError(code));
    const cacheDir = join(f.git.tmp, 'metrics-cache');
    runner = new DaemonRunner({
      log: sinkLogger(({ level, msg }) => logs.push(`${level} ${msg}`)),
      metrics,
      metricsAddr: { host: '127.0.0.1', port: 0 },
      createDaemon: async (hooks) =>
        new Daemon({
          source: hooks.observeSource(new GitSource({ url: f.url, branch: 'main', path: 'clusters/demo', cacheDir: join(cacheDir, 'source') })),
          statusWriter: new StatusWriter({ url: f.url, cacheDir: join(cacheDir, 'status') }),
          ledger: await readLedger({ url: f.url, cluster: 'demo', cacheDir: join(cacheDir, 'ledger') }),
          kubeConfig,
          cluster: 'demo',
          controller: { agent: { image: 'restorectl:test' }, pollMs: 50 },
          intervalMs: 3_600_000,
          observer: hooks.observer,
          log: sinkLogger(({ level, msg }) => logs.push(`${level} ${msg}`)),
        }),
    });
    await runner.start();
  });
  after(async () => {
    await runner?.stop();
    await f?.close();
  });

  it('after the first cycle: /healthz 200, /readyz 200, and /metrics reports the cycle, the sessions, the fetch and the sync time', async () => {
    assert.deepEqual(await get('/healthz'), { status: 200, text: 'ok\n', type: 'text/plain; charset=utf-8' });
    assert.equal((await get('/readyz')).status, 200);
    const m = await get('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.type ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(m.text, 'restore_controller_cycles_total{result="success"}'), 1);
    assert.equal(sample(m.text, 'restore_controller_cycles_total{result="failure"}'), 0);
    assert.equal(sample(m.text, 'restore_controller_cycle_duration_seconds_count'), 1);
    assert.equal(sample(m.text, 'restore_controller_git_fetch_duration_seconds_count{result="success"}'), 1);
    assert.equal(sample(m.text, 'restore_controller_source_up'), 1);
    assert.equal(sample(m.text, 'restore_controller_leader'), 1);
    const last = sample(m.text, 'restore_controller_last_successful_sync_timestamp_seconds')!;
    assert.ok(Math.abs(last - Date.now() / 1000) < 600, `a recent Unix time: ${last}`);
    assert.ok(sample(m.text, 'process_resident_memory_bytes')! > 0, 'the process metrics are there too');
  });

  it('reports the managed sessions by phase as a cycle read them (the one that created a session may read the watch cache before its event)', async () => {
    const phases = await eventually(
      async () => {
        await runner.daemon!.trigger();
        const lines = (await get('/metrics')).text.split('\n').filter((l) => l.startsWith('restore_controller_sessions{'));
        return lines.reduce((n, l) => n + Number(l.split(' ')[1]), 0) === 1 ? lines : undefined;
      },
      30_000,
      200,
    );
    assert.equal(phases.length, 6, `every known phase is reported: ${phases.join(', ')}`);
    assert.ok(phases.includes('restore_controller_sessions{phase="Failed"} 0'), 'phases without sessions are reported as 0');
  });

  it('while the remote fails: /readyz 503 with the reason, the last good revision stays in force; ready again once it is back', async () => {
    const repo = f.git.server.repoPath('restores');
    const rev = runner.daemon!;
    renameSync(repo, repo + '.away');
    let report: Awaited<ReturnType<typeof rev.trigger>>;
    try {
      report = await rev.trigger();
    } finally {
      renameSync(repo + '.away', repo);
    }
    assert.equal(report.ok, false);
    assert.equal(report.commit, f.work.head(), 'the cycle ran on the last good revision');
    const r = await get('/readyz');
    assert.equal(r.status, 503);
    assert.match(
      r.text,
      new RegExp(`^git source failing since \\S+Z \\(1 failed sync\\); the last good revision ${f.work.head().slice(0, 12)} stays in force\\n$`),
    );
    assert.doesNotMatch(r.text, /http:|127\.0\.0\.1/, 'no URL in an unauthenticated answer');
    const m = (await get('/metrics')).text;
    assert.equal(sample(m, 'restore_controller_source_up'), 0);
    assert.equal(sample(m, 'restore_controller_git_fetch_duration_seconds_count{result="failure"}'), 1);
    assert.equal(sample(m, 'restore_controller_cycles_total{result="failure"}'), 1);
    assert.equal((await get('/healthz')).status, 200, 'alive all the same: a restart would not help');

    assert.equal((await rev.trigger()).commit, f.work.head());
    assert.deepEqual(await get('/readyz'), { status: 200, text: 'ok\n', type: 'text/plain; charset=utf-8' });
    assert.equal(sample((await get('/metrics')).text, 'restore_controller_source_up'), 1);
  });

  it('a source with an error: /readyz stays 200 and names the file, the metrics count diagnostics and decisions, the other files are applied', async () => {
    const broken = example('deployment-restore.yaml')
      .replace('name: deployment-restore', 'name: broken-restore')
      .replace(
        '    rules:\n      - paths:\n          - /source/data\n',
        '    rules:\n      - paths:\n          - /source/data\n      - paths:\n          - /source/data\n',
      );
    f.work
      .write({ 'clusters/demo/broken.yaml': broken, 'clusters/demo/deployment-restore.yaml': example('deployment-restore.yaml') })
      .commit('A good restore and a broken one');
    f.work.push();
    const report = await runner.daemon!.trigger();
    assert.deepEqual(
      report.applied.map((a) => `${a.action.action} ${a.action.name}`),
      ['create deployment-restore'],
    );
    const r = await get('/readyz');
    assert.equal(r.status, 200);
    assert.match(
      r.text,
      /^ok; the source has 1 error in clusters\/demo\/broken\.yaml: those manifests are not applied, the others are \(STATUS\.md lists the errors\)\n$/,
    );
    let m = (await get('/metrics')).text;
    assert.equal(sample(m, 'restore_controller_source_diagnostics{severity="error"}'), 1);
    assert.equal(sample(m, 'restore_controller_decisions{action="blocked",kind="RestoreSession"}'), 1);
    assert.equal(sample(m, 'restore_controller_decisions{action="create",kind="RestoreSession"}'), 1);
    assert.equal(sample(m, 'restore_controller_decisions{action="noop",kind="RestoreSession"}'), 1);

    f.work.remove('clusters/demo/broken.yaml').commit('Drop the broken restore');
    f.work.push();
    await runner.daemon!.trigger();
    assert.deepEqual(await get('/readyz'), { status: 200, text: 'ok\n', type: 'text/plain; charset=utf-8' });
    m = (await get('/metrics')).text;
    assert.equal(sample(m, 'restore_controller_source_diagnostics{severity="error"}'), 0);
    assert.equal(sample(m, 'restore_controller_decisions{action="blocked",kind="RestoreSession"}'), 0);
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    assert.equal((await get('/')).status, 404);
    assert.match((await get('/nope')).text, /answers \/metrics, \/healthz and \/readyz/);
    const post = await fetch(runner.metricsServer!.url + '/metrics', { method: 'POST' });
    assert.equal(post.status, 405);
  });

  it('counts Kubernetes API errors by status code, and requests that got no answer as "network"', async () => {
    const own = new DaemonMetrics({ defaultMetrics: false });
    const coordination = countApiErrors(f.t.kc, (code) => own.apiError(code)).makeApiClient(k8s.CoordinationV1Api);
    await assert.rejects(coordination.readNamespacedLease({ name: 'nobody', namespace: 'default' }), (e: { code?: number }) => e.code === 404);
    await coordination.listNamespacedLease({ namespace: 'default' });
    const dead = new k8s.KubeConfig();
    dead.loadFromOptions({
      clusters: [{ name: 'c', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
      users: [{ name: 'u' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    await assert.rejects(
      countApiErrors(dead, (code) => own.apiError(code))
        .makeApiClient(k8s.CoordinationV1Api)
        .listNamespacedLease({ namespace: 'default' }),
    );
    const text = await own.render();
    assert.equal(sample(text, 'restore_controller_api_errors_total{code="404"}'), 1);
    assert.equal(sample(text, 'restore_controller_api_errors_total{code="network"}'), 1);
    assert.equal(text.split('\n').filter((l) => l.startsWith('restore_controller_api_errors_total{')).length, 2, 'the successful list is not an error');
  });

  it('stop() closes the server', async () => {
    const url = runner.metricsServer!.url;
    await runner.stop();
    assert.deepEqual(await runner.exited, { code: 0, reason: 'stopping' });
    await assert.rejects(fetch(url + '/healthz'));
  });
});

describe('a daemon that cannot read the status branch when it starts', function () {
  this.timeout(120_000);
  let f: Fixture;
  let runner: DaemonRunner;
  const logs: string[] = [];

  before(async () => {
    f = await startFixture();
  });
  after(async () => {
    await runner?.stop();
    await f?.close();
  });

  it('keeps trying (not ready, saying why) and acts once the remote answers, instead of exiting', async () => {
    const repo = f.git.server.repoPath('restores');
    renameSync(repo, repo + '.away');
    const cacheDir = join(f.git.tmp, 'retry-cache');
    let attempts = 0;
    runner = new DaemonRunner({
      log: sinkLogger(({ level, msg }) => logs.push(`${level} ${msg}`)),
      metrics: new DaemonMetrics({ defaultMetrics: false }),
      metricsAddr: { host: '127.0.0.1', port: 0 },
      startRetryMs: 100,
      createDaemon: async (hooks) => {
        attempts++;
        return new Daemon({
          source: hooks.observeSource(new GitSource({ url: f.url, branch: 'main', path: 'clusters/demo', cacheDir: join(cacheDir, 'source') })),
          statusWriter: new StatusWriter({ url: f.url, cacheDir: join(cacheDir, 'status') }),
          ledger: await readLedger({ url: f.url, cluster: 'demo', cacheDir: join(cacheDir, `ledger-${attempts}`) }),
          kubeConfig: f.t.kc,
          cluster: 'demo',
          controller: { agent: { image: 'restorectl:test' }, watch: false },
          intervalMs: 3_600_000,
          observer: hooks.observer,
        });
      },
    });
    const started = runner.start();
    try {
      await eventually(() => attempts >= 2, 30_000);
      const r = await fetch(runner.metricsServer!.url + '/readyz');
      assert.equal(r.status, 503);
      assert.match(
        await r.text(),
        /^cannot start acting since \S+Z: reading the status branch or starting the controller fails \(the log says why\); retrying\n$/,
      );
      assert.ok(
        logs.some((l) => /^error cannot start acting .*; retrying in \d+s$/.test(l)),
        logs.join('\n'),
      );
      assert.equal((await f.sessions()).length, 0, 'nothing acts without the ledger');
    } finally {
      renameSync(repo + '.away', repo);
    }
    await started;
    await eventually(async () => (await fetch(runner.metricsServer!.url + '/readyz')).status === 200, 60_000, 100);
    assert.deepEqual(
      (await f.sessions('demo')).map((s) => s.metadata.name),
      ['sts-restore'],
    );
  });
});
