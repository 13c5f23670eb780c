// `restorectl controller` as a user runs it: against a kubeconfig, JSON logs, SIGTERM stops it.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { restorectl } from '../support/cli.ts';
import { startControllerProcess } from './controller-process.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

describe('restorectl controller', function () {
  this.timeout(90_000);

  it('--help says what it does, what it does not, and every option', async () => {
    const r = await restorectl(['controller', '--help']);
    assert.equal(r.code, 0);
    for (const s of ['--kubeconfig', '--namespace', '--agent-image', '--resync', '--concurrency', 'restorectl run', 'SIGTERM', 'kubectl apply'])
      assert.ok(r.stdout.includes(s), `help mentions ${s}`);
    assert.ok((await restorectl(['--help'])).stdout.includes('controller'));
  });

  it('refuses bad options with what is wrong, exit 2', async () => {
    const r = await restorectl(['controller', '--resync', 'often']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--resync "often" is not a duration/);
    const ns = await restorectl(['controller', '--namespace', 'Not_A_Namespace']);
    assert.equal(ns.code, 2);
    assert.match(ns.stderr, /--namespace "Not_A_Namespace" is not a namespace name/);
  });

  describe('against a cluster', () => {
    let t: TestSandbox;
    before(async () => {
      t = await startSandbox();
      assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    });
    after(() => t?.stop());

    it('drives a session created with kubectl, logs JSON lines, and stops cleanly on SIGTERM', async () => {
      const objs = [
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'hand' } },
        { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'repo-secret', namespace: 'hand' }, stringData: { RESTIC_PASSWORD: 'never-logged-password' } },
        {
          apiVersion: 'stash.appscode.com/v1alpha1',
          kind: 'Repository',
          metadata: { name: 'repo', namespace: 'hand' },
          spec: { backend: { local: { mountPath: '/repo', hostPath: { path: '/tmp/none' } }, storageSecretName: 'repo-secret' } },
        },
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'app', namespace: 'hand' },
          spec: {
            replicas: 0,
            selector: { matchLabels: { app: 'app' } },
            template: { metadata: { labels: { app: 'app' } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
          },
        },
        {
          apiVersion: 'stash.appscode.com/v1beta1',
          kind: 'RestoreSession',
          metadata: { name: 'by-hand', namespace: 'hand' },
          spec: {
            repository: { name: 'repo' },
            target: { alias: 'app', ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' }, rules: [{ paths: ['/data'] }] },
          },
        },
      ];
      const applied = await t.kubectl(['apply', '--server-side', '-f', '-'], objs.map((o) => stringify(o)).join('---\n'));
      assert.equal(applied.code, 0, applied.stderr);
      const ctl = await startControllerProcess(['--kubeconfig', t.kubeconfigPath, '--namespace', 'hand', '--resync', '5s'], { LOG_LEVEL: 'info' });
      try {
        const custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
        await eventually(
          async () =>
            ((await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'hand', name: 'by-hand' })) as RestoreSession).status?.phase ===
            'Running',
          30_000,
        );
      } finally {
        ctl.child.kill('SIGTERM');
      }
      assert.deepEqual(await ctl.exited, { code: 0, signal: null });
      const logs = ctl.logs();
      assert.ok(
        logs.every((l) => !('unparsed' in l) && typeof l['time'] === 'string' && l['component'] === 'controller'),
        JSON.stringify(logs),
      );
      const msgs = logs.map((l) => l['msg']);
      assert.equal(msgs[0], 'starting');
      assert.ok(msgs.includes('running'), msgs.join('\n'));
      // The reconcile under way when SIGTERM came ends (and may log) before 'stopped'.
      assert.equal(msgs.at(-1), 'stopped');
      assert.ok(msgs.indexOf('stopping') > msgs.indexOf('running'), msgs.join('\n'));
      assert.ok(
        logs.some((l) => l['namespace'] === 'hand' && l['name'] === 'by-hand' && /^New → Running/.test(String(l['msg']))),
        msgs.join('\n'),
      );
      assert.equal(logs[0]!['scope'], 'namespace hand');
      assert.ok(!JSON.stringify(logs).includes('never-logged-password'));
    });
  });
});
