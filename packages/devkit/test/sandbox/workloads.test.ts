// The workload simulator: StatefulSets, Deployments, DaemonSets, Jobs, claims and snapshots,
// pod status as a kubelet reports it, and agent-image containers run as real processes.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Obj, StoreEvent } from '../../src/sandbox/store.ts';
import { startSandbox, eventually } from '../../../../test/support/sandbox.ts';
import type { TestSandbox } from '../../../../test/support/sandbox.ts';

const AGENT = 'ghcr.io/restore-controller/restorectl';
const FAKE_AGENT = fileURLToPath(new URL('./fixtures/fake-agent.mjs', import.meta.url));

const sts = (replicas = 3): string => `apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: demo}
spec:
  replicas: ${replicas}
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
      - name: db
        image: postgres:16
        volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
  volumeClaimTemplates:
  - metadata: {name: data}
    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`;

describe('workload simulator', function () {
  this.timeout(30_000);
  let t: TestSandbox;
  const get = (plural: string, name: string, group = ''): Obj | undefined => t.sandbox.core.tryGet(t.sandbox.core.mustResource(group, plural), 'demo', name);
  const pods = (prefix: string): Obj[] => t.sandbox.store.list('pods', 'demo').filter((p) => p.metadata.name.startsWith(prefix));
  const running = (prefix: string, n: number): boolean => {
    const ps = pods(prefix).filter((p) => !p.metadata.deletionTimestamp);
    return (
      ps.length === n &&
      ps.every(
        (p) => p.status?.phase === 'Running' && p.status.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True'),
      )
    );
  };
  const apply = async (yaml: string): Promise<void> => {
    const r = await t.kubectl(['apply', '--server-side', '-f', '-'], yaml);
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    t = await startSandbox({
      nodes: 3,
      gracefulPodDeletion: true,
      agentImage: `${AGENT}:test`,
      agentCommand: [process.execPath, FAKE_AGENT],
      timing: { crashLoopBaseMs: 100, crashLoopMaxMs: 400, simulatedRunMs: 50 },
    });
    await apply(
      'apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: restic, namespace: demo}\nstringData: {RESTIC_PASSWORD: s3cret}\n',
    );
  });
  after(() => t?.stop());

  it('a StatefulSet of 3 gets 3 Running pods, in order, with bound claims as folders', async () => {
    const added: string[] = [];
    const onEvent = (e: StoreEvent): void => {
      if (e.resource === 'pods' && e.type === 'ADDED') added.push(e.object.metadata.name);
    };
    t.sandbox.store.on('event', onEvent);
    await apply(sts());
    await eventually(() => running('db-', 3), 10_000);
    t.sandbox.store.off('event', onEvent);
    assert.deepEqual(added, ['db-0', 'db-1', 'db-2']);
    for (let i = 0; i < 3; i++) {
      const pvc = get('persistentvolumeclaims', `data-db-${i}`)!;
      assert.equal(pvc.status.phase, 'Bound');
      assert.ok(existsSync(join(t.dir, 'volumes', 'demo', `data-db-${i}`)));
    }
    const status = await t.kubectl(['rollout', 'status', 'statefulset/db', '-n', 'demo', '--timeout=10s']);
    assert.equal(status.code, 0, status.stderr);
    const table = await t.kubectl(['get', 'pods', '-n', 'demo']);
    assert.match(table.stdout, /db-0\s+1\/1\s+Running\s+0/);
    const nodes = new Set(pods('db-').map((p) => p.spec.nodeName));
    assert.ok([...nodes].every((n) => /^node-[0-2]$/.test(n)));
  });

  it('adding an agent init-container rolls the pods in order and runs it for real in each', async () => {
    const deleted: string[] = [];
    const onEvent = (e: StoreEvent): void => {
      if (e.resource === 'pods' && e.type === 'DELETED') deleted.push(e.object.metadata.name);
    };
    t.sandbox.store.on('event', onEvent);
    const patch = {
      spec: {
        template: {
          spec: {
            initContainers: [
              {
                name: 'stash-init',
                image: `${AGENT}:test`,
                args: ['var/lib/postgresql/data/restored.json', '0'],
                env: [
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
                  { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                  { name: 'RESTIC_PASSWORD', valueFrom: { secretKeyRef: { name: 'restic', key: 'RESTIC_PASSWORD' } } },
                ],
                volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
              },
            ],
          },
        },
      },
    };
    const p = await t.kubectl(['patch', 'statefulset', 'db', '-n', 'demo', '--type=strategic', '-p', JSON.stringify(patch)]);
    assert.equal(p.code, 0, p.stderr);
    await eventually(() => running('db-', 3) && pods('db-').every((x) => x.spec.initContainers?.length === 1), 20_000);
    t.sandbox.store.off('event', onEvent);
    assert.deepEqual(deleted, ['db-2', 'db-1', 'db-0'], 'rolled from the highest ordinal down');
    for (let i = 0; i < 3; i++) {
      const pod = get('pods', `db-${i}`)!;
      const init = pod.status.initContainerStatuses[0];
      assert.equal(init.name, 'stash-init');
      assert.equal(init.state.terminated.exitCode, 0);
      assert.equal(init.state.terminated.reason, 'Completed');
      const written = JSON.parse(readFileSync(join(t.dir, 'volumes', 'demo', `data-db-${i}`, 'restored.json'), 'utf8'));
      assert.deepEqual(written, { pod: `db-${i}`, node: pod.spec.nodeName, password: 's3cret', ip: pod.status.podIP, kubeconfig: t.kubeconfigPath });
    }
    const logs = await t.kubectl(['logs', 'db-1', '-n', 'demo', '-c', 'stash-init']);
    assert.match(logs.stdout, /fake agent wrote .*restored\.json/, logs.stderr);
    const sset = get('statefulsets', 'db', 'apps')!;
    assert.equal(sset.status.updatedReplicas, 3);
    assert.equal(sset.status.currentRevision, sset.status.updateRevision);
  });

  it('kubectl scale and rollout restart drive the StatefulSet', async () => {
    const scaled = await t.kubectl(['scale', 'statefulset', 'db', '-n', 'demo', '--replicas=2']);
    assert.equal(scaled.code, 0, scaled.stderr);
    await eventually(() => running('db-', 2) && !get('pods', 'db-2'), 10_000);
    assert.equal(get('persistentvolumeclaims', 'data-db-2')?.status.phase, 'Bound', 'claims stay after a scale-down');
    const before = get('pods', 'db-0')!.metadata.uid;
    const restarted = await t.kubectl(['rollout', 'restart', 'statefulset/db', '-n', 'demo']);
    assert.equal(restarted.code, 0, restarted.stderr);
    await eventually(() => running('db-', 2) && get('pods', 'db-0')!.metadata.uid !== before, 15_000);
    const status = await t.kubectl(['rollout', 'status', 'statefulset/db', '-n', 'demo', '--timeout=10s']);
    assert.equal(status.code, 0, status.stderr);
  });

  it('refuses pod spec changes a real API server refuses, allows an image change', async () => {
    const bad = await t.kubectl(['patch', 'pod', 'db-0', '-n', 'demo', '-p', '{"spec":{"restartPolicy":"Never"}}']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /is invalid: spec: Forbidden: pod updates may not change fields/);
    const ok = await t.kubectl(['set', 'image', 'pod/db-0', '-n', 'demo', 'db=postgres:17']);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('a failing agent init-container shows its exit code and goes into CrashLoopBackOff', async () => {
    await apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: crashy, namespace: demo}
spec:
  replicas: 1
  selector: {matchLabels: {app: crashy}}
  template:
    metadata: {labels: {app: crashy}}
    spec:
      initContainers: [{name: stash-init, image: "${AGENT}:test", args: [tmp/x, "3"]}]
      containers: [{name: app, image: nginx:1}]
`);
    const pod = await eventually(() => pods('crashy-').find((p) => (p.status?.initContainerStatuses?.[0]?.restartCount ?? 0) >= 2), 10_000);
    const init = pod.status.initContainerStatuses[0];
    assert.equal(init.lastState.terminated.exitCode, 3);
    assert.equal(init.lastState.terminated.reason, 'Error');
    assert.equal(pod.status.phase, 'Pending');
    const table = await t.kubectl(['get', 'pods', '-n', 'demo', pod.metadata.name]);
    assert.match(table.stdout, /Init:(CrashLoopBackOff|Error|ExitCode:3|0\/1)/);
  });

  it('a Deployment gets its replicas, a DaemonSet one pod per node', async () => {
    await apply(`apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx:1}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: demo}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: busybox:1}]}
