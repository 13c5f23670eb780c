// The daemon stays responsive while it validates a big (or hostile) source (issue 17): the loader
// gives the event loop a turn every few milliseconds, so /healthz is answered while the files are
// still being parsed, and a stop (SIGTERM) ends the validation under way instead of waiting for it.
// Orders of events are asserted, never durations.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '../../src/common/log.ts';
import { Daemon } from '../../src/daemon/daemon.ts';
import type { DaemonObserver } from '../../src/daemon/daemon.ts';
import { DaemonMetrics } from '../../src/daemon/metrics.ts';
import { DaemonRunner } from '../../src/daemon/runner.ts';
import { LocalSource } from '../../src/source/index.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

/** 40 RestoreSessions per file, each with an unknown field (an error diagnostic each). */
const bigFile = (n: number) =>
  Array.from(
    { length: 40 },
    (_, i) =>
      `apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata:\n  name: s-${n}-${i}\n  namespace: demo\nspec:\n  repository:\n    name: repo\n  tagetHosts: [a, b, c]\n  target:\n    rules:\n      - paths: [/data/${i}]\n`,
  ).join('---\n');

describe('daemon: responsive while validating a big source', function () {
  this.timeout(120_000);
  let t: TestSandbox;
  let dir: string;

  before(async () => {
    t = await startSandbox({ simulate: false });
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    dir = mkdtempSync(join(tmpdir(), 'responsive-'));
    mkdirSync(join(dir, 'many'));
    for (let n = 0; n < 100; n++) writeFileSync(join(dir, 'many', `f-${n}.yaml`), bigFile(n));
  });
  after(async () => {
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const runnerWith = (observe: DaemonObserver) =>
    new DaemonRunner({
      log: nullLogger,
      metrics: new DaemonMetrics({ defaultMetrics: false }),
      metricsAddr: { host: '127.0.0.1', port: 0 },
      createDaemon: async (hooks) =>
        new Daemon({
          source: hooks.observeSource(new LocalSource({ dir })),
          kubeConfig: t.kc,
          cluster: 'demo',
          controller: { agent: { image: 'restorectl:test' }, watch: false },
          intervalMs: 3_600_000,
          observer: { ...hooks.observer, ...observe },
        }),
    });

  it('answers /healthz while the source is still being validated', async () => {
    const events: string[] = [];
    let answered: Promise<void> | undefined;
    let runner: DaemonRunner | undefined;
    runner = runnerWith({
      step: (step, state) => {
        events.push(`${step} ${state}`);
        if (state === 'start')
          answered = fetch(`${runner!.metricsServer!.url}/healthz`).then(async (r) => {
            events.push(`healthz ${r.status}`);
          });
      },
    });
    const started = runner.start();
    try {
      await eventually(() => events.includes('validate end'), 90_000, 50);
      await answered;
      assert.deepEqual(events, ['validate start', 'healthz 200', 'validate end']);
    } finally {
      await started;
      await runner.stop();
    }
  });

  it('a stop during validation ends it: the validation never finishes, and the runner exits', async () => {
    const events: string[] = [];
    const runner = runnerWith({ step: (step, state) => events.push(`${step} ${state}`) });
    const started = runner.start();
    await eventually(() => events.includes('validate start'), 60_000, 5);
    await runner.stop('SIGTERM received');
    events.push('stopped');
    await started;
    assert.deepEqual((await runner.exited).code, 0);
    assert.deepEqual(events, ['validate start', 'stopped']);
  });
});
