// The kube-apiserver engine, slice 3: its kubelet runs the pods the real scheduler binds to its
// nodes. Agent-image containers are processes with their pod's ServiceAccount token (a
// TokenRequest bound to the pod) and KUBERNETES_SERVICE_HOST/PORT; status is written as a
// kubelet writes it (init containers in order, exit codes, restarts, ErrImagePull).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rest } from '../../src/engine/rest.ts';
import { skipUnlessKubeEngine, startKubeEngine } from '../../src/engine/testing.ts';
import type { TestKubeEngine } from '../../src/engine/testing.ts';
import { REPO_ROOT, eventually } from '../../../../test/support/sandbox.ts';

const AGENT = 'ghcr.io/restore-controller/restorectl:test';
const FIXTURE = fileURLToPath(new URL('./fixtures/pod-agent.mjs', import.meta.url));
const NS = 'kubelet-test';

describe('kube-apiserver engine: kubelet', function () {
  this.timeout(240_000);
  let t: TestKubeEngine | undefined;
  let admin: Rest;
  before(async function () {
    skipUnlessKubeEngine(this);
    t = await startKubeEngine({
      nodes: 2,
      agentImage: AGENT,
      agentCommand: [process.execPath, FIXTURE],
      timing: { crashLoopBaseMs: 200, crashLoopMaxMs: 1000 },
    });
    admin = new Rest(t.kubeconfigPath);
    const setup = await t.kubectl(
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Namespace
metadata: {name: ${NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-pods, namespace: ${NS}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-pods, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-pods}
subjects: [{kind: ServiceAccount, name: default, namespace: ${NS}}]
`,
    );
    assert.equal(setup.code, 0, setup.stderr);
    const crds = await t.kubectl(['apply', '--server-side', '-f', join(REPO_ROOT, 'deploy/crds')]);
    assert.equal(crds.code, 0, crds.stderr);
    await eventually(() => admin.tryGet(`/api/v1/namespaces/${NS}/serviceaccounts/default`), 30_000, 200);
  });
  after(async () => t?.stop());

  const log = (pod: string, container: string): Record<string, any> | undefined => {
    const file = join(t!.dir, 'pods', NS, pod, 'containers', container, 'log');
    if (!existsSync(file)) return undefined;
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('{'));
    return line ? JSON.parse(line) : undefined;
  };

  it('runs a StatefulSet of 2 with the agent image: Running and Ready pods whose agents saw their token and could GET their own pod', async () => {
    const applied = await t!.kubectl(
      ['apply', '-f', '-'],
      `
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: ${NS}}
spec:
  replicas: 2
  serviceName: web
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
      - name: init
        image: ${AGENT}
        args: [exit, "0"]
        env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
      containers:
      - name: main
        image: ${AGENT}
        args: [sleep]
        env: [{name: POD_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]
      - name: sidecar
        image: busybox:1.36
`,
    );
    assert.equal(applied.code, 0, applied.stderr);
    const pods = await eventually(
      async () => {
        const list = await admin.get(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dweb`);
        const ready = list.items.filter(
          (p: any) => p.status.phase === 'Running' && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'),
        );
        return ready.length === 2 ? ready : undefined;
      },
      60_000,
      250,
    );
    for (const pod of pods) {
      const name = pod.metadata.name as string;
      assert.match(pod.spec.nodeName, /^node-[01]$/, 'bound by the real scheduler');
      assert.equal(pod.status.initContainerStatuses[0].state.terminated.exitCode, 0);
      assert.equal(pod.status.initContainerStatuses[0].state.terminated.reason, 'Completed');
      assert.ok(pod.status.containerStatuses.every((c: any) => c.ready && c.state.running));
      for (const c of ['init', 'main']) {
        const seen = await eventually(() => log(name, c), 10_000, 100);
        assert.equal(seen.host, '127.0.0.1');
        assert.equal(seen.port, new URL(t!.engine.url).port);
        assert.equal(seen.namespace, NS);
        assert.ok(seen.hasToken && seen.hasCa, JSON.stringify(seen));
        assert.deepEqual(seen.get, { status: 200, name, node: pod.spec.nodeName }, `${name}/${c}: ${JSON.stringify(seen)}`);
      }
    }
    const sts = await eventually(
      async () => {
        const s = await admin.get(`/apis/apps/v1/namespaces/${NS}/statefulsets/web`);
        return s.status.readyReplicas === 2 ? s : undefined;
      },
      30_000,
      250,
    );
    assert.equal(sts.status.replicas, 2);
  });

  it('gives no token when automountServiceAccountToken is false, reports exit codes, restarts and ErrImagePull', async () => {
    const applied = await t!.kubectl(
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Pod
metadata: {name: no-token, namespace: ${NS}}
spec:
  automountServiceAccountToken: false
  restartPolicy: Never
  containers: [{name: main, image: ${AGENT}, args: [exit, "3"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: crashing, namespace: ${NS}}
spec:
  restartPolicy: Always
  containers: [{name: main, image: ${AGENT}, args: [exit, "1"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: unpullable, namespace: ${NS}}
spec:
  containers: [{name: main, image: registry.invalid/nothing:1}]
`,
    );
    assert.equal(applied.code, 0, applied.stderr);
    const failed = await eventually(
      async () => {
        const p = await admin.get(`/api/v1/namespaces/${NS}/pods/no-token`);
        return p.status.phase === 'Failed' ? p : undefined;
      },
      60_000,
      250,
    );
    assert.equal(failed.status.containerStatuses[0].state.terminated.exitCode, 3);
    assert.equal(failed.status.containerStatuses[0].state.terminated.reason, 'Error');
    const seen = log('no-token', 'main')!;
    assert.equal(seen.hasToken, false);
    assert.equal(seen.kubeconfig, null);

    const crashing = await eventually(
      async () => {
        const p = await admin.get(`/api/v1/namespaces/${NS}/pods/crashing`);
        const c = p.status.containerStatuses?.[0];
        return c && c.restartCount >= 2 && c.lastState?.terminated?.exitCode === 1 ? p : undefined;
      },
      60_000,
      250,
    );
    assert.equal(crashing.status.phase, 'Running');

    const pull = await eventually(
      async () => {
        const p = await admin.get(`/api/v1/namespaces/${NS}/pods/unpullable`);
        const w = p.status.containerStatuses?.[0]?.state?.waiting;
        return w && /ErrImagePull|ImagePullBackOff/.test(w.reason) ? w : undefined;
      },
      60_000,
      250,
    );
    assert.match(pull.message, /registry\.invalid/);

    // The kubelet's events, written with the node's credentials.
    const events = await eventually(
      async () => {
        const list = (await admin.get(`/api/v1/namespaces/${NS}/events`)).items as Array<Record<string, any>>;
        const reasons = new Set(list.map((e) => `${e.involvedObject.name}:${e.reason}`));
        return reasons.has('crashing:BackOff') && reasons.has('unpullable:Failed') && reasons.has('no-token:Started') ? list : undefined;
      },
      30_000,
      250,
    );
    assert.ok(
      events.some((e) => e.reportingComponent === 'kubelet' && /^node-[01]$/.test(e.reportingInstance)),
      JSON.stringify(events[0]),
    );
  });

  it("runs the real restorectl as an agent: it authenticates as its pod's ServiceAccount, not as admin", async () => {
    const applied = await t!.kubectl(
      ['apply', '-f', '-'],
      `
apiVersion: v1
kind: Pod
metadata: {name: real-agent, namespace: ${NS}}
spec:
  restartPolicy: Never
  containers: [{name: agent, image: ${AGENT}, args: [restorectl, agent, restore, --session, ${NS}/missing]}]
`,
    );
    assert.equal(applied.code, 0, applied.stderr);
    const pod = await eventually(
      async () => {
        const p = await admin.get(`/api/v1/namespaces/${NS}/pods/real-agent`);
        return p.status.phase === 'Failed' ? p : undefined;
      },
      60_000,
      250,
    );
    assert.equal(pod.status.containerStatuses[0].state.terminated.exitCode, 2);
    const out = readFileSync(join(t!.dir, 'pods', NS, 'real-agent', 'containers', 'agent', 'log'), 'utf8');
    assert.match(out, new RegExp(`User "system:serviceaccount:${NS}:default" cannot get resource "restoresessions"`), out);
  });

  it("serves kubectl logs through kube-apiserver from the node's kubelet endpoint", async () => {
    const logs = await t!.kubectl(['logs', '-n', NS, 'web-1', '-c', 'main']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.equal(JSON.parse(logs.stdout.trim()).pod, 'web-1');
    const tail = await t!.kubectl(['logs', '-n', NS, 'real-agent', '--tail', '1']);
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout, /^restorectl agent restore: cannot read RestoreSession/);
    const none = await t!.kubectl(['logs', '-n', NS, 'web-1', '-c', 'sidecar']);
    assert.notEqual(none.code, 0);
  });

  it("stops a deleted pod's processes and removes the pod", async () => {
    const del = await t!.kubectl(['delete', 'pod', '-n', NS, 'web-0', '--wait=true', '--timeout=60s']);
    assert.equal(del.code, 0, del.stderr);
    // The StatefulSet controller makes it again, and it runs again.
    await eventually(
      async () => {
        const p = await admin.tryGet(`/api/v1/namespaces/${NS}/pods/web-0`);
        return p?.status?.phase === 'Running';
      },
      60_000,
      250,
    );
  });
});
