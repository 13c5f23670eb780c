// Restore agents that cannot run (unschedulable, refused pods, config errors) become a Warning
// event at once and Failed once stuck past the controller's patience, with the reason a user can
// act on (issue 18 §1): before, the session stayed Running for ever.
import assert from 'node:assert/strict';
import type * as k8s from '@kubernetes/client-node';
import { DEFAULT_AGENT_IMAGE } from '../../src/controller/agent-container.ts';
import { ENGINE, eventually } from '../support/sandbox.ts';
import { useSessionSandbox } from './session-sandbox.ts';

const PATIENCE_MS = 60_000;

describe('controller: restore agents that cannot run', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('stuck', { agent: { image: DEFAULT_AGENT_IMAGE }, stuckAfterMs: PATIENCE_MS });
  const later = () => new Date(Date.now() + PATIENCE_MS + 1000);
  const sessionPods = async (name: string) => (await h.core.listNamespacedPod({ namespace: h.ns, labelSelector: `restore.gitops/session=${name}` })).items;

  /** Running with a Warning event first; Failed (RestoreExecutorEnsured=False) once past the patience. */
  const failsOnceStuck = async (name: string, said: RegExp): Promise<void> => {
    await h.reconcile(name);
    const first = await h.get(name);
    assert.equal(first.status?.phase, 'Running');
    assert.ok(
      (await h.events(name)).some((e) => e.type === 'Warning' && e.reason === 'Restore Agent Failing' && said.test(e.message ?? '')),
      'a Warning event at once',
    );
    await h.reconcile(name, { now: later });
    const failed = await h.get(name);
    assert.equal(failed.status?.phase, 'Failed');
    const ensured = h.condition(failed, 'RestoreExecutorEnsured');
    assert.equal(ensured?.status, 'False');
    assert.equal(ensured?.reason, 'FailedToEnsureRestoreExecutor');
    assert.match(ensured!.message!, said);
  };

  it("fails a restore Job whose pod cannot be scheduled, with the scheduler's reason", async () => {
    const s = h.session('pvc-restore.yaml', 'unschedulable');
    s.spec.target!.replicas = 1;
    s.spec.runtimeSettings = { pod: { nodeSelector: { 'kubernetes.io/hostname': 'no-such-node' } } };
    await h.apply(s);
    await h.reconcile('unschedulable');
    await eventually(async () =>
      (await sessionPods('unschedulable')).some((p) => p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.reason === 'Unschedulable')),
    );
    await failsOnceStuck('unschedulable', /cannot be scheduled: 0\/\d+ nodes are available: .*node affinity\/selector/);
  });

  it("fails a restore Job whose pods the API refuses (FailedCreate), with the API's reason", async () => {
    const s = h.session('pvc-restore.yaml', 'no-sa');
    s.spec.target!.replicas = 1;
    s.spec.runtimeSettings = { pod: { serviceAccountName: 'no-such-account' } };
    await h.apply(s);
    await h.reconcile('no-sa');
    await eventually(async () => (await h.events('stash-restore-no-sa-0')).some((e: k8s.CoreV1Event) => e.reason === 'FailedCreate'));
    await failsOnceStuck('no-sa', /FailedCreate.*serviceaccount "no-such-account" not found/);
  });

  // Admission runs on the real engine only (packages/devkit/src/sandbox/README.md, Known gaps).
  it("fails a Deployment restore whose pods admission refuses (PodSecurity baseline forbids the local backend's hostPath), with the API's reason", async function () {
    if (ENGINE === 'embedded') this.skip();
    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: h.ns, labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } });
    const s = h.session('deployment-restore.yaml', 'baseline');
    delete s.spec.hooks;
    await h.apply(s);
    await h.reconcile('baseline');
    await eventually(
      async () =>
        (await h.apps.readNamespacedDeployment({ namespace: h.ns, name: 'stash-demo' })).status?.conditions?.some(
          (c) => c.type === 'ReplicaFailure' && c.status === 'True',
        ),
      30_000,
      200,
    );
    await failsOnceStuck('baseline', /cannot create its pods: FailedCreate .*violates PodSecurity "baseline:latest": hostPath volumes/);
  });

  it("fails an injected stash-init that cannot start (CreateContainerConfigError), with the kubelet's reason", async () => {
    const s = h.session('deployment-restore.yaml', 'bad-env');
    delete s.spec.hooks;
    s.spec.runtimeSettings = { container: { env: [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'missing-secret', key: 'token' } } }] } };
    await h.apply(s);
    await h.reconcile('bad-env');
    await eventually(async () =>
      (await sessionPods('bad-env')).some((p) => p.status?.initContainerStatuses?.some((c) => c.state?.waiting?.reason === 'CreateContainerConfigError')),
    );
    await failsOnceStuck('bad-env', /CreateContainerConfigError.*missing-secret/);
  });
});

