// The controller against the sandbox API, reached over HTTP by client-node (and set up with kubectl).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { KubeObject, RestoreSession } from '../../src/api/index.ts';
import { Controller, ControllerCluster, reconcileSession } from '../../src/controller/index.ts';
import { sinkLogger } from '../../src/common/log.ts';
import type { Fields } from '../../src/common/log.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { eventually, startEngine } from '../support/sandbox.ts';
import type { EngineSandbox } from '../support/sandbox.ts';

const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');
const config = { agent: { image: 'restorectl:test' }, pollMs: 50 };
const workloads = readFileSync(new URL('../../examples/cluster-state/workloads.yaml', import.meta.url), 'utf8');
/** An example manifest moved to namespace `ns`, renamed when `name` is given. */
const inNamespace = <T extends KubeObject>(obj: T, ns: string, name?: string): T => ({
  ...obj,
  metadata: { ...obj.metadata, namespace: ns, ...(name ? { name } : {}) },
});

describe('controller: reconciling RestoreSessions on the sandbox', function () {
  this.timeout(60_000);
  let t: EngineSandbox;
  let cluster: ControllerCluster;
  let custom: k8s.CustomObjectsApi;
  let apps: k8s.AppsV1Api;
  let ns = '';
  let namespaces = 0;
  let records: Fields[] = [];
  const log = sinkLogger((r) => records.push(r), { level: 'debug' });

  const apply = async (yaml: string) => {
    const r = await t.kubectl(['apply', '--server-side', '-f', '-'], yaml);
    assert.equal(r.code, 0, r.stderr);
  };
  const applyObject = (obj: object) => apply(stringify(obj));
  const session = (file: string, name?: string) => inNamespace(parse(example(file)) as KubeObject & RestoreSession, ns, name);
  const get = async (name: string) => (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: ns, name })) as RestoreSession;
  const reconcile = (name: string, now?: () => Date) => reconcileSession(cluster, { ...config, log, ...(now ? { now } : {}) }, ns, name);
  const sts = () => apps.readNamespacedStatefulSet({ namespace: ns, name: 'recovered-statefulset' });

  before(async () => {
    t = await startEngine();
    cluster = new ControllerCluster(t.controllerKc);
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    apps = t.kc.makeApiClient(k8s.AppsV1Api);
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
  });
  after(() => t?.stop());

  // Every test has a namespace of its own: the example workloads, the Repository and its Secret.
  beforeEach(async () => {
    ns = `reconcile-${++namespaces}`;
    records = [];
    await applyObject({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const objects = [
      ...parseAllDocuments(workloads).map((d) => d.toJS() as KubeObject),
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'local-repo-secret' }, stringData: { RESTIC_PASSWORD: 'not-used-here' } } as KubeObject,
      parse(example('repository.yaml')) as KubeObject,
    ];
    await apply(objects.map((o) => stringify(inNamespace(o, ns))).join('---\n'));
  });

  /** The StatefulSet example's session, injected and Running; the template as it was before. */
  const injectedSession = async (): Promise<{ templateBefore: string; before: k8s.V1StatefulSet }> => {
    // Settled first: on a real cluster the StatefulSet controller writes status while its pods
    // start, and a write of ours between its read and ours would be a 409 the Controller retries.
    const before = await eventually(
      async () => {
        const o = await sts();
        const st = o.status;
        return st?.observedGeneration === o.metadata?.generation && st?.readyReplicas === o.spec?.replicas && st?.currentRevision === st?.updateRevision
          ? o
          : undefined;
      },
      60_000,
      100,
    );
    await applyObject(session('sts-restore.yaml'));
    await reconcile('sts-restore');
    return { templateBefore: JSON.stringify(before.spec!.template), before };
  };

  it('injects stash-init into the StatefulSet once, counts its hosts, and is Running', async () => {
    const { before } = await injectedSession();
    const injected = await sts();
    const init = injected.spec!.template.spec!.initContainers!;
    assert.equal(init[0]!.name, 'stash-init');
    assert.deepEqual(init[0]!.args, ['agent', 'restore', '--session', `${ns}/sts-restore`, '--host-from', 'pod']);
    const s = await get('sts-restore');
    assert.equal(s.status?.phase, 'Running');
    assert.equal(s.status?.totalHosts, 5);
    assert.ok(s.metadata.finalizers?.includes('restore.gitops/cleanup'));
    const cond = Object.fromEntries(s.status!.conditions!.map((c) => [c.type, c.status]));
    assert.deepEqual(
      [cond['RepositoryFound'], cond['BackendSecretFound'], cond['RestoreTargetFound'], cond['StashInitContainerInjected']],
      ['True', 'True', 'True', 'True'],
    );
    assert.deepEqual(
      records.map(({ time: _time, ...r }) => r),
      [{ level: 'info', namespace: ns, name: 'sts-restore', msg: 'New → Running (0/5 hosts succeeded)', phase: 'Running' }],
    );

    // A second reconcile (a restarted controller) changes nothing: no roll (the spec's generation;
    // the StatefulSet's status moves on a real cluster as the first injection rolls its pods), no status write.
    await reconcile('sts-restore');
    assert.equal((await sts()).metadata!.generation, injected.metadata!.generation);
    assert.equal((await get('sts-restore')).metadata.resourceVersion, s.metadata.resourceVersion);
    assert.notEqual(injected.metadata!.generation, before.metadata!.generation);
  });

  /**
   * Runs `fn` while the controller's cache holds the StatefulSet as it was before a label changed
   * (`changed: meanwhile`), so its first write of it conflicts.
   */
  async function withStaleStatefulSet(fn: () => Promise<void>): Promise<void> {
    const stale = (await custom.getNamespacedCustomObject({
      group: 'apps',
      version: 'v1',
      namespace: ns,
      plural: 'statefulsets',
      name: 'recovered-statefulset',
    })) as KubeObject;
    await apps.patchNamespacedStatefulSet(
      { namespace: ns, name: 'recovered-statefulset', body: { metadata: { labels: { changed: 'meanwhile' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    cluster.useCache({
      session: () => undefined,
      repository: () => undefined,
      secretExists: () => undefined,
      workload: (kind, namespace, name) =>
        kind === 'StatefulSet' && namespace === ns && name === 'recovered-statefulset' ? { object: structuredClone(stale) } : undefined,
      sessionPods: () => undefined,
    });
    try {
      await fn();
    } finally {
      cluster.useCache(undefined);
    }
  }

  it('injects into a workload that changed since it was read (a conflict): reads it again and injects there', async () => {
    // A real StatefulSet controller writes status while it makes the pods; here the controller's
    // cache holds the StatefulSet as it was before a label changed, so its first write conflicts.
    await withStaleStatefulSet(async () => {
      await applyObject(session('sts-restore.yaml'));
      await reconcile('sts-restore');
    });
    const injected = await sts();
    assert.equal(injected.spec!.template.spec!.initContainers![0]!.name, 'stash-init');
    assert.equal(injected.metadata!.labels!['changed'], 'meanwhile', 'the change made meanwhile is kept');
    assert.equal((await get('sts-restore')).status?.phase, 'Running');
  });

  it('finishes when every host reports, with sessionDuration and a RestoreCompleted condition', async () => {
    await injectedSession();
    const s = await get('sts-restore');
    assert.equal(s.status?.phase, 'Running');
    const stats = ['my-sts-0', 'my-sts-1', 'my-sts-2', 'my-sts-3', 'my-sts-4'].map((hostname, i) => ({
      hostname,
      phase: i === 3 ? 'Failed' : 'Succeeded',
      error: i === 3 ? 'restic: boom' : undefined,
    }));
    await custom.replaceNamespacedCustomObjectStatus({
      ...RESTORE_SESSIONS,
      namespace: ns,
      name: 'sts-restore',
      body: { ...s, status: { ...s.status, stats } },
    });
    await reconcile('sts-restore');
    const done = await get('sts-restore');
    assert.equal(done.status?.phase, 'Failed');
    assert.match(done.status?.sessionDuration ?? '', /^\d+s$/);
    assert.equal(done.status?.conditions?.find((c) => c.type === 'RestoreCompleted')?.reason, 'SomeHostsFailed');
    assert.deepEqual(records.map(({ time: _time, ...r }) => r).at(-1), {
      level: 'warn',
      namespace: ns,
      name: 'sts-restore',
      msg: 'Running → Failed (4/5 hosts succeeded)',
      phase: 'Failed',
      from: 'Running',
    });
  });

  it('deleting the session gives the StatefulSet its template back exactly, then lets the session go', async () => {
    const { templateBefore } = await injectedSession();
    assert.notEqual(JSON.stringify((await sts()).spec!.template), templateBefore, 'injected first');
    const del = t.kubectl(['delete', 'restoresession', 'sts-restore', '-n', ns, '--wait=false']);
    assert.equal((await del).code, 0);
    await reconcile('sts-restore');
    await eventually(async () => {
      try {
        await get('sts-restore');
        return false;
      } catch {
        return true;
      }
    });
    assert.equal(JSON.stringify((await sts()).spec!.template), templateBefore);
  });

  it('removes its injection from a workload that changed since it was read (a conflict): reads it again and removes it there', async () => {
    const { templateBefore } = await injectedSession();
    await withStaleStatefulSet(async () => {
      assert.equal((await t.kubectl(['delete', 'restoresession', 'sts-restore', '-n', ns, '--wait=false'])).code, 0);
      await reconcile('sts-restore');
    });
    const back = await sts();
    assert.equal(JSON.stringify(back.spec!.template), templateBefore);
    assert.equal(back.metadata!.labels!['changed'], 'meanwhile', 'the change made meanwhile is kept');
  });

  it('refuses an invalid session as Invalid, naming the field, and touches no workload', async () => {
    // The simulator is still starting this namespace's pods: wait until the StatefulSet's status rests.
    await eventually(async () => {
      const s = await sts();
      return (
        s.status?.observedGeneration === s.metadata!.generation &&
        s.status?.readyReplicas === s.spec!.replicas &&
        s.status?.updatedReplicas === s.spec!.replicas
      );
    }, 30_000);
    const rv = (await sts()).metadata!.resourceVersion;
    const bad = session('sts-restore.yaml', 'twice');
    bad.spec.target!.rules![1]!.targetHosts = ['my-sts-3'];
    await applyObject(bad);
    await reconcile('twice');
    const s = await get('twice');
    assert.equal(s.status?.phase, 'Invalid');
    assert.match(
      s.status!.conditions!.find((c) => c.type === 'ValidationPassed')!.message!,
      /spec\.target\.rules\[1\]\.targetHosts\[0\]: host "my-sts-3" is listed in rules 0 and 1/,
    );
    assert.equal((await sts()).metadata!.resourceVersion, rv);
  });

  it('waits as Pending while the Repository is missing', async () => {
    const s = session('deployment-restore.yaml', 'no-repo');
    s.spec.repository!.name = 'missing';
    await applyObject(s);
    const r = await reconcile('no-repo');
    assert.ok(r.requeueAfterMs);
    const got = await get('no-repo');
    assert.equal(got.status?.phase, 'Pending');
    assert.match(got.status!.conditions!.find((c) => c.type === 'RepositoryFound')!.message!, new RegExp(`Repository ${ns}/missing does not exist`));
  });

  it('a new session gets one status write: looked at again with nothing changed, it is not written again (whatever order the API server returns its keys in)', async () => {
    const s = session('deployment-restore.yaml', 'written-once');
    s.spec.repository!.name = 'missing';
    await applyObject(s);
    const writes = () => cluster.counter.byCall['PUT restoresession/status'] ?? 0;
    const before = writes();
    await reconcile('written-once');
    assert.equal((await get('written-once')).status?.phase, 'Pending');
    await reconcile('written-once');
    await reconcile('written-once');
    assert.equal(writes() - before, 1, `status writes: ${JSON.stringify(cluster.counter.byCall)}`);
  });

  it('creates one restore Job and PVC per ordinal, and past timeOut deletes them and fails with DeadlineExceeded', async () => {
    const s = session('pvc-restore.yaml');
    s.spec.timeOut = '2s';
    await applyObject(s);
    await reconcile('pvc-restore');
    const batch = t.kc.makeApiClient(k8s.BatchV1Api);
    const core = t.kc.makeApiClient(k8s.CoreV1Api);
    const jobs = await batch.listNamespacedJob({ namespace: ns });
    assert.deepEqual(jobs.items.map((j) => j.metadata!.name).sort(), [
      'stash-restore-pvc-restore-0',
      'stash-restore-pvc-restore-1',
      'stash-restore-pvc-restore-2',
    ]);
    const claims = await core.listNamespacedPersistentVolumeClaim({ namespace: ns });
    assert.ok(['data-restore-demo-0', 'data-restore-demo-1', 'data-restore-demo-2'].every((n) => claims.items.some((c) => c.metadata!.name === n)));
    const running = await get('pvc-restore');
    assert.equal(running.status?.totalHosts, 3);

    // The controller's clock, 2.1 s on: past the deadline without waiting for it.
    const deadline = new Date(running.status!.sessionDeadline!);
    assert.equal(deadline.getTime() - new Date(running.metadata.creationTimestamp!).getTime(), 2000);
    await reconcile('pvc-restore', () => new Date(deadline.getTime() + 100));
    const failed = await get('pvc-restore');
    assert.equal(failed.status?.phase, 'Failed');
    assert.equal(failed.status?.conditions?.find((c) => c.type === 'DeadlineExceeded')?.status, 'True');
    const left = await batch.listNamespacedJob({ namespace: ns });
    assert.equal(left.items.filter((j) => !j.metadata?.deletionTimestamp).length, 0);
  });

  it('a Controller started after the workload existed (as after any restart) injects into it from its watch cache', async () => {
    // The Deployment settled first (its controller writes no more status), so no watch event brings it later.
    await eventually(
      async () => {
        const d = await apps.readNamespacedDeployment({ namespace: ns, name: 'stash-demo' });
        const progressing = d.status?.conditions?.find((x) => x.type === 'Progressing')?.reason;
        return (
          d.status?.observedGeneration === d.metadata?.generation &&
          d.status?.availableReplicas === d.spec?.replicas &&
          progressing === 'NewReplicaSetAvailable'
        );
      },
      60_000,
      100,
    );
    const c = new Controller(t.controllerKc, { ...config, resyncMs: 100 });
    await c.start();
    try {
      // Every watch has listed: the Deployment is in the cache from the LIST, not from a watch event.
      await eventually(() => c.watchStats()!.lists >= c.watchStats()!.informers, 30_000, 50);
      await applyObject(session('deployment-restore.yaml', 'cached-target'));
      const s = await eventually(async () => {
        const got = await get('cached-target');
        return got.status?.phase === 'Running' ? got : undefined;
      }, 20_000);
      assert.equal(s.status?.conditions?.find((x) => x.type === 'StashInitContainerInjected')?.status, 'True', JSON.stringify(s.status));
      const deployment = await apps.readNamespacedDeployment({ namespace: ns, name: 'stash-demo' });
      assert.equal(deployment.spec!.template.spec!.initContainers?.[0]?.name, 'stash-init');
    } finally {
      await c.stop();
    }
  });

  it('keeps no copy of the sessions it wrote once its watch has their versions, and none with managedFields', async () => {
    // Nothing but a watch event moves them: they wait for a Deployment that does not exist.
    const HOUR = 3_600_000;
    const c = new Controller(t.controllerKc, { agent: config.agent, resyncMs: HOUR, pollMs: HOUR, waitMs: HOUR });
    await c.start();
    try {
      const names = ['kept-once-1', 'kept-once-2', 'kept-once-3', 'kept-once-4', 'kept-once-5'];
      const waiting = session('deployment-restore.yaml');
      const target = { ...waiting.spec.target!, ref: { ...waiting.spec.target!.ref, name: 'not-there' } };
      await apply(names.map((name) => stringify({ ...waiting, metadata: { ...waiting.metadata, name }, spec: { ...waiting.spec, target } })).join('---\n'));
      const cached = (name: string) => c.sharedInformers()!.sessions.get(name, ns);
      for (const name of names) {
        const s = await eventually(async () => {
          const got = await get(name);
          return got.status?.phase === 'Pending' ? got : undefined;
        }, 20_000);
        await eventually(() => cached(name)?.metadata?.resourceVersion === s.metadata.resourceVersion, 20_000, 20);
        assert.equal(cached(name)!.metadata!.managedFields, undefined);
      }
      // The watch's copy is the only one (kube-apiserver often delivers a write's event before its response).
      assert.equal(c.cluster.writesAhead, 0);
    } finally {
      await c.stop();
    }
  });

  it("reconciles a new session once for its own status write, whichever of the write's event and response comes first, and again for a change of someone else", async () => {
    // Nothing but a watch event moves them: they wait for a Deployment that does not exist.
    const HOUR = 3_600_000;
    const c = new Controller(t.controllerKc, { agent: config.agent, resyncMs: HOUR, pollMs: HOUR, waitMs: HOUR });
    await c.start();
    try {
      await c.idle();
      const names = ['own-write-1', 'own-write-2', 'own-write-3', 'own-write-4', 'own-write-5'];
      const waiting = session('deployment-restore.yaml');
      const target = { ...waiting.spec.target!, ref: { ...waiting.spec.target!.ref, name: 'not-there' } };
      const before = { reconciles: c.stats.reconciles, writes: c.cluster.counter.byCall['PUT restoresession/status'] ?? 0 };
      await apply(names.map((name) => stringify({ ...waiting, metadata: { ...waiting.metadata, name }, spec: { ...waiting.spec, target } })).join('---\n'));
      const cached = (name: string) => c.sharedInformers()!.sessions.get(name, ns);
      for (const name of names) {
        const s = await eventually(async () => {
          const got = await get(name);
          return got.status?.phase === 'Pending' ? got : undefined;
        }, 20_000);
        // The watch has delivered the status write (the last write: nothing else moves them).
        await eventually(() => cached(name)?.metadata?.resourceVersion === s.metadata.resourceVersion, 20_000, 20);
      }
      await c.idle();
      const writes = (c.cluster.counter.byCall['PUT restoresession/status'] ?? 0) - before.writes;
      assert.equal(writes, names.length, 'one status write per session');
      assert.equal(c.stats.reconciles - before.reconciles, names.length, 'one reconcile per session: the event of its own write woke none');
      // Someone else's change still wakes the session.
      assert.equal((await t.kubectl(['label', 'restoresession', '-n', ns, names[0]!, 'edited=by-hand'])).code, 0);
      await eventually(() => cached(names[0]!)?.metadata?.labels?.edited === 'by-hand', 20_000, 20);
      await c.idle();
      assert.equal(c.stats.reconciles - before.reconciles, names.length + 1, 'a label edited by hand is reconciled');
    } finally {
      await c.stop();
    }
  });

  it('the Controller loop finds new sessions by itself', async () => {
    const c = new Controller(t.controllerKc, { ...config, resyncMs: 100 });
    await c.start();
    try {
      await applyObject(session('deployment-restore.yaml', 'found-by-loop'));
      await eventually(async () => (await get('found-by-loop')).status?.phase === 'Running', 10_000);
    } finally {
      await c.stop();
    }
  });
});
