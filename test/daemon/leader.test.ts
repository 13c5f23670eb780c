// Leader election: several replicas of the daemon against one sandbox (its coordination.k8s.io
// Leases), the real git server behind them. Only the Lease holder acts; a stopped leader hands
// over at once, a dead one after the lease duration; a replica that loses the Lease stops acting
// and ends with exit code 1; a push webhook to a standby reaches the leader; nothing is created
// twice through all of it.
import { sinkLogger } from '../../src/common/log.ts';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Daemon } from '../../src/daemon/daemon.ts';
import { CYCLE_REQUEST_ANNOTATION, LeaderElector, defaultLeaseNamespace } from '../../src/daemon/leader.ts';
import { DaemonMetrics } from '../../src/daemon/metrics.ts';
import { DaemonRunner } from '../../src/daemon/runner.ts';
import { GitSource } from '../../src/source/index.ts';
import { StatusWriter, readLedger } from '../../src/status/index.ts';
import { eventually } from '../support/sandbox.ts';
import { example, startFixture } from './fixture.ts';
import type { Fixture } from './fixture.ts';

/** Short, so the test does not wait 15 s per takeover; renewals every 2 s, a 4 s renew deadline. */
const LEASE_MS = 6_000;
const LEASE = { namespace: 'default', name: 'restore-controller' };
const SECRET = 'leader-test-secret';

interface Replica {
  name: string;
  runner: DaemonRunner;
  elector: LeaderElector;
  metrics: DaemonMetrics;
  /** How many times this replica built its Daemon (read the ledger and started acting). */
  started: number;
  logs: string[];
}

