// The agent's small REST client (src/kube/rest.ts) against the real API, on both engines (npm test
// runs it on the embedded sandbox, npm run test:kube on kube-apiserver): the calls the agent makes
// (read its session, Repository and Secret, write status, events, the restore Lease), its errors
// as the rest of the program reads them (404, 409, 403, a refused connection), and on the real
// engine TLS and a service account token as a pod has them (a rotated token is read again).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { AgentCluster } from '../../src/agent/cluster.ts';
import type { RestoreSession } from '../../src/api/index.ts';
import { isRestoreError } from '../../src/common/errors.ts';
import { apiErrorInfo, isConflict, isNotFound } from '../../src/kube/api-error.ts';
import { KubeRest } from '../../src/kube/rest.ts';
import { inCluster, restConnection } from '../../src/kube/rest-config.ts';
import { retryClass } from '../../src/kube/retry.ts';
import { ENGINE, startEngine } from '../support/sandbox.ts';
import type { EngineSandbox } from '../support/sandbox.ts';

const NS = 'rest-client';

describe(`the agent's REST client, on the ${ENGINE} engine`, function () {
  this.timeout(60_000);
  let t: EngineSandbox;
  let dir: string;
  let cluster: AgentCluster;
  const kubectl = async (args: string[], input?: string) => {
    const r = await t.kubectl(args, input);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const apply = (o: object) => kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], stringify(o));

  before(async () => {
    t = await startEngine();
    dir = mkdtempSync(join(tmpdir(), 'rest-client-test-'));
    await kubectl(['apply', '--server-side', '-f', 'deploy/crds']);
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'repo-secret', namespace: NS }, stringData: { RESTIC_PASSWORD: 'pw', 'b.key': 'ü' } });
    await apply({
      apiVersion: 'stash.appscode.com/v1alpha1',
      kind: 'Repository',
      metadata: { name: 'repo', namespace: NS },
      spec: { backend: { local: { mountPath: '/safe', hostPath: { path: '/data' } }, storageSecretName: 'repo-secret' } },
    });
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 's', namespace: NS },
      spec: { repository: { name: 'repo' }, target: { ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' } } },
    });
    // the admin kubeconfig: plain HTTP on the embedded engine; TLS with a client certificate on the real one
    cluster = await AgentCluster.connect({ kubeconfig: t.kubeconfigPath });
  });
  after(async () => {
    cluster?.close();
    await t?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reads a session, its Repository and its Secret (decoded)', async () => {
    const s = await cluster.session(NS, 's');
    assert.equal(s.metadata.name, 's');
    assert.equal(s.spec.repository?.name, 'repo');
    assert.equal((await cluster.repository(NS, 'repo')).spec.backend.storageSecretName, 'repo-secret');
    assert.deepEqual(await cluster.secretData(NS, 'repo-secret'), { RESTIC_PASSWORD: 'pw', 'b.key': 'ü' });
  });

  it('a missing object is a 404 the agent names (SessionNotFound, with the status)', async () => {
    await assert.rejects(
      cluster.session(NS, 'nope'),
      (e: unknown) => isRestoreError(e, 'SessionNotFound') && (e as { data: { status?: number } }).data.status === 404 && isNotFound((e as Error).cause),
    );
    await assert.rejects(cluster.secretData(NS, 'nope'), (e: unknown) => isRestoreError(e, 'SecretNotFound') && /does not exist/.test((e as Error).message));
  });

  it('writes status through /status with the resourceVersion read; a stale one is a 409 conflict', async () => {
    const written = await cluster.updateStatus(NS, 's', (s) => ({ ...s.status, phase: 'Running', totalHosts: 1 }));
    assert.equal(written.status?.phase, 'Running');
    const admin = t.kc.makeApiClient(k8s.CustomObjectsApi);
    const live = (await admin.getNamespacedCustomObject({
      group: 'stash.appscode.com',
      version: 'v1beta1',
      namespace: NS,
      plural: 'restoresessions',
      name: 's',
    })) as RestoreSession;
    assert.equal(live.status?.totalHosts, 1);
    const rest = new KubeRest(await restConnection({ kubeconfig: t.kubeconfigPath }));
    try {
      const path = `/apis/stash.appscode.com/v1beta1/namespaces/${NS}/restoresessions/s/status`;
      const stale = { ...live, metadata: { ...live.metadata, resourceVersion: String(Number(live.metadata.resourceVersion) - 1) } };
      const err = await rest.put(path, stale).then(
        () => assert.fail('a stale resourceVersion was accepted'),
        (e: unknown) => e,
      );
      assert.ok(isConflict(err), String(err));
      assert.equal(apiErrorInfo(err).reason, 'Conflict');
      assert.equal(retryClass(err), 'conflict');
    } finally {
      rest.close();
    }
  });

  it('records an event on the session', async () => {
    const s = await cluster.session(NS, 's');
    await cluster.event(s, 'Normal', 'Host Restore Started', 'host host-0: restoring', 'host-0');
    const events = (await t.kc.makeApiClient(k8s.CoreV1Api).listNamespacedEvent({ namespace: NS })).items;
    const e = events.find((x) => x.reason === 'Host Restore Started');
    assert.ok(e, `no event among ${events.map((x) => x.reason).join(', ')}`);
    assert.equal(e.involvedObject.name, 's');
    assert.equal(e.involvedObject.uid, s.metadata.uid);
    assert.equal(e.source?.component, 'restore-agent');
    assert.equal(e.reportingInstance, 'host-0');
  });

  it('takes, refuses, releases and hands over the restore Lease (MicroTime the API server accepts)', async () => {
    assert.equal(await cluster.acquireLease(NS, 'restore-app', 'pod-a', 60), true);
    assert.equal(await cluster.acquireLease(NS, 'restore-app', 'pod-a', 60), true, 'renewed by its holder');
    assert.equal(await cluster.acquireLease(NS, 'restore-app', 'pod-b', 60), false, 'held by pod-a, not expired');
    const lease = await t.kc.makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ namespace: NS, name: 'restore-app' });
    assert.equal(lease.spec?.holderIdentity, 'pod-a');
    assert.equal(lease.spec?.leaseDurationSeconds, 60);
    await cluster.releaseLease(NS, 'restore-app', 'pod-b'); // not the holder: nothing changes
    assert.equal(await cluster.acquireLease(NS, 'restore-app', 'pod-b', 60), false);
    await cluster.releaseLease(NS, 'restore-app', 'pod-a');
    assert.equal(await cluster.acquireLease(NS, 'restore-app', 'pod-b', 60), true, 'free once released');
  });

  it('a refused connection is a transient failure (retried through an outage)', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const rest = new KubeRest({ server: `http://127.0.0.1:${port}`, tls: {}, headers: () => ({}), source: 'test' });
    const err = await rest.get('/api').then(
      () => assert.fail('connected to a closed port'),
      (e: unknown) => e,
    );
    assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.equal(retryClass(err), 'transient');
  });

  describe('as in a pod: TLS with the cluster CA and a service account token (real engine)', () => {
    const SA = 'agent-sa';
    let sa: string;
    let env: Record<string, string>;
    const token = async () => (await kubectl(['create', 'token', SA, '-n', NS, '--duration', '1h'])).trim();

    before(async function () {
      if (t.engine !== 'kube-apiserver') this.skip(); // the embedded engine has no TLS and no authentication
      await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: SA, namespace: NS } });
      await apply({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: SA, namespace: NS },
        rules: [
          { apiGroups: ['stash.appscode.com'], resources: ['restoresessions'], verbs: ['get'] },
          { apiGroups: ['stash.appscode.com'], resources: ['restoresessions/status'], verbs: ['get', 'update'] },
        ],
      });
      await apply({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: SA, namespace: NS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: SA },
        subjects: [{ kind: 'ServiceAccount', name: SA, namespace: NS }],
      });
      const admin = parse(readFileSync(t.kubeconfigPath, 'utf8')) as { clusters: { cluster: Record<string, string> }[] };
      const c = admin.clusters[0]!.cluster;
      const ca = c['certificate-authority-data'] ? Buffer.from(c['certificate-authority-data'], 'base64') : readFileSync(c['certificate-authority']!);
      sa = join(dir, 'serviceaccount');
      mkdirSync(sa, { recursive: true });
      writeFileSync(join(sa, 'ca.crt'), ca);
      writeFileSync(join(sa, 'token'), await token());
      const server = new URL(c['server']!);
      env = { KUBERNETES_SERVICE_HOST: server.hostname, KUBERNETES_SERVICE_PORT: server.port || '443' };
    });

    it('reads and writes what its Role grants, over TLS verified against the service account CA', async () => {
      const pod = new AgentCluster(new KubeRest(inCluster(env, sa)));
      try {
        assert.equal((await pod.session(NS, 's')).metadata.name, 's');
        const s = await pod.updateStatus(NS, 's', (x) => ({ ...x.status, phase: 'Running', totalHosts: 2 }));
        assert.equal(s.status?.totalHosts, 2);
      } finally {
        pod.close();
      }
    });

    it('what its Role does not grant is a 403 the agent does not retry', async () => {
      const pod = new AgentCluster(new KubeRest(inCluster(env, sa)));
      try {
        const err = await pod.secretData(NS, 'repo-secret').then(
          () => assert.fail('read a Secret the Role does not grant'),
          (e: unknown) => e,
        );
        assert.ok(isRestoreError(err, 'SecretNotFound'), String(err));
        assert.equal(apiErrorInfo((err as Error).cause).code, 403);
        assert.match((err as Error).message, /forbidden/);
        assert.equal(retryClass(err), 'permanent');
      } finally {
        pod.close();
      }
    });

    it('reads the token file again for each request: a rotated token is used at once', async () => {
      const pod = new AgentCluster(new KubeRest(inCluster(env, sa)));
      try {
        writeFileSync(join(sa, 'token'), 'not-a-token');
        const err = await pod.session(NS, 's').then(
          () => assert.fail('an invalid token was accepted'),
          (e: unknown) => e,
        );
        assert.equal(apiErrorInfo((err as Error).cause).code, 401);
        writeFileSync(join(sa, 'token'), await token());
        assert.equal((await pod.session(NS, 's')).metadata.name, 's');
      } finally {
        pod.close();
      }
    });

    it('a server certificate the CA did not sign is refused (no silent skip of verification)', async () => {
      const other = join(dir, 'other-sa');
      mkdirSync(other, { recursive: true });
      // a CA of its own: the admin client certificate is a certificate, but not the server's issuer
      const admin = parse(readFileSync(t.kubeconfigPath, 'utf8')) as { users: { user: Record<string, string> }[] };
      const u = admin.users[0]!.user;
      const notTheCa = u['client-certificate-data'] ? Buffer.from(u['client-certificate-data'], 'base64') : readFileSync(u['client-certificate']!);
      writeFileSync(join(other, 'ca.crt'), notTheCa);
      writeFileSync(join(other, 'token'), readFileSync(join(sa, 'token')));
      const rest = new KubeRest(inCluster(env, other));
      try {
        const err = await rest.get('/api').then(
          () => assert.fail('a server certificate was accepted without its CA'),
          (e: unknown) => e,
        );
        assert.match(String((err as NodeJS.ErrnoException).code), /CERT|SIGNATURE|UNABLE_TO_VERIFY|SELF_SIGNED/);
        assert.equal(apiErrorInfo(err).code, undefined, 'no HTTP answer');
      } finally {
        rest.close();
      }
    });
  });
});