`);
    await eventually(() => running('web-', 2) && running('agent-', 3), 10_000);
    await eventually(() => get('deployments', 'web', 'apps')!.status.readyReplicas === 2);
    const rollout = await t.kubectl(['rollout', 'status', 'deployment/web', '-n', 'demo', '--timeout=10s']);
    assert.equal(rollout.code, 0, rollout.stderr);
    const ds = await t.kubectl(['rollout', 'status', 'daemonset/agent', '-n', 'demo', '--timeout=10s']);
    assert.equal(ds.code, 0, ds.stderr);
    await eventually(() => get('daemonsets', 'agent', 'apps')!.status.numberReady === 3);
    assert.equal(get('daemonsets', 'agent', 'apps')!.status.desiredNumberScheduled, 3);
    assert.deepEqual(
      pods('agent-')
        .map((p) => p.spec.nodeName)
        .sort(),
      ['node-0', 'node-1', 'node-2'],
    );
  });

  it('Jobs complete, or fail after backoffLimit retries', async () => {
    await apply(`apiVersion: batch/v1
kind: Job
metadata: {name: ok, namespace: demo}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: c, image: busybox:1}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: bad, namespace: demo}
spec:
  backoffLimit: 1
  template:
    spec: {restartPolicy: Never, containers: [{name: c, image: "${AGENT}:test", args: [tmp/x, "1"]}]}
