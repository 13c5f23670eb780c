// The API behaviour the product relies on, checked the same way on both engines (npm test runs this
// file on the embedded sandbox, npm run test:kube on the real kube-apiserver). Where the embedded
// engine differs on purpose, the test asserts each engine's documented behaviour, so
// packages/devkit/src/sandbox/README.md ("Known gaps") stays true: a change on either side fails here.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { ResilientInformer, withoutManagedFields } from '../../src/kube/informer.ts';
import type { ListPage } from '../../src/kube/informer.ts';
import { RESTORE_SESSIONS, collectionPath } from '../../src/kube/resources.ts';
import { ENGINE, eventually, startEngine } from '../support/sandbox.ts';
import type { EngineSandbox } from '../support/sandbox.ts';

const NS = 'conformance';

/** The HTTP status and the Status body of a refused request. */
async function refusal(
  p: Promise<unknown>,
): Promise<{ code: number; body: { reason?: string; message?: string; details?: { name?: string; causes?: Array<{ field?: string; reason?: string }> } } }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code: number; body: unknown };
    return { code: err.code, body: typeof err.body === 'string' ? JSON.parse(err.body) : (err.body as object) };
  }
  assert.fail('the request was accepted');
}

describe(`API conformance, on the ${ENGINE} engine`, function () {
  this.timeout(60_000);
  let t: EngineSandbox;
  let core: k8s.CoreV1Api;
  let custom: k8s.CustomObjectsApi;
  const apply = async (o: object) => {
    const r = await t.kubectl(['apply', '--server-side', '-f', '-'], stringify(o));
    assert.equal(r.code, 0, r.stderr);
  };
  const session = (name: string, extra: object = {}) => ({
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'RestoreSession',
    metadata: { name, namespace: NS, ...extra },
    spec: { repository: { name: 'r' }, target: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' } } },
  });

  before(async () => {
    t = await startEngine();
    core = t.kc.makeApiClient(k8s.CoreV1Api);
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await eventually(() => custom.listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS }).then(() => true), 30_000, 100);
  });
  after(() => t?.stop());

  it('answers 404 with a Status naming the object (the controller tells a missing object from an unserved kind by it)', async () => {
    const r = await refusal(core.readNamespacedConfigMap({ namespace: NS, name: 'absent' }));
    assert.equal(r.code, 404);
    assert.equal(r.body.reason, 'NotFound');
    assert.equal(r.body.details?.name, 'absent');
  });

  it('refuses an update from a stale resourceVersion with 409 Conflict', async () => {
    const cm = await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'rv' }, data: { a: '1' } } });
    await core.replaceNamespacedConfigMap({ namespace: NS, name: 'rv', body: { ...cm, data: { a: '2' } } });
    const r = await refusal(core.replaceNamespacedConfigMap({ namespace: NS, name: 'rv', body: { ...cm, data: { a: '3' } } }));
    assert.equal(r.code, 409);
    assert.equal(r.body.reason, 'Conflict');
  });

  it('refuses an ownerReference with an empty uid (422, naming the field)', async () => {
    const r = await refusal(
      core.createNamespacedConfigMap({
        namespace: NS,
        body: { metadata: { name: 'orphan', ownerReferences: [{ apiVersion: 'stash.appscode.com/v1beta1', kind: 'RestoreSession', name: 's', uid: '' }] } },
      }),
    );
    assert.equal(r.code, 422);
    assert.deepEqual(
      r.body.details?.causes?.map((c) => c.field),
      ['metadata.ownerReferences[0].uid'],
      JSON.stringify(r.body),
    );
    assert.match(r.body.message ?? '', /metadata\.ownerReferences\[0\]\.uid: Required value: must not be empty/);
  });

  it('refuses annotations of more than 256 KiB together (422 on metadata.annotations), on a RestoreSession too', async () => {
    await apply(session('annotated'));
    const got = (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, name: 'annotated' })) as k8s.KubernetesObject;
    const annotate = (bytes: number) =>
      custom.replaceNamespacedCustomObject({
        ...RESTORE_SESSIONS,
        namespace: NS,
        name: 'annotated',
        body: { ...got, metadata: { ...got.metadata, annotations: { a: 'x'.repeat(bytes - 1), b: '' } } },
      });
    const r = await refusal(annotate(256 * 1024));
    assert.equal(r.code, 422);
    // kube-apiserver repeats the cause (and adds one for the CEL rules it then skips); the embedded engine gives it once.
    assert.ok(
      r.body.details?.causes?.some((c) => c.field === 'metadata.annotations' && c.reason === 'FieldValueTooLong'),
      JSON.stringify(r.body),
    );
    assert.match(r.body.message ?? '', /metadata\.annotations: Too long: may not be more than 262144 bytes/);
    await annotate(256 * 1024 - 2); // keys and values together: a (1) + b (1) + the value
  });

  it('refuses a Secret or ConfigMap key that is not a config key (422, naming data[key]); stringData keys are checked as data keys', async () => {
    const secret = await refusal(
      core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'spaced' }, stringData: { 'RESTIC PASSWORD': 'x', ok: 'y' } } }),
    );
    assert.equal(secret.code, 422);
    assert.deepEqual(
      secret.body.details?.causes?.map((c) => [c.field, c.reason]),
      [['data[RESTIC PASSWORD]', 'FieldValueInvalid']],
      JSON.stringify(secret.body),
    );
    assert.match(secret.body.message ?? '', /a valid config key must consist of alphanumeric characters, '-', '_' or '\.'/);
    const cm = await refusal(core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'slashed' }, data: { 'a/b': '1' } } }));
    assert.equal(cm.code, 422);
    assert.deepEqual(
      cm.body.details?.causes?.map((c) => c.field),
      ['data[a/b]'],
      JSON.stringify(cm.body),
    );
    await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: 'dotted' }, stringData: { 'RESTIC_PASSWORD.v-1': 'x' } } });
  });

  it("keeps a RestoreSession's status out of writes to the object and its spec out of writes to /status", async () => {
    const created = (await custom.createNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, body: session('status-split') })) as {
      metadata: object;
      spec: object;
    };
    const replaced = (await custom.replaceNamespacedCustomObject({
      ...RESTORE_SESSIONS,
      namespace: NS,
      name: 'status-split',
      body: { ...created, status: { phase: 'Succeeded' } },
    })) as { status?: { phase?: string } };
    assert.equal(replaced.status?.phase, undefined);
    const withStatus = (await custom.replaceNamespacedCustomObjectStatus({
      ...RESTORE_SESSIONS,
      namespace: NS,
      name: 'status-split',
      body: { ...replaced, spec: { ...created.spec, timeOut: '1h' }, status: { phase: 'Running' } },
    })) as { spec: { timeOut?: string }; status?: { phase?: string } };
    assert.equal(withStatus.status?.phase, 'Running');
    assert.equal(withStatus.spec.timeOut, undefined);
  });

  it('keeps a deleted object with a finalizer (deletionTimestamp set) until the finalizer goes', async () => {
    await custom.createNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, body: session('finalized', { finalizers: ['restore.gitops/cleanup'] }) });
    await custom.deleteNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, name: 'finalized' });
    const terminating = (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, name: 'finalized' })) as {
      metadata: { deletionTimestamp?: string; finalizers?: string[] };
    };
    assert.ok(terminating.metadata.deletionTimestamp);
    await custom.replaceNamespacedCustomObject({
      ...RESTORE_SESSIONS,
      namespace: NS,
      name: 'finalized',
      body: { ...terminating, metadata: { ...terminating.metadata, finalizers: [] } },
    });
    await eventually(async () => (await refusal(custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, name: 'finalized' }))).code === 404);
  });

  it('refuses a server-side apply of a field another manager owns (409) unless forced', async () => {
    const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'owned', namespace: NS }, data: { k: 'one' } };
    assert.equal((await t.kubectl(['apply', '--server-side', '--field-manager', 'first', '-f', '-'], stringify(cm))).code, 0);
    const other = stringify({ ...cm, data: { k: 'two' } });
    const refused = await t.kubectl(['apply', '--server-side', '--field-manager', 'second', '-f', '-'], other);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /conflict/i);
    assert.equal((await t.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'second', '-f', '-'], other)).code, 0);
    assert.equal((await core.readNamespacedConfigMap({ namespace: NS, name: 'owned' })).data?.['k'], 'two');
  });

  it('a watch from a resourceVersion sends what changed after it, in order', async () => {
    const list = await core.listNamespacedConfigMap({ namespace: NS });
    const seen: string[] = [];
    const req = await new k8s.Watch(t.kc).watch(
      `/api/v1/namespaces/${NS}/configmaps`,
      { resourceVersion: list.metadata!.resourceVersion! },
      (type: string, o: k8s.V1ConfigMap) => seen.push(`${type} ${o.metadata?.name}`),
      () => undefined,
    );
    try {
      await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name: 'watched' } } });
      await core.deleteNamespacedConfigMap({ namespace: NS, name: 'watched' });
      await eventually(() => seen.includes('DELETED watched'));
      const mine = seen.filter((s) => s.endsWith(' watched'));
      assert.equal(mine[0], 'ADDED watched', seen.join(', '));
      assert.equal(mine.at(-1), 'DELETED watched', seen.join(', '));
    } finally {
      req.abort();
    }
  });

  it("lists a built-in kind's items without apiVersion and kind (the list names them), a custom resource's with theirs; a watch event's object has them", async () => {
    await t.kc.makeApiClient(k8s.AppsV1Api).createNamespacedDeployment({
      namespace: NS,
      body: {
        metadata: { name: 'listed' },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: 'listed' } },
          template: { metadata: { labels: { app: 'listed' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
        },
      },
    });
    await custom.createNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, body: session('listed') });
    // As the controller's informers list them: plain JSON (CustomObjectsApi), no typed model in between.
    const deployments = (await custom.listNamespacedCustomObject({ group: 'apps', version: 'v1', plural: 'deployments', namespace: NS })) as {
      kind: string;
      apiVersion: string;
      items: Array<{ kind?: string; apiVersion?: string; metadata: { name: string } }>;
    };
    assert.deepEqual([deployments.kind, deployments.apiVersion], ['DeploymentList', 'apps/v1']);
    const listed = deployments.items.find((o) => o.metadata.name === 'listed')!;
    assert.deepEqual([listed.kind, listed.apiVersion], [undefined, undefined]);
    const sessions = (await custom.listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS })) as {
      items: Array<{ kind?: string; apiVersion?: string; metadata: { name: string } }>;
    };
    const s = sessions.items.find((o) => o.metadata.name === 'listed')!;
    assert.deepEqual([s.kind, s.apiVersion], ['RestoreSession', 'stash.appscode.com/v1beta1']);

    const seen: Array<{ kind?: string; apiVersion?: string }> = [];
    const req = await new k8s.Watch(t.kc).watch(
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      { fieldSelector: 'metadata.name=listed' },
      (_type: string, o: { kind?: string; apiVersion?: string }) => seen.push(o),
      () => undefined,
    );
    try {
      const first = await eventually(() => seen[0]);
      assert.deepEqual([first.kind, first.apiVersion], ['Deployment', 'apps/v1']);
    } finally {
      req.abort();
    }
  });

  // The documented differences (README "Known gaps"): each engine's own behaviour.

  it('pages a LIST (limit/continue): a cache filled three at a time holds every session, trimmed, and watches on from the last page', async () => {
    const names = Array.from({ length: 7 }, (_, i) => `paged-${i}`);
    const r = await t.kubectl(['apply', '--server-side', '-f', '-'], names.map((n) => stringify(session(n))).join('---\n'));
    assert.equal(r.code, 0, r.stderr);
    const pages: ListPage[] = [];
    const informer = new ResilientInformer<k8s.KubernetesObject>({
      kc: t.kc,
      path: collectionPath(`${RESTORE_SESSIONS.group}/${RESTORE_SESSIONS.version}`, RESTORE_SESSIONS.plural, NS),
      list: (page) => {
        pages.push(page);
        return custom.listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, ...page }) as Promise<k8s.KubernetesListObject<k8s.KubernetesObject>>;
      },
      pageSize: 3,
      keep: withoutManagedFields,
    });
    await informer.start();
    try {
      await informer.ready;
      const cached = () => informer.list(NS).filter((o) => o.metadata!.name!.startsWith('paged-'));
      const cachedNames = cached().map((o) => o.metadata!.name);
      assert.deepEqual(cachedNames.sort(), names);
      assert.ok(pages.length >= 3, `${pages.length} pages`);
      assert.deepEqual(pages[0], { limit: 3 });
      assert.ok(pages.slice(1).every((p) => p.limit === 3 && p._continue));
      assert.ok(cached().every((o) => o.metadata!.managedFields === undefined && o.kind === 'RestoreSession'));
      await apply(session('paged-7'));
      await eventually(() => informer.get('paged-7', NS), 20_000);
    } finally {
      await informer.stop();
    }
  });

  it('authorizes requests: a ServiceAccount without a grant is forbidden (the embedded engine has no RBAC)', async () => {
    const r = await t.kubectl(['get', 'secrets', '-n', NS, '--as', `system:serviceaccount:${NS}:default`]);
    if (ENGINE === 'kube-apiserver') {
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /forbidden/i);
    } else assert.equal(r.code, 0, r.stderr);
  });

  it('applies Pod Security: a baseline namespace refuses a hostPath pod (the embedded engine has no admission)', async () => {
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `${NS}-baseline`, labels: { 'pod-security.kubernetes.io/enforce': 'baseline' } } });
    const pod = {
      metadata: { name: 'host-path' },
      spec: { containers: [{ name: 'c', image: 'busybox' }], volumes: [{ name: 'v', hostPath: { path: '/data' } }] },
    };
    const created = core.createNamespacedPod({ namespace: `${NS}-baseline`, body: pod, dryRun: 'All' });
    if (ENGINE === 'kube-apiserver') {
      const r = await refusal(created);
      assert.equal(r.code, 403);
      assert.match(r.body.message ?? '', /violates PodSecurity "baseline:latest": hostPath volumes/);
    } else await created;
  });

  it('the default StorageClass `standard` binds on first use on the real engine (as kind), at once on the embedded one; `immediate` at once on both', async () => {
    const sc = t.kc.makeApiClient(k8s.StorageV1Api);
    const standard = await sc.readStorageClass({ name: 'standard' });
    assert.equal(standard.metadata?.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
    assert.equal(standard.volumeBindingMode, ENGINE === 'kube-apiserver' ? 'WaitForFirstConsumer' : 'Immediate');
    assert.equal((await sc.readStorageClass({ name: 'immediate' })).volumeBindingMode, 'Immediate');
  });
});