describe('leader election', function () {
  this.timeout(180_000);
  let f: Fixture;
  const replicas: Replica[] = [];
  /** Every object any replica created: `kind ns/name`. */
  const created: string[] = [];
  /** Samples of how many electors believed they led, taken all along. */
  let maxLeaders = 0;
  let sampler: NodeJS.Timeout;

  const lease = () => f.coordination.readNamespacedLease(LEASE);
  const leaders = () => replicas.filter((r) => r.elector.isLeader);

  async function replica(name: string): Promise<Replica> {
    const logs: string[] = [];
    const log = sinkLogger(({ level, msg }) => logs.push(`${level} ${msg}`));
    const metrics = new DaemonMetrics({ defaultMetrics: false });
    const elector = new LeaderElector({ kubeConfig: f.t.kc, ...LEASE, identity: name, leaseDurationMs: LEASE_MS, log });
    const cacheDir = join(f.git.tmp, `cache-${name}`);
    const r: Replica = { name, elector, metrics, started: 0, logs, runner: undefined as unknown as DaemonRunner };
    r.runner = new DaemonRunner({
      log,
      metrics,
      elector,
      metricsAddr: { host: '127.0.0.1', port: 0 },
      webhook: { addr: { host: '127.0.0.1', port: 0 }, secret: SECRET, follow: { branch: 'main' } },
      createDaemon: async (hooks) => {
        r.started++;
        return new Daemon({
          source: hooks.observeSource(new GitSource({ url: f.url, branch: 'main', path: 'clusters/demo', cacheDir: join(cacheDir, 'source') })),
          statusWriter: new StatusWriter({ url: f.url, cacheDir: join(cacheDir, 'status') }),
          ledger: await readLedger({ url: f.url, cluster: 'demo', cacheDir: join(cacheDir, `ledger-${r.started}`) }),
          kubeConfig: f.t.kc,
          cluster: 'demo',
          controller: { agent: { image: 'restorectl:test' }, pollMs: 50 },
          intervalMs: 3_600_000,
          observer: {
            ...hooks.observer,
            cycleDone: (report, seconds) => {
              hooks.observer.cycleDone?.(report, seconds);
              for (const a of report.applied) if (a.ok && a.action.action === 'create') created.push(`${a.action.kind} ${a.action.namespace}/${a.action.name}`);
            },
          },
          log,
        });
      },
    });
    replicas.push(r);
    await r.runner.start();
    return r;
  }

  before(async () => {
    f = await startFixture();
    sampler = setInterval(() => (maxLeaders = Math.max(maxLeaders, leaders().length)), 50);
  });
  after(async () => {
    clearInterval(sampler);
    for (const r of replicas) await r.runner.stop();
    await f?.close();
  });

  it('of two replicas, exactly one takes the Lease and acts; the other stands by, ready', async () => {
    const [a, b] = [await replica('replica-a'), await replica('replica-b')];
    const leader = await eventually(() => leaders()[0], 30_000);
    await eventually(() => leader.runner.daemon && leader.runner.health.readiness().ready, 30_000);
    const standby = leader === a ? b : a;
    assert.equal(leader.started, 1);
    assert.equal(standby.started, 0, 'a standby builds no daemon: it lists, creates and reconciles nothing');
    assert.equal((await lease()).spec?.holderIdentity, leader.name);
    // As a real API server parses them: MicroTime, exactly six fractional digits.
    const raw = (await (
      await fetch(`${f.t.kc.getCurrentCluster()!.server}/apis/coordination.k8s.io/v1/namespaces/default/leases/restore-controller`)
    ).json()) as { spec: Record<string, unknown> };
    for (const field of ['acquireTime', 'renewTime']) assert.match(String(raw.spec[field]), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, field);
    assert.equal(raw.spec['leaseDurationSeconds'], 6);
    assert.deepEqual(created.sort(), ['Repository demo/local-repo', 'RestoreSession demo/sts-restore']);
    for (const r of [a, b]) {
      const ready = await fetch(r.runner.metricsServer!.url + '/readyz');
      assert.equal(ready.status, 200, `${r.name} is ready (${await ready.text()})`);
      const m = await fetch(r.runner.metricsServer!.url + '/metrics').then((x) => x.text());
      assert.match(m, new RegExp(`^restore_controller_leader ${r === leader ? 1 : 0}$`, 'm'));
    }
  });

  it('a push webhook that reaches the standby runs a cycle on the leader (relayed through the Lease)', async () => {
    const standby = replicas.find((r) => !r.elector.isLeader)!;
    f.work.write({ 'clusters/demo/deployment-restore.yaml': example('deployment-restore.yaml') }).commit('Add the Deployment restore');
    f.work.push();
    const body = JSON.stringify({ ref: 'refs/heads/main', after: f.work.head() });
    const r = await fetch(standby.runner.webhookServer!.url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      },
    });
    assert.equal(r.status, 202);
    // The interval is an hour: only the relayed push can make the leader create it.
    await eventually(async () => (await f.sessions('demo')).some((s) => s.metadata.name === 'deployment-restore'), 60_000, 200);
    assert.ok((await lease()).metadata?.annotations?.[CYCLE_REQUEST_ANNOTATION]);
    assert.equal(standby.started, 0, 'the standby still acts on nothing');
    assert.ok(leaders()[0]!.logs.some((l) => /a standby relayed a push webhook/.test(l)));
  });

  it('a leader stopped by SIGTERM releases the Lease: the standby takes over and creates nothing twice', async () => {
    const [leader] = leaders();
    const standby = replicas.find((r) => r !== leader)!;
    const uids = new Map((await f.sessions('demo')).map((s) => [s.metadata.name, s.metadata.uid]));
    await leader!.runner.stop('SIGTERM received');
    assert.deepEqual(await leader!.runner.exited, { code: 0, reason: 'SIGTERM received' });
    await assert.rejects(fetch(leader!.runner.metricsServer!.url + '/healthz'), 'its servers are closed');
    await eventually(() => standby.elector.isLeader, 30_000);
    await eventually(() => standby.runner.daemon && standby.runner.health.readiness().ready, 60_000);
    assert.equal(standby.started, 1);
    assert.ok(standby.logs.some((l) => /acquired Lease default\/restore-controller/.test(l)));
    assert.ok(!standby.logs.some((l) => /stopped renewing/.test(l)), 'it did not have to wait for the Lease to expire');
    assert.deepEqual(new Map((await f.sessions('demo')).map((s) => [s.metadata.name, s.metadata.uid])), uids, 'the same sessions, not re-created');
    assert.equal(created.filter((c) => c.startsWith('RestoreSession')).length, 2, created.join(', '));
  });

  it('a leader that dies without releasing: the standby takes over once the Lease has not been renewed for its duration', async () => {
    const [leader] = leaders();
    const standby = await replica('replica-c');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(standby.elector.isLeader, false, 'the Lease is held and renewed');
    const transitions = (await lease()).spec?.leaseTransitions ?? 0;
    // A crash, as far as the others can tell: no more renewals, no release.
    leader!.elector.stop();
    leader!.runner.daemon!.stop();
    await eventually(() => standby.elector.isLeader, 60_000, 100);
    assert.ok(
      standby.logs.some((l) => /replica-b stopped renewing Lease default\/restore-controller for 6s; taking over/.test(l)),
      standby.logs.join('\n'),
    );
    const after = await lease();
    assert.equal(after.spec?.holderIdentity, 'replica-c');
    assert.equal(after.spec?.leaseTransitions, transitions + 1);
    await eventually(() => standby.runner.health.readiness().ready, 60_000);
    assert.equal(created.filter((c) => c.startsWith('RestoreSession')).length, 2, `still nothing created twice: ${created.join(', ')}`);
  });

  it('a leader that loses the Lease stops acting at once and exits with code 1', async () => {
    const [leader] = leaders();
    assert.equal(leader!.name, 'replica-c');
    const held = await lease();
    // Another holder takes the Lease (as after a partition that outlasted the lease duration).
    await f.coordination.replaceNamespacedLease({
      ...LEASE,
      body: {
        ...held,
        spec: {
          ...held.spec,
          holderIdentity: 'intruder',
          renewTime: new k8s.V1MicroTime(),
          ...(held.spec?.acquireTime ? { acquireTime: new k8s.V1MicroTime(held.spec.acquireTime) } : {}),
        },
      },
    });
    const exit = await leader!.runner.exited;
    assert.equal(exit.code, 1);
    assert.match(exit.reason, /^lost the leader Lease: intruder holds Lease default\/restore-controller now$/);
    assert.equal(leader!.elector.isLeader, false);
    await assert.rejects(fetch(leader!.runner.metricsServer!.url + '/healthz'), 'its servers are closed');
    assert.ok(leader!.logs.some((l) => /^error exiting: lost the leader Lease/.test(l)));
    assert.equal((await lease()).spec?.holderIdentity, 'intruder', 'and it does not release what it no longer holds');
  });

  it('never had two leaders at once', () => {
    assert.equal(maxLeaders, 1);
  });

  it('defaults the Lease namespace to POD_NAMESPACE, then the service account\'s, then "default"', () => {
    assert.equal(defaultLeaseNamespace({ POD_NAMESPACE: 'restore-controller' }, '/nonexistent'), 'restore-controller');
    assert.equal(defaultLeaseNamespace({}, '/nonexistent'), 'default');
  });
});
