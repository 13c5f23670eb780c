// The controller's watches on the sandbox: what wakes a session, and what stays out of scope.
// Resync, poll and wait intervals are an hour here, so only a watch event can move a session.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { sinkLogger } from '../../src/common/log.ts';
import { Controller } from '../../src/controller/index.ts';
import { Sandbox } from '@restore-controller/devkit/sandbox';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const HOUR = 3_600_000;
const AGENT = Sandbox.DEFAULT_AGENT_IMAGE;

const repository = (ns: string) => ({
  apiVersion: 'stash.appscode.com/v1alpha1',
  kind: 'Repository',
  metadata: { name: 'repo', namespace: ns },
  spec: { backend: { local: { mountPath: '/safe/data', hostPath: { path: '/nonexistent/restic-repo' } }, storageSecretName: 'repo-secret' } },
});
const secret = (ns: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'repo-secret', namespace: ns },
  stringData: { RESTIC_PASSWORD: 'not used: no agent runs here' },
});
/** A Deployment; with 0 replicas its template takes the injection but no pod (so no agent) ever runs. */
const deployment = (ns: string, name: string, replicas = 0) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: ns },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
  },
});
const session = (ns: string, name: string, target: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: { name, namespace: ns },
  spec: {
    repository: { name: 'repo' },
    target: { alias: 'app', ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, rules: [{ paths: ['/data'] }] },
    ...extra,
  },
});

async function setUp(t: TestSandbox, namespaces: string[]): Promise<void> {
  assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
  for (const ns of namespaces) await apply(t, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
}

async function apply(t: TestSandbox, ...objs: object[]): Promise<void> {
  const r = await t.kubectl(['apply', '--server-side', '-f', '-'], objs.map((o) => stringify(o)).join('---\n'));
  assert.equal(r.code, 0, r.stderr);
}

describe('controller watches: a change wakes the sessions it concerns', function () {
  this.timeout(90_000);
  let t: TestSandbox;
  let controller: Controller;
  let custom: k8s.CustomObjectsApi;
  const get = async (ns: string, name: string) => (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: ns, name })) as RestoreSession;
  const condition = (s: RestoreSession, type: string) => s.status?.conditions?.find((c) => c.type === type);

  before(async () => {
    t = await startSandbox();
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    // A namespace per test, so none depends on what another left (the first has no Repository yet).
    await setUp(t, ['wake-repo', 'wake-target', 'wake-agent']);
    await apply(t, secret('wake-repo'), secret('wake-target'), repository('wake-target'), secret('wake-agent'), repository('wake-agent'));
    controller = new Controller(t.kc, { agent: { image: AGENT }, resyncMs: HOUR, pollMs: HOUR, waitMs: HOUR });
    await controller.start();
  });
  after(async () => {
    await controller?.stop();
    await t?.stop();
  });

  it('a Repository that appears wakes the session waiting for it', async () => {
    await apply(t, deployment('wake-repo', 'app-a'), session('wake-repo', 'waits-for-repo', 'app-a'));
    const pending = await eventually(async () => {
      const s = await get('wake-repo', 'waits-for-repo');
      return s.status?.phase === 'Pending' ? s : undefined;
    }, 30_000);
    assert.equal(condition(pending, 'RepositoryFound')?.status, 'False');
    await apply(t, repository('wake-repo'));
    const running = await eventually(async () => {
      const s = await get('wake-repo', 'waits-for-repo');
      return s.status?.phase === 'Running' ? s : undefined;
    }, 30_000);
    assert.equal(condition(running, 'RepositoryFound')?.status, 'True');
    assert.equal(condition(running, 'StashInitContainerInjected')?.status, 'True');
  });

  it('a target workload that appears wakes the session waiting for it', async () => {
    await apply(t, session('wake-target', 'waits-for-target', 'app-b'));
    await eventually(async () => condition(await get('wake-target', 'waits-for-target'), 'RestoreTargetFound')?.status === 'False', 30_000);
    await apply(t, deployment('wake-target', 'app-b'));
    const running = await eventually(async () => {
      const s = await get('wake-target', 'waits-for-target');
      return s.status?.phase === 'Running' ? s : undefined;
    }, 30_000);
    assert.equal(condition(running, 'RestoreTargetFound')?.status, 'True');
    const apps = t.kc.makeApiClient(k8s.AppsV1Api);
    const template = (await apps.readNamespacedDeployment({ namespace: 'wake-target', name: 'app-b' })).spec!.template;
    assert.equal(template.spec!.initContainers?.[0]?.name, 'stash-init');
  });

  it('an agent that cannot start (a Secret named in its env is missing) is reported on the session, once', async () => {
    const env = [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'absent-secret', key: 'token' } } }];
    await apply(t, deployment('wake-agent', 'app-c', 1), session('wake-agent', 'agent-stuck', 'app-c', { runtimeSettings: { container: { env } } }));
    const core = t.kc.makeApiClient(k8s.CoreV1Api);
    const warnings = async () =>
      (await core.listNamespacedEvent({ namespace: 'wake-agent' })).items.filter(
        (e) => e.involvedObject.name === 'agent-stuck' && e.reason === 'Restore Agent Failing',
      );
    const [event] = await eventually(async () => {
      const w = await warnings();
      return w.length ? w : undefined;
    }, 30_000);
    assert.equal(event!.type, 'Warning');
    assert.match(
      event!.message!,
      /^pod app-c-\S+: the restore agent \(stash-init\) cannot run: CreateContainerConfigError \(.*absent-secret.*\); check the Secrets and ConfigMaps named in runtimeSettings\.container env\/envFrom$/,
    );
    // The kubelet retries every second; the controller says it once.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await warnings()).length, 1);
    assert.equal((await get('wake-agent', 'agent-stuck')).status?.phase, 'Running');
  });
});

