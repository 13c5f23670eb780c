// Test helper for the controller's behaviour files: one sandbox per file, a namespace per test
// holding the example workloads, the Repository and its Secret; sessions reconciled one step at
// a time (reconcileSession over HTTP), so a test reads like the sequence it pins.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { KubeObject, RestoreSession } from '../../src/api/index.ts';
import { ControllerCluster, reconcileSession } from '../../src/controller/index.ts';
import type { ReconcileConfig, ReconcileResult } from '../../src/controller/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { startEngine } from '../support/sandbox.ts';
import type { EngineSandbox } from '../support/sandbox.ts';
import type { SandboxOptions } from '@restore-controller/devkit/sandbox';

const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');
const workloads = readFileSync(new URL('../../examples/cluster-state/workloads.yaml', import.meta.url), 'utf8');
const inNamespace = <T extends KubeObject>(obj: T, ns: string, name?: string): T => ({
  ...obj,
  metadata: { ...obj.metadata, namespace: ns, ...(name ? { name } : {}) },
});

export interface SessionSandbox {
  t: EngineSandbox;
  cluster: ControllerCluster;
  core: k8s.CoreV1Api;
  apps: k8s.AppsV1Api;
  batch: k8s.BatchV1Api;
  /** This test's namespace. */
  ns: string;
  apply(obj: object | string): Promise<void>;
  /** An example session (examples/clusters/demo/FILE) in this test's namespace, renamed when `name` is given. */
  session(file: string, name?: string): RestoreSession & KubeObject;
  get(name: string): Promise<RestoreSession>;
  reconcile(name: string, cfg?: Partial<ReconcileConfig>): Promise<ReconcileResult>;
  /** A session of another namespace (a tenant's). */
  getIn(namespace: string, name: string): Promise<RestoreSession>;
  reconcileIn(namespace: string, name: string, cfg?: Partial<ReconcileConfig>): Promise<ReconcileResult>;
  condition(s: RestoreSession, type: string): { status: string; reason?: string; message?: string } | undefined;
  /** Events of this namespace on the object named `name`. */
  events(name: string): Promise<k8s.CoreV1Event[]>;
}

/** Registers before/after/beforeEach hooks on the current suite and returns the live helper. */
export function useSessionSandbox(prefix: string, config: Partial<ReconcileConfig> = {}, sandbox: Partial<SandboxOptions> = {}): SessionSandbox {
  let namespaces = 0;
  const h = { ns: '' } as SessionSandbox;
  const applyText = async (yaml: string) => {
    const r = await h.t.kubectl(['apply', '--server-side', '-f', '-'], yaml);
    assert.equal(r.code, 0, r.stderr);
  };
  h.apply = (obj) => applyText(typeof obj === 'string' ? obj : stringify(obj));
  h.session = (file, name) => inNamespace(parse(example(file)) as KubeObject & RestoreSession, h.ns, name);
  h.getIn = async (namespace, name) =>
    (await h.t.kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace, name })) as RestoreSession;
  h.get = (name) => h.getIn(h.ns, name);
  h.reconcileIn = (namespace, name, cfg = {}) =>
    reconcileSession(h.cluster, { agent: { image: 'restorectl:test' }, pollMs: 50, ...config, ...cfg }, namespace, name);
  h.reconcile = (name, cfg = {}) => h.reconcileIn(h.ns, name, cfg);
  h.condition = (s, type) => s.status?.conditions?.find((c) => c.type === type) as { status: string; reason?: string; message?: string } | undefined;
  h.events = async (name) => (await h.core.listNamespacedEvent({ namespace: h.ns })).items.filter((e) => e.involvedObject.name === name);

  before(async function () {
    this.timeout(60_000);
    h.t = await startEngine(sandbox);
    h.cluster = new ControllerCluster(h.t.controllerKc);
    h.core = h.t.kc.makeApiClient(k8s.CoreV1Api);
    h.apps = h.t.kc.makeApiClient(k8s.AppsV1Api);
    h.batch = h.t.kc.makeApiClient(k8s.BatchV1Api);
    assert.equal((await h.t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
  });
  after(() => h.t?.stop());
  beforeEach(async () => {
    h.ns = `${prefix}-${++namespaces}`;
    await h.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: h.ns } });
    const objects = [
      ...parseAllDocuments(workloads).map((d) => d.toJS() as KubeObject),
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'local-repo-secret' }, stringData: { RESTIC_PASSWORD: 'not-used-here' } } as KubeObject,
      parse(example('repository.yaml')) as KubeObject,
    ];
    await applyText(objects.map((o) => stringify(inNamespace(o, h.ns))).join('---\n'));
  });
  return h;
}