`);
    const ok = (await eventually(() => {
      const j = get('jobs', 'ok', 'batch');
      return j?.status?.succeeded === 1 && j;
    }, 10_000)) as Obj;
    assert.ok(ok.status.conditions.some((c: { type: string; status: string }) => c.type === 'Complete' && c.status === 'True'));
    const bad = (await eventually(() => {
      const j = get('jobs', 'bad', 'batch');
      return j?.status?.conditions?.some((c: { type: string }) => c.type === 'Failed') && j;
    }, 10_000)) as Obj;
    assert.equal(bad.status.failed, 2);
    const failedPod = pods('bad-')[0]!;
    assert.equal(failedPod.status.phase, 'Failed');
    assert.equal(failedPod.status.containerStatuses[0].state.terminated.exitCode, 1);
    const wait = await t.kubectl(['wait', '--for=condition=complete', 'job/ok', '-n', 'demo', '--timeout=5s']);
    assert.equal(wait.code, 0, wait.stderr);
  });

  it('a claim whose dataSource is a VolumeSnapshot starts as a copy of the snapshot', async () => {
    writeFileSync(join(t.dir, 'volumes', 'demo', 'data-db-0', 'marker.txt'), 'from db-0\n');
    await apply(`apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: snap, namespace: demo}
spec: {source: {persistentVolumeClaimName: data-db-0}}
`);
    await eventually(() => get('volumesnapshots', 'snap', 'snapshot.storage.k8s.io')?.status?.readyToUse === true);
    await apply(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: restored, namespace: demo}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
  dataSource: {apiGroup: snapshot.storage.k8s.io, kind: VolumeSnapshot, name: snap}
`);
    await eventually(() => get('persistentvolumeclaims', 'restored')?.status?.phase === 'Bound');
    assert.equal(readFileSync(join(t.dir, 'volumes', 'demo', 'restored', 'marker.txt'), 'utf8'), 'from db-0\n');
  });

  it('a claim of a WaitForFirstConsumer StorageClass binds when a pod using it is scheduled', async () => {
    await apply(`apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: late}
provisioner: sandbox.restore.gitops
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: late-claim, namespace: demo}
spec: {storageClassName: late, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(get('persistentvolumeclaims', 'late-claim')!.status.phase, 'Pending');
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: consumer, namespace: demo}
spec:
  containers: [{name: c, image: busybox:1, volumeMounts: [{name: d, mountPath: /d}]}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: late-claim}}]
`);
    await eventually(() => get('pods', 'consumer')?.status?.phase === 'Running');
    const pvc = get('persistentvolumeclaims', 'late-claim')!;
    assert.equal(pvc.status.phase, 'Bound');
    assert.equal(pvc.metadata.annotations['volume.kubernetes.io/selected-node'], get('pods', 'consumer')!.spec.nodeName);
    // Deleting a pod makes it Terminating first; the kubelet removes it once its containers stopped.
    const deleting = t.sandbox.core.delete(t.sandbox.core.mustResource('', 'pods'), 'demo', 'consumer');
    assert.ok(deleting.metadata.deletionTimestamp);
    assert.ok(get('pods', 'consumer')?.metadata.deletionTimestamp);
    await eventually(() => !get('pods', 'consumer'));
  });
});

describe('workload simulator with the real CLI as the agent program', function () {
  this.timeout(30_000);
  it('runs `node bin/restorectl.js <args>` for an agent-image container, exit code and output included', async () => {
    const t = await startSandbox({ timing: { crashLoopBaseMs: 100, crashLoopMaxMs: 400, simulatedRunMs: 50 } });
    try {
      const job = (name: string, args: string[]): string => `apiVersion: batch/v1
kind: Job
metadata: {name: ${name}, namespace: default}
spec:
  backoffLimit: 0
  template:
    spec: {restartPolicy: Never, containers: [{name: agent, image: "${AGENT}:v0.1.0", args: ${JSON.stringify(args)}}]}
`;
      const r = await t.kubectl(['apply', '-f', '-'], job('help', ['--help']) + '---\n' + job('unknown', ['no-such-command']));
      assert.equal(r.code, 0, r.stderr);
      const core = t.sandbox.core;
      const podOf = (j: string): Obj | undefined =>
        t.sandbox.store.list('pods', 'default').find((p) => p.metadata.labels?.['job-name'] === j && ['Succeeded', 'Failed'].includes(p.status?.phase));
      const help = await eventually(() => podOf('help'), 20_000);
      assert.equal(help.status.phase, 'Succeeded');
      const logs = await t.kubectl(['logs', help.metadata.name]);
      assert.match(logs.stdout, /restorectl: GitOps for Kubernetes restores/);
      const unknown = await eventually(() => podOf('unknown'), 20_000);
      assert.equal(unknown.status.containerStatuses[0].state.terminated.exitCode, 2);
      await eventually(() => core.tryGet(core.mustResource('batch', 'jobs'), 'default', 'unknown')?.status?.failed === 1);
    } finally {
      await t.stop();
    }
  });
});
