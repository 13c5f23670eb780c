// A target workload kept in sync by Flux or Argo CD may lose the injected stash-init on the
// owner's next sync: the session says so in a condition and a Warning event, and still runs.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { KubeObject, RestoreSession } from '../../src/api/index.ts';
import { ControllerCluster, reconcileSession } from '../../src/controller/index.ts';
import { gitopsOwner } from '../../src/controller/gitops-owner.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const NS = 'gitops';
const config = { agent: { image: 'restorectl:test' } };

const deployment = (name: string, labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: NS, labels, ...(Object.keys(annotations).length ? { annotations } : {}) },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'busybox' }] } },
  },
});
const session = (name: string, target: string) => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: { name, namespace: NS },
  spec: {
    repository: { name: 'repo' },
    target: { alias: 'app', ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, rules: [{ paths: ['/data'] }] },
  },
});

describe('controller: a target managed by Flux or Argo CD', function () {
  this.timeout(60_000);
  let t: TestSandbox;
  let cluster: ControllerCluster;
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;

  const apply = async (...objs: object[]) => {
    const r = await t.kubectl(['apply', '--server-side', '-f', '-'], objs.map((o) => stringify(o)).join('---\n'));
    assert.equal(r.code, 0, r.stderr);
  };
  /** Reconciles a fresh session on `target` and returns it with the events on it and on the workload. */
  const restore = async (name: string, target: string) => {
    await apply(session(name, target));
    await reconcileSession(cluster, config, NS, name);
    const s = (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, name })) as RestoreSession;
    const events = (await core.listNamespacedEvent({ namespace: NS })).items;
    return {
      session: s,
      condition: s.status?.conditions?.find((c) => c.type === 'WorkloadManagedByGitOps'),
      onSession: events.filter((e) => e.involvedObject.name === name && e.reason === 'WorkloadManagedByGitOps'),
      onWorkload: events.filter((e) => e.involvedObject.name === target && e.reason === 'WorkloadManagedByGitOps'),
    };
  };

  before(async () => {
    t = await startSandbox();
    cluster = new ControllerCluster(t.kc);
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    core = t.kc.makeApiClient(k8s.CoreV1Api);
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    await apply(
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'repo-secret', namespace: NS }, stringData: { RESTIC_PASSWORD: 'x' } },
      {
        apiVersion: 'stash.appscode.com/v1alpha1',
        kind: 'Repository',
        metadata: { name: 'repo', namespace: NS },
        spec: { backend: { local: { mountPath: '/repo', hostPath: { path: '/tmp/none' } }, storageSecretName: 'repo-secret' } },
      },
      deployment('flux-app', { app: 'flux-app', 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' }),
      deployment(
        'argo-app',
        { app: 'argo-app', 'app.kubernetes.io/instance': 'guestbook' },
        { 'argocd.argoproj.io/tracking-id': 'guestbook:apps/Deployment:gitops/argo-app' },
      ),
      deployment('helm-app', { app: 'helm-app', 'app.kubernetes.io/instance': 'web', 'app.kubernetes.io/managed-by': 'Helm' }),
    );
  });
  after(() => t?.stop());

  it('Flux: a Warning event on the session and the workload and a condition name the Kustomization and how to suspend it; the restore goes on', async () => {
    const r = await restore('flux-restore', 'flux-app');
    assert.equal(r.session.status?.phase, 'Running');
    assert.equal(r.condition?.status, 'True');
    assert.equal(r.condition?.reason, 'ManagedByFlux');
    assert.equal(
      r.condition?.message,
      'Deployment gitops/flux-app is managed by Flux (Kustomization flux-system/apps), which may remove the injected stash-init on its next sync, before every pod has restored: suspend it until the restore is done: flux suspend kustomization apps -n flux-system',
    );
    assert.equal(r.onSession.length, 1);
    assert.equal(r.onSession[0]!.type, 'Warning');
    assert.equal(r.onSession[0]!.message, r.condition?.message);
    assert.equal(r.onWorkload.length, 1);
    assert.match(r.onWorkload[0]!.message!, /^RestoreSession gitops\/flux-restore: Deployment gitops\/flux-app is managed by Flux/);
  });

  it('Argo CD (annotation tracking): the Application is named, and the event is not repeated by later reconciles', async () => {
    const r = await restore('argo-restore', 'argo-app');
    assert.equal(r.condition?.reason, 'ManagedByArgoCD');
    assert.match(
      r.condition!.message!,
      /^Deployment gitops\/argo-app is managed by Argo CD \(Application guestbook\), which may remove the injected stash-init on its next sync.*turn off its automated sync \(selfHeal\)/,
    );
    await reconcileSession(cluster, config, NS, 'argo-restore');
    const again = (await core.listNamespacedEvent({ namespace: NS })).items.filter(
      (e) => e.involvedObject.name === 'argo-restore' && e.reason === 'WorkloadManagedByGitOps',
    );
    assert.equal(again.length, 1);
  });

  it('a Helm release alone (app.kubernetes.io/instance) is not taken for Argo CD: no warning', async () => {
    const r = await restore('helm-restore', 'helm-app');
    assert.equal(r.session.status?.phase, 'Running');
    assert.equal(r.condition, undefined);
    assert.deepEqual(r.onSession, []);
  });

  it("reads the other markers: Flux HelmRelease labels, Argo CD's instance label", () => {
    const obj = (labels: Record<string, string>): KubeObject => ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', labels } });
    assert.deepEqual(gitopsOwner(obj({ 'helm.toolkit.fluxcd.io/name': 'db', 'helm.toolkit.fluxcd.io/namespace': 'data' })), {
      tool: 'Flux',
      owner: 'HelmRelease data/db',
      advice: 'suspend it until the restore is done: flux suspend helmrelease db -n data',
    });
    assert.equal(gitopsOwner(obj({ 'argocd.argoproj.io/instance': 'db-app' }))?.owner, 'Application db-app');
  });
});
