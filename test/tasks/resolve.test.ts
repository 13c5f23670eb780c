// A Stash Task resolved into a restore Job's pod as Stash's resolver builds it, checked against
// Stash's own postgres-restore-11.9 and pvc-restore Tasks and Functions (test/api/fixtures/stash-catalog).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import type { KubeObject, Repository, RestoreSession, StashFunction, Task } from '../../src/api/index.ts';
import { resolveHosts } from '../../src/hosts/index.ts';
import { isRestoreError } from '../../src/common/errors.ts';
import { resolveTask, stashVariables, substitute } from '../../src/tasks/index.ts';

const CATALOG = fileURLToPath(new URL('../api/fixtures/stash-catalog/', import.meta.url));
const PLAN_FIX = fileURLToPath(new URL('../plan/fixtures/task-restores/source/', import.meta.url));
const catalog: KubeObject[] = readdirSync(CATALOG).flatMap((f) => parseAllDocuments(readFileSync(join(CATALOG, f), 'utf8')).map((d) => d.toJS() as KubeObject));
const taskNamed = (name: string) => catalog.find((o) => o.kind === 'Task' && o.metadata.name === name) as Task;
const functionOf = (name: string) => catalog.find((o) => o.kind === 'Function' && o.metadata.name === name) as StashFunction | undefined;
const docsSession = (): RestoreSession => parse(readFileSync(join(PLAN_FIX, 'postgres-restore.yaml'), 'utf8'));
const repository: Repository = parse(readFileSync(join(PLAN_FIX, 'repository.yaml'), 'utf8'));

function resolveFor(session: RestoreSession, task: Task, opts: { interimClaimName?: string } = {}) {
  const r = resolveHosts(session, undefined);
  assert.ok(r.known);
  const variables = stashVariables({ session, repository, host: r.hosts[0]! });
  return resolveTask(session, task, functionOf, variables, opts);
}