describe('controller: restore agents that cannot run, from their image', function () {
  this.timeout(60_000);
  // Agents crash at once (the sandbox runs `false` for the agent image): a crash loop.
  const h = useSessionSandbox('stuck-image', { agent: { image: DEFAULT_AGENT_IMAGE }, stuckAfterMs: PATIENCE_MS }, { agentCommand: ['/bin/false'] });
  const later = () => new Date(Date.now() + PATIENCE_MS + 1000);
  const initState = async (name: string, reason: string) =>
    eventually(
      async () =>
        (await h.core.listNamespacedPod({ namespace: h.ns, labelSelector: `restore.gitops/session=${name}` })).items.some((p) =>
          p.status?.initContainerStatuses?.some((c) => c.state?.waiting?.reason === reason),
        ),
      30_000,
    );

  const stuckThenFailed = async (name: string, said: RegExp) => {
    await h.reconcile(name);
    assert.equal((await h.get(name)).status?.phase, 'Running');
    assert.ok(
      (await h.events(name)).some((e) => e.type === 'Warning' && said.test(e.message ?? '')),
      'a Warning event at once',
    );
    await h.reconcile(name, { now: later });
    const failed = await h.get(name);
    assert.equal(failed.status?.phase, 'Failed');
    assert.equal(h.condition(failed, 'RestoreExecutorEnsured')?.reason, 'FailedToEnsureRestoreExecutor');
    assert.match(h.condition(failed, 'RestoreExecutorEnsured')!.message!, said);
  };

  it('fails an injected stash-init in a crash loop, saying where its log is', async () => {
    const s = h.session('deployment-restore.yaml', 'crashing');
    delete s.spec.hooks;
    await h.apply(s);
    await h.reconcile('crashing');
    await initState('crashing', 'CrashLoopBackOff');
    await stuckThenFailed('crashing', /CrashLoopBackOff.*kubectl logs/);
  });

  it("fails a stash-init whose image cannot be pulled, with the kubelet's reason", async () => {
    const s = h.session('deployment-restore.yaml', 'no-image');
    delete s.spec.hooks;
    await h.apply(s);
    // The controller is told an agent image no registry serves.
    const cfg = { agent: { image: 'registry.example.invalid/restorectl:0.1.0' } };
    await h.reconcile('no-image', cfg);
    await initState('no-image', 'ImagePullBackOff');
    await h.reconcile('no-image', cfg);
    assert.equal((await h.get('no-image')).status?.phase, 'Running');
    assert.ok((await h.events('no-image')).some((e) => e.type === 'Warning' && /ImagePullBackOff|ErrImagePull/.test(e.message ?? '')));
    await h.reconcile('no-image', { ...cfg, now: later });
    const failed = await h.get('no-image');
    assert.equal(failed.status?.phase, 'Failed');
    assert.match(h.condition(failed, 'RestoreExecutorEnsured')!.message!, /(ImagePullBackOff|ErrImagePull).*check the agent image name/);
  });
});