describe('controller namespace option', function () {
  this.timeout(90_000);
  let t: TestSandbox;
  let controller: Controller | undefined;
  const requests: string[] = [];
  let capture = false;
  const sessions = () => t.sandbox!.core.mustResource('stash.appscode.com', 'restoresessions');
  /** Read straight from the sandbox's store: no HTTP request that could be taken for the controller's. */
  const peek = (ns: string, name: string) => t.sandbox!.core.tryGet(sessions(), ns, name) as RestoreSession | undefined;

  before(async () => {
    t = await startSandbox({ log: sinkLogger((r) => void (capture && r.level === 'debug' && requests.push(r.msg)), { level: 'debug' }) });
    await setUp(t, ['mine', 'theirs']);
    for (const ns of ['mine', 'theirs']) await apply(t, secret(ns), repository(ns), deployment(ns, 'app'), session(ns, 'restore', 'app'));
    const cross = session('mine', 'cross', 'app') as { spec: { repository: { namespace?: string } } };
    cross.spec.repository.namespace = 'theirs';
    await apply(t, cross);
  });
  after(async () => {
    await controller?.stop();
    await t?.stop();
  });

  it('drives only the sessions of its namespace, every request it makes stays there, and a Repository elsewhere is explained', async () => {
    capture = true;
    controller = new Controller(t.kc, { agent: { image: AGENT }, namespace: 'mine', resyncMs: 100 });
    await controller.start();
    await eventually(() => peek('mine', 'restore')?.status?.phase === 'Running', 30_000);
    await eventually(() => peek('mine', 'cross')?.status?.phase === 'Pending', 30_000);
    controller.enqueue('theirs', 'restore'); // as the daemon would after applying: not this controller's
    for (let i = 0; i < 3; i++) {
      await controller.resync(); // what the resync timer does, three times over, without waiting for it
      await controller.idle();
    }
    await controller.stop();
    capture = false;

    const theirs = peek('theirs', 'restore')!;
    assert.equal(theirs.status, undefined, 'a session of another namespace gets no status');
    assert.equal(theirs.metadata.finalizers, undefined, 'nor a finalizer');
    const cross = peek('mine', 'cross')!.status!.conditions!.find((c) => c.type === 'RepositoryFound')!;
    assert.equal(cross.status, 'False');
    assert.equal(
      cross.message,
      'Repository theirs/repo is outside namespace mine, the only one this controller may read (it runs with --namespace mine): put the Repository in mine, or run the controller cluster-wide',
    );
    assert.ok(requests.length > 5, requests.join('\n'));
    const outside = requests.filter((r) => !/^\w+ \/apis?\/[^?]*\/namespaces\/mine\//.test(r));
    assert.deepEqual(outside, [], 'every request names the namespace (a namespaced Role allows them)');
    const watched = new Set(requests.filter((r) => r.includes('watch=true')).map((r) => r.split('?')[0]!.replace(/^GET /, '')));
    assert.deepEqual([...watched].sort(), [
      '/api/v1/namespaces/mine/persistentvolumeclaims',
      '/api/v1/namespaces/mine/pods',
      '/api/v1/namespaces/mine/secrets',
      '/apis/apps/v1/namespaces/mine/daemonsets',
      '/apis/apps/v1/namespaces/mine/deployments',
      '/apis/apps/v1/namespaces/mine/statefulsets',
      '/apis/batch/v1/namespaces/mine/jobs',
      '/apis/stash.appscode.com/v1alpha1/namespaces/mine/repositories',
      '/apis/stash.appscode.com/v1beta1/namespaces/mine/restoresessions',
    ]);
  });
});