describe("tasks: resolving a Task into the restore Job's pod", () => {
  it("builds Stash's postgres-restore-11.9 Job for the docs' session: the addon step as init-container, update-status last, every variable substituted", () => {
    const { podSpec, steps } = resolveFor(docsSession(), taskNamed('postgres-restore-11.9'));
    assert.deepEqual(
      steps.map((s) => [s.function, s.container.name]),
      [
        ['postgres-restore-11.9', 'postgres-restore-11-9-0'],
        ['update-status', 'update-status-1'],
      ],
    );
    const [pg] = podSpec.initContainers!;
    assert.equal(pg!.image, 'ghcr.io/stashed/stash-postgres:11.9-v37');
    assert.deepEqual(pg!.args, [
      'restore-pg',
      '--provider=gcs',
      '--bucket=stash-testing',
      '--endpoint=',
      '--insecure-tls=false',
      '--region=',
      '--path=/demo/postgres/sample-postgres',
      '--storage-secret-name=gcs-secret',
      '--storage-secret-namespace=demo',
      '--scratch-dir=/stash-tmp',
      '--enable-cache=true',
      '--max-connections=0',
      '--hostname=host-0',
      '--source-hostname=host-0',
      '--pg-args=',
      '--wait-timeout=300',
      '--namespace=demo',
      '--appbinding=sample-postgres',
      '--appbinding-namespace=demo',
      '--snapshot=latest',
      '--output-dir=/stash-tmp/output',
      '--license-apiservice=',
      '--user=',
    ]);
    assert.deepEqual(pg!.volumeMounts, [{ name: 'stash-tmp-dir', mountPath: '/stash-tmp' }]);
    assert.equal(pg!['imagePullPolicy'], 'IfNotPresent');
    const status = podSpec.containers[0]!;
    assert.equal(status.name, 'update-status-1');
    for (const a of [
      '--invoker-kind=RestoreSession',
      '--invoker-name=sample-postgres-restore',
      '--target-kind=AppBinding',
      '--target-name=sample-postgres',
      '--target-namespace=demo',
      '--output-dir=/stash-tmp/output',
      '--backupsession=',
    ]) {
      assert.ok(status.args!.includes(a), `${a} in ${status.args!.join(' ')}`);
    }
    assert.deepEqual(podSpec.volumes, [{ name: 'stash-tmp-dir', emptyDir: {} }]);
    assert.equal(podSpec.restartPolicy, 'Never');
    assert.deepEqual(podSpec.securityContext, { runAsUser: 0, runAsGroup: 0 });
  });

  it("passes the session's task.params over the step's params and the defaults (args, waitTimeout, outputDir)", () => {
    const s = docsSession();
    s.spec.task!.params = [
      { name: 'args', value: '--clean --if-exists' },
      { name: 'waitTimeout', value: '600' },
      { name: 'outputDir', value: '/stash-tmp/out2' },
    ];
    const pg = resolveFor(s, taskNamed('postgres-restore-11.9')).podSpec.initContainers![0]!;
    for (const a of ['--pg-args=--clean --if-exists', '--wait-timeout=600', '--output-dir=/stash-tmp/out2']) assert.ok(pg.args!.includes(a), a);
  });

  it("builds pvc-restore for a stand-alone PVC: the claim mounted at /stash-data, the rule's paths, snapshots and patterns", () => {
    const s = docsSession();
    s.spec.task = { name: 'pvc-restore' };
    s.spec.target = {
      ref: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'restore-pvc' },
      rules: [{ paths: ['/source/data'], include: ['/source/data/keep'] }],
    };
    const { podSpec } = resolveFor(s, taskNamed('pvc-restore'));
    assert.deepEqual(podSpec.volumes, [
      { name: 'stash-volume', persistentVolumeClaim: { claimName: 'restore-pvc' } },
      { name: 'stash-tmp-dir', emptyDir: {} },
    ]);
    const restore = podSpec.initContainers![0]!;
    assert.equal(restore.name, 'pvc-restore-0');
    assert.deepEqual(restore.volumeMounts, [
      { name: 'stash-volume', mountPath: '/stash-data' },
      { name: 'stash-tmp-dir', mountPath: '/stash-tmp' },
    ]);
    for (const a of [
      '--restore-paths=/source/data',
      '--include=/source/data/keep',
      '--snapshots=',
      '--target-kind=PersistentVolumeClaim',
      '--target-name=restore-pvc',
      '--hostname=host-0',
    ])
      assert.ok(restore.args!.includes(a), a);
  });

  it("mounts a target's own volumeMounts path, the interim volume and applies tempDir and runtimeSettings", () => {
    const s = docsSession();
    s.spec.task = { name: 'pvc-restore' };
    s.spec.target = {
      ref: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data' },
      volumeMounts: [{ name: 'data', mountPath: '/restore' }],
      rules: [{ snapshots: ['4bc21d6f'] }],
    };
    s.spec.interimVolumeTemplate = { metadata: { name: 'interim' }, spec: { accessModes: ['ReadWriteOnce'] } };
    s.spec.tempDir = { medium: 'Memory', sizeLimit: '1Gi' };
    s.spec.runtimeSettings = {
      container: { env: [{ name: 'TZ', value: 'UTC' }], securityContext: { runAsUser: 1000 } },
      pod: { securityContext: { fsGroup: 65534 } },
    };
    const { podSpec } = resolveFor(s, taskNamed('pvc-restore'), { interimClaimName: 'sample-postgres-restore-interim' });
    const restore = podSpec.initContainers![0]!;
    assert.deepEqual(restore.volumeMounts, [
      { name: 'stash-volume', mountPath: '/restore' },
      { name: 'stash-tmp-dir', mountPath: '/stash-tmp' },
      { name: 'stash-interim-volume', mountPath: '/stash-interim-volume' },
    ]);
    assert.ok(restore.args!.includes('--snapshots=4bc21d6f'));
    assert.deepEqual(restore.env, [{ name: 'TZ', value: 'UTC' }]);
    assert.deepEqual(restore.securityContext, { runAsUser: 1000 });
    assert.deepEqual(
      podSpec.volumes!.find((v) => v.name === 'stash-tmp-dir'),
      { name: 'stash-tmp-dir', emptyDir: { medium: 'Memory', sizeLimit: '1Gi' } },
    );
    assert.deepEqual(
      podSpec.volumes!.find((v) => v.name === 'stash-interim-volume'),
      { name: 'stash-interim-volume', persistentVolumeClaim: { claimName: 'sample-postgres-restore-interim' } },
    );
    assert.deepEqual(podSpec.securityContext, { runAsUser: 0, runAsGroup: 0, fsGroup: 65534 });
    const r = resolveHosts(s, undefined);
    assert.ok(r.known);
    assert.equal(stashVariables({ session: s, repository, host: r.hosts[0]! })['INTERIM_DATA_DIR'], '/stash-interim-volume/data');
  });

  it('says which Function is missing and which variable a Function needs that nothing sets', () => {
    const s = docsSession();
    const task = { ...taskNamed('postgres-restore-11.9'), spec: { steps: [{ name: 'postgres-restore-11.9' }, { name: 'no-such-function' }] } } as Task;
    assert.throws(
      () => resolveFor(s, task),
      (e: unknown) =>
        isRestoreError(e, 'FunctionNotFound') &&
        /Function no-such-function of Task postgres-restore-11\.9 \(step 1\) is not in the cluster/.test((e as Error).message),
    );
    const fn = {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'Function',
      metadata: { name: 'needs-db' },
      spec: { image: 'x', args: ['--db=${DATABASE}'] },
    } as StashFunction;
    const t = { apiVersion: 'stash.appscode.com/v1beta1', kind: 'Task', metadata: { name: 'custom' }, spec: { steps: [{ name: 'needs-db' }] } } as Task;
    const variables = stashVariables({ session: s, repository, host: { host: 'host-0', sourceHost: 'host-0', restores: true } });
    assert.throws(
      () => resolveTask(s, t, () => fn, variables),
      (e: unknown) =>
        isRestoreError(e, 'VariableNotFound') &&
        (e as Error).message === 'cannot resolve Function needs-db of Task custom: variable DATABASE is not set and "${DATABASE}" has no default',
    );
    assert.throws(
      () => resolveTask(s, { ...t, spec: { steps: [] } }, () => fn, variables),
      (e: unknown) => isRestoreError(e, 'TaskHasNoSteps'),
    );
  });
});

describe("tasks: Stash's substitution", () => {
  it('gives a set variable, the default only for an unset one, keeps $$ as $ and leaves $(VAR) to Kubernetes', () => {
    const vars = { A: 'a', EMPTY: '' };
    assert.equal(substitute('--x=${A} --y=${B:=dflt} --z=${EMPTY:=dflt} --w=${B:-d2} --v=${B=d3}', vars), '--x=a --y=dflt --z= --w=d2 --v=d3');
    assert.equal(substitute('cost $$5 $(POD_NAME) $A', vars), 'cost $5 $(POD_NAME) $A');
    assert.throws(
      () => substitute('${B}', vars),
      (e: unknown) => isRestoreError(e, 'VariableNotFound'),
    );
    assert.throws(
      () => substitute('${A^}', vars),
      (e: unknown) => isRestoreError(e, 'VariableSyntax'),
    );
    assert.throws(
      () => substitute('${A', vars),
      (e: unknown) => isRestoreError(e, 'VariableSyntax'),
    );
  });
});
