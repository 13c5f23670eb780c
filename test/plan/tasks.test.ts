// Task restores before anything runs: `restorectl plan` says which Task a session runs, refuses
// one nothing would run (the session would end Succeeded having restored nothing), and warns of
// a target that is missing (the session would wait Pending).
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { KubeObject } from '../../src/api/index.ts';
import { ClusterState, formatDiagnostic, validateSource } from '../../src/manifests/index.ts';
import type { Diagnostic } from '../../src/manifests/index.ts';
import { planRestores, planToMarkdown, planToText } from '../../src/plan/index.ts';
import type { Action } from '../../src/plan/index.ts';
import { restorectl } from '../support/cli.ts';

const FIX = fileURLToPath(new URL('./fixtures/task-restores/', import.meta.url));
const CATALOG = fileURLToPath(new URL('../api/fixtures/stash-catalog/', import.meta.url));
const SESSION_FILE = 'postgres-restore.yaml';
const sessionText = readFileSync(join(FIX, 'source', SESSION_FILE), 'utf8');
const repoText = readFileSync(join(FIX, 'source', 'repository.yaml'), 'utf8');
const objectsOf = (path: string): KubeObject[] => parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS() as KubeObject);
const appBinding = objectsOf(join(FIX, 'cluster-state', 'appbinding.yaml'))[0]!;
const pvcRestore = objectsOf(join(FIX, 'cluster-state', 'pvc-restore.yaml'));
const catalog = (...files: string[]) => files.flatMap((f) => objectsOf(join(CATALOG, f)));
const postgresCatalog = () => catalog('postgres-11.9-restore-task.yaml', 'postgres-11.9-restore-function.yaml');

/** The docs' session with `edit` applied, planned against `live` (no cluster state when undefined). */
function planOf(edit: (s: any) => void, live: KubeObject[] | undefined) {
  const s = parse(sessionText);
  edit(s);
  const files = [
    { path: SESSION_FILE, text: stringify(s) },
    { path: 'repository.yaml', text: repoText },
  ];
  const cluster = live && new ClusterState(live);
  const plan = planRestores({ desired: validateSource(files, cluster), cluster });
  return { plan, action: plan.actions.find((a) => a.kind === 'RestoreSession') as Action, diagnostics: plan.diagnostics };
}
const nothing = () => {};
const about = (ds: Diagnostic[], re: RegExp) => ds.filter((d) => re.test(d.message));
function theOne(ds: Diagnostic[], re: RegExp, severity: 'error' | 'warning'): Diagnostic {
  const hits = about(ds, re);
  assert.equal(hits.length, 1, `one diagnostic matching ${re}, got:\n${ds.map(formatDiagnostic).join('\n')}`);
  assert.equal(hits[0]!.severity, severity, formatDiagnostic(hits[0]!));
  return hits[0]!;
}
const errors = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 'error').map(formatDiagnostic);

