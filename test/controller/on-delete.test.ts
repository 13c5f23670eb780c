// StatefulSets and DaemonSets with `updateStrategy: OnDelete` never roll onto an injected template,
// so their session stayed Running for ever (issue 18 §1): the controller switches them to
// RollingUpdate for the restore and puts their own strategy back once the session is final.
import assert from 'node:assert/strict';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import * as k8s from '@kubernetes/client-node';
import { eventually } from '../support/sandbox.ts';
import { ownStrategyBack, rollingForRestore } from '../../src/controller/executors/init-container.ts';
import type { KubeObject } from '../../src/api/index.ts';
import { useSessionSandbox } from './session-sandbox.ts';

describe('controller: workloads that update OnDelete', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('on-delete');
  const sts = () => h.apps.readNamespacedStatefulSet({ namespace: h.ns, name: 'recovered-statefulset' });

  it('switches an OnDelete StatefulSet to RollingUpdate for the restore, so its pods roll, and puts OnDelete back once the session is final', async () => {
    const patched = await h.t.kubectl([
      'patch',
      'statefulset',
      'recovered-statefulset',
      '-n',
      h.ns,
      '--type=merge',
      '-p',
      '{"spec":{"updateStrategy":{"type":"OnDelete","rollingUpdate":null}}}',
    ]);
    assert.equal(patched.code, 0, patched.stderr);
    await h.apply(h.session('sts-restore.yaml'));
    await h.reconcile('sts-restore');
    const during = await sts();
    assert.equal(during.spec!.updateStrategy!.type, 'RollingUpdate');
    assert.equal(during.spec!.updateStrategy!.rollingUpdate?.partition ?? 0, 0, 'every pod rolls');
    assert.equal(during.spec!.template.spec!.initContainers![0]!.name, 'stash-init');
    assert.ok(
      (await h.events('recovered-statefulset')).some((e) => /updateStrategy OnDelete is RollingUpdate until the restore is over/.test(e.message ?? '')),
    );
    // The pods roll onto the injected template (the highest ordinal first).
    await eventually(async () => {
      const pod = await h.core.readNamespacedPod({ namespace: h.ns, name: 'recovered-statefulset-4' }).catch(() => undefined);
      return pod?.spec?.initContainers?.some((c) => c.name === 'stash-init');
    }, 30_000);

    const s = await h.get('sts-restore');
    const stats = [0, 1, 2, 3, 4].map((i) => ({ hostname: `my-sts-${i}`, phase: 'Succeeded' }));
    await h.t.kc
      .makeApiClient(k8s.CustomObjectsApi)
      .replaceNamespacedCustomObjectStatus({ ...RESTORE_SESSIONS, namespace: h.ns, name: 'sts-restore', body: { ...s, status: { ...s.status, stats } } });
    await h.reconcile('sts-restore');
    assert.equal((await h.get('sts-restore')).status?.phase, 'Succeeded');
    const after = await sts();
    assert.deepEqual(JSON.parse(JSON.stringify(after.spec!.updateStrategy)), { type: 'OnDelete' });
    assert.equal(after.metadata!.annotations?.['restore.gitops/original-update-strategy'], undefined);
    assert.equal(after.spec!.template.spec!.initContainers![0]!.name, 'stash-init', 'the template is untouched: nothing rolls again');
  });

  it('does the same for an OnDelete DaemonSet, and puts it back when the session is deleted before it is final', async () => {
    await h.apply({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'node-agent', namespace: h.ns },
      spec: {
        selector: { matchLabels: { app: 'node-agent' } },
        updateStrategy: { type: 'OnDelete' },
        template: {
          metadata: { labels: { app: 'node-agent' } },
          spec: {
            containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'source-data', mountPath: '/source/data' }] }],
            volumes: [{ name: 'source-data', emptyDir: {} }],
          },
        },
      },
    });
    const s = h.session('deployment-restore.yaml', 'ds-restore');
    s.spec.target!.ref = { apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'node-agent' };
    delete s.spec.hooks;
    await h.apply(s);
    await h.reconcile('ds-restore');
    const ds = () => h.apps.readNamespacedDaemonSet({ namespace: h.ns, name: 'node-agent' });
    assert.equal((await ds()).spec!.updateStrategy!.type, 'RollingUpdate');
    assert.equal((await h.t.kubectl(['delete', 'restoresession', 'ds-restore', '-n', h.ns, '--wait=false'])).code, 0);
    await h.reconcile('ds-restore');
    const after = await ds();
    assert.deepEqual(JSON.parse(JSON.stringify(after.spec!.updateStrategy)), { type: 'OnDelete' });
    assert.equal(after.spec!.template.spec!.initContainers, undefined);
  });
});

describe('OnDelete switch, across sessions', () => {
  it('a second session replacing the injection takes the switch over: the first one ending does not put OnDelete back', () => {
    const sts = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'demo' },
      spec: { updateStrategy: { type: 'OnDelete' } },
    } as KubeObject;
    const byA = rollingForRestore(sts, 'demo/a');
    const byB = rollingForRestore(byA, 'demo/b');
    assert.equal(ownStrategyBack(byB, 'demo/a'), byB, 'a is no longer the one to put it back');
    const back = ownStrategyBack(byB, 'demo/b');
    assert.deepEqual(back['spec'], { updateStrategy: { type: 'OnDelete' } });
    assert.equal(back.metadata.annotations, undefined);
    const rolling = { ...sts, spec: { updateStrategy: { type: 'RollingUpdate' } } } as KubeObject;
    assert.equal(rollingForRestore(rolling, 'demo/a'), rolling, 'a RollingUpdate workload is left as it is');
  });
});