describe('plan: task restores', () => {
  it('shows the database restore of Stash\'s docs as "job (task postgres-restore-11.9)", and accepts the built-in task without Stash\'s catalog', () => {
    const { plan, action, diagnostics } = planOf(nothing, [appBinding, ...pvcRestore]);
    assert.deepEqual(errors(diagnostics), []);
    assert.equal(action.executor, 'job');
    assert.equal(action.task, 'postgres-restore-11.9');
    assert.equal(action.totalHosts, 1);
    assert.deepEqual(
      action.hosts?.map((h) => h.host),
      ['host-0'],
    );
    assert.match(planToText(plan), /executor job \(task postgres-restore-11\.9\), 1 host\(s\)/);
    // What the built-in restore does: the dump file, the database and server, the AppBinding.
    assert.deepEqual(action.database, {
      database: 'PostgreSQL',
      dumpFile: 'dumpfile.sql',
      appBinding: 'demo/sample-postgres',
      server: 'sample-postgres.demo.svc:5432',
    });
    assert.match(
      planToText(plan),
      /\n {4}restores dumpfile\.sql of each host's snapshot into PostgreSQL at sample-postgres\.demo\.svc:5432 \(AppBinding demo\/sample-postgres\), built in\n {4}HOST +SNAPSHOT +SOURCE HOST.*\n {4}host-0 +latest +host-0/,
    );
    assert.match(
      planToMarkdown(plan),
      /restores dumpfile\.sql of each host's snapshot into PostgreSQL at sample-postgres\.demo\.svc:5432 \(AppBinding demo\/sample-postgres\), built in \|/,
    );
    assert.match(planToMarkdown(plan), /\| job \(task postgres-restore-11\.9\) \| 1 \|/);
  });

  it("does not warn that the built-in PostgreSQL restore would not run: the agent runs it without Stash's catalog", () => {
    const { diagnostics } = planOf(nothing, [appBinding, ...pvcRestore]);
    assert.deepEqual(about(diagnostics, /has no built-in restore for|will end Failed/).map(formatDiagnostic), []);
  });

  it("plan --output json keeps DESIGN §5's contract and adds the task", async () => {
    const r = await restorectl(['plan', '--source', join(FIX, 'source'), '--cluster-state', join(FIX, 'cluster-state'), '--output', 'json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const plan = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(plan), ['sourceCommit', 'diagnostics', 'actions']);
    const a = plan.actions.find((x: Action) => x.name === 'sample-postgres-restore');
    assert.deepEqual(
      { action: a.action, kind: a.kind, executor: a.executor, task: a.task, totalHosts: a.totalHosts },
      { action: 'create', kind: 'RestoreSession', executor: 'job', task: 'postgres-restore-11.9', totalHosts: 1 },
    );
    assert.deepEqual(a.database, {
      database: 'PostgreSQL',
      dumpFile: 'dumpfile.sql',
      appBinding: 'demo/sample-postgres',
      server: 'sample-postgres.demo.svc:5432',
    });
    assert.deepEqual(a.hosts, [{ host: 'host-0', sourceHost: 'host-0', snapshots: ['latest'], restores: true }]);
  });

  it('plans the PostgreSQL example (examples/databases/postgres) without error, naming the dump file, database, server and AppBinding', async () => {
    const ex = 'examples/databases/postgres';
    const r = await restorectl(['plan', '--source', `${ex}/clusters/demo`, '--cluster-state', `${ex}/cluster-state`]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /\+ create RestoreSession demo\/sample-postgres-restore .*\n.*\n {4}executor job \(task postgres-restore-11\.9\), 1 host\(s\)/);
    assert.match(
      r.stdout,
      /\n {4}restores dumpfile\.sql of each host's snapshot into PostgreSQL at restored-postgres\.demo\.svc:5432 \(AppBinding demo\/restored-postgres\), built in\n/,
    );
  });

  it("plans latest of host-0 for a database session whose rules match no host, as Stash's addons dump it, with no 'nothing will be restored' warning", () => {
    const { action, diagnostics } = planOf(
      (s) => {
        delete s.spec.rules;
        s.spec.target.rules = [{ targetHosts: ['host-1'], snapshots: ['4bba3011'] }];
      },
      [appBinding, ...pvcRestore],
    );
    assert.deepEqual(action.hosts, [{ host: 'host-0', sourceHost: 'host-0', restores: true, snapshots: ['latest'] }]);
    assert.deepEqual(about(diagnostics, /nothing will be restored/).map(formatDiagnostic), []);
  });

  it('plan refuses an unknown task and says which tasks exist', async () => {
    const { diagnostics } = planOf((s) => (s.spec.task.name = 'postgress-restore-11.9'), [appBinding, ...pvcRestore, ...postgresCatalog()]);
    const d = theOne(diagnostics, /Task "postgress-restore-11\.9"/, 'error');
    assert.equal(d.path, 'spec.task.name');
    assert.match(
      d.message,
      /neither in the cluster state nor one of Stash's addon tasks that restore-controller runs built in, so nothing would restore the data/,
    );
    assert.match(d.message, /install the Task and its Functions and list them in --cluster-state/);
    assert.match(d.message, /postgres-restore-<version>, mysql-restore-<version>, mariadb-restore-<version>, redis-restore-<version>, pvc-restore/);
    assert.match(d.message, /Tasks in the cluster state: postgres-restore-11\.9, pvc-restore$/);
    // The command exits 1 and prints it at the task's line.
    const dir = mkdtempSync(join(tmpdir(), 'plan-task-'));
    try {
      writeFileSync(join(dir, SESSION_FILE), sessionText.replace('postgres-restore-11.9', 'my-restore'));
      writeFileSync(join(dir, 'repository.yaml'), repoText);
      const r = await restorectl(['plan', '--source', dir, '--cluster-state', join(FIX, 'cluster-state')]);
      assert.equal(r.code, 1, r.stderr);
      const line = sessionText.split('\n').findIndex((l) => l.includes('postgres-restore-11.9')) + 1;
      assert.match(
        r.stdout,
        new RegExp(`${SESSION_FILE}:${line}:11: error: Task "my-restore" is neither in the cluster state.*Tasks in the cluster state: pvc-restore`),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("without a cluster state, refuses a task name that is not Stash's and says the state lists no Tasks", () => {
    const { diagnostics } = planOf((s) => (s.spec.task.name = 'custom-restore'), undefined);
    assert.match(theOne(diagnostics, /Task "custom-restore"/, 'error').message, /the cluster state lists no Tasks$/);
  });

  it("accepts a Task installed in the cluster (Stash's catalog YAML in --cluster-state), and refuses it when a Function of its steps is missing", () => {
    const task = {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'Task',
      metadata: { name: 'custom-pg-restore' },
      spec: { steps: [{ name: 'postgres-restore-11.9' }, { name: 'update-status' }] },
    } as KubeObject;
    const fns = [...catalog('postgres-11.9-restore-function.yaml'), ...pvcRestore.filter((o) => o.kind === 'Function')];
    const ok = planOf((s) => (s.spec.task.name = 'custom-pg-restore'), [appBinding, task, ...fns]);
    assert.deepEqual(errors(ok.diagnostics), []);
    assert.equal(ok.action.task, 'custom-pg-restore');
    const missing = planOf((s) => (s.spec.task.name = 'custom-pg-restore'), [appBinding, task, ...fns.filter((f) => f.metadata.name !== 'update-status')]);
    assert.match(
      theOne(missing.diagnostics, /Function/, 'error').message,
      /^Task "custom-pg-restore" step 1 runs Function "update-status", which is not in the cluster state: install it/,
    );
    const empty = planOf((s) => (s.spec.task.name = 'custom-pg-restore'), [appBinding, { ...task, spec: { steps: [] } }, ...fns]);
    assert.match(theOne(empty.diagnostics, /no steps/, 'error').message, /Stash refuses a Task without steps/);
  });

  it('warns that a missing AppBinding or PVC target is not found and the session will wait (Pending)', () => {
    const db = planOf(nothing, [...pvcRestore]);
    const d = theOne(db.diagnostics, /target not found/, 'warning');
    assert.equal(
      d.message,
      'target not found: AppBinding demo/sample-postgres is not in the cluster state, so the session will wait (Pending) until it exists',
    );
    assert.equal(d.path, 'spec.target.ref.name');
    const pvc = planOf(
      (s) => {
        s.spec.task.name = 'pvc-restore';
        s.spec.target.ref = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'restore-pvc' };
      },
      [appBinding],
    );
    assert.match(
      theOne(pvc.diagnostics, /target not found/, 'warning').message,
      /PersistentVolumeClaim demo\/restore-pvc is not in the cluster state, so the session will wait \(Pending\)/,
    );
    assert.deepEqual(errors(pvc.diagnostics), []);
  });

  it('refuses a database target without a task, and takes the task a KubeDB AppBinding names', () => {
    const none = planOf((s) => delete s.spec.task, [appBinding]);
    const d = theOne(none.diagnostics, /database target/, 'error');
    assert.match(
      d.message,
      /^a database target \(AppBinding demo\/sample-postgres\) needs spec\.task\.name: Stash restores a database by running its addon's Task/,
    );
    const kubedb = {
      ...appBinding,
      spec: {
        ...(appBinding['spec'] as object),
        parameters: {
          apiVersion: 'appcatalog.appscode.com/v1alpha1',
          kind: 'StashAddon',
          stash: { addon: { restoreTask: { name: 'postgres-restore-11.9' } } },
        },
      },
    } as KubeObject;
    const named = planOf((s) => delete s.spec.task, [kubedb]);
    assert.deepEqual(errors(named.diagnostics), []);
    assert.equal(named.action.task, 'postgres-restore-11.9');
  });

  it('refuses a Stash addon that restore-controller does not run built in unless its Task is installed', () => {
    const { diagnostics } = planOf((s) => (s.spec.task.name = 'etcd-restore-3.5.0'), [appBinding]);
    assert.match(
      theOne(diagnostics, /etcd/, 'error').message,
      /^Task "etcd-restore-3\.5\.0" is Stash's etcd addon, which restore-controller does not run built in, and it is not in the cluster state: install Stash's etcd catalog/,
    );
  });

  it("reports a version Stash's catalog does not have, and a database task aimed at a PVC", () => {
    const version = planOf((s) => (s.spec.task.name = 'postgres-restore-11.2'), [appBinding]);
    assert.match(theOne(version.diagnostics, /catalog has no/, 'warning').message, /Stash's catalog has no PostgreSQL 11\.2 \(it has 9\.6\.19, .*11\.9.*\)/);
    const pvc = planOf((s) => (s.spec.target.ref = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data' }), undefined);
    assert.match(
      theOne(pvc.diagnostics, /through an AppBinding/, 'error').message,
      /but the target is PersistentVolumeClaim data: target the database's AppBinding/,
    );
    const db = planOf((s) => (s.spec.task.name = 'pvc-restore'), [appBinding]);
    assert.match(theOne(db.diagnostics, /stand-alone PersistentVolumeClaim/, 'error').message, /but the target is AppBinding sample-postgres/);
  });

  it("refuses a task param without a value, as Stash's CRD does", () => {
    const { diagnostics, action } = planOf((s) => (s.spec.task.params = [{ name: 'args', value: '--clean' }, { name: 'waitTimeout' }]), [appBinding]);
    const d = theOne(diagnostics, /is required/, 'error');
    assert.equal(d.path, 'spec.task.params[1].value');
    assert.equal(action, undefined, 'the session is refused');
  });
});

describe('cluster state: task restores', () => {
  it('reads Tasks, Functions and AppBindings as kubectl exports them (cluster-scoped without a namespace)', () => {
    const state = new ClusterState([...readdirSync(CATALOG).flatMap((f) => objectsOf(join(CATALOG, f))), appBinding]);
    assert.equal(state.get('Task', undefined, 'postgres-restore-11.9')?.kind, 'Task');
    assert.equal(state.get('Function', undefined, 'update-status')?.kind, 'Function');
    assert.equal(state.get('AppBinding', 'demo', 'sample-postgres')?.kind, 'AppBinding');
    assert.equal(state.get('AppBinding', 'other', 'sample-postgres'), undefined);
  });
});
