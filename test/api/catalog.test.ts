// Function, Task and AppBinding: the CRDs deploy/crds serves for Task restores accept what Stash's
// own catalog and KubeDB write, unchanged, and name what is wrong in what they would refuse.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { parse, parseAllDocuments } from 'yaml';
import { CRD_KINDS, crdKind, manifestSchema, officialTask, validateSchema } from '../../src/api/index.ts';
import type { KubeObject } from '../../src/api/index.ts';

const fixtures = new URL('./fixtures/stash-catalog/', import.meta.url);
const crdDir = new URL('../../deploy/crds/', import.meta.url);

function catalogObjects(): { file: string; object: KubeObject }[] {
  return readdirSync(fixtures)
    .filter((f) => f.endsWith('.yaml'))
    .flatMap((file) => parseAllDocuments(readFileSync(new URL(file, fixtures), 'utf8')).map((d) => ({ file, object: d.toJS() as KubeObject })));
}

function violations(o: unknown) {
  const obj = o as KubeObject;
  const k = crdKind(obj.apiVersion, obj.kind);
  assert.ok(k, `${obj.apiVersion} ${obj.kind} is a kind of deploy/crds`);
  return validateSchema(manifestSchema(k), obj).map((v) => `${v.path.join('.')}: ${v.message}`);
}

describe('Function and Task CRDs', () => {
  it("accept Stash's own catalog Tasks and Functions unchanged (postgres, mysql, mariadb, mongodb, redis, elasticsearch, pvc-restore)", () => {
    const objs = catalogObjects();
    assert.ok(objs.filter((o) => o.object.kind === 'Task').length >= 8, 'the fixtures hold the Tasks');
    for (const { file, object } of objs) assert.deepEqual(violations(object), [], file);
  });

  it("are cluster-scoped, with Stash's names, short names and no status", () => {
    for (const [file, kind, shortName] of [
      ['stash.appscode.com_functions.yaml', 'Function', 'fn'],
      ['stash.appscode.com_tasks.yaml', 'Task', 'task'],
    ] as const) {
      const crd = parse(readFileSync(new URL(file, crdDir), 'utf8'));
      assert.equal(crd.spec.scope, 'Cluster', file);
      assert.equal(crd.spec.names.kind, kind);
      assert.deepEqual(crd.spec.names.shortNames, [shortName]);
      assert.deepEqual(crd.spec.names.categories, ['stash', 'appscode']);
      assert.equal(crd.spec.versions[0].name, 'v1beta1');
      assert.equal(crd.spec.versions[0].subresources, undefined);
    }
  });

  it('name a misspelt step field, a param without a value and a Function field of the wrong type', () => {
    const task = {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'Task',
      metadata: { name: 't' },
      spec: {
        steps: [
          { name: 'f', parms: [] },
          { name: 'g', params: [{ name: 'outputDir' }] },
        ],
      },
    };
    assert.deepEqual(violations(task), ['spec.steps.0.parms: unknown field "parms" (did you mean "params"?)', 'spec.steps.1.params.0.value: is required']);
    const fn = {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'Function',
      metadata: { name: 'f' },
      spec: { image: 'x', args: 'restore-pg', volumeMounts: [{ name: 'v' }] },
    };
    assert.deepEqual(violations(fn), ['spec.args: must be a list, not a string', 'spec.volumeMounts.0.mountPath: is required']);
  });
});

describe('AppBinding CRD', () => {
  const binding = (spec: unknown) => ({
    apiVersion: 'appcatalog.appscode.com/v1alpha1',
    kind: 'AppBinding',
    metadata: { name: 'sample-postgres', namespace: 'demo' },
    spec,
  });

  it("accepts an AppBinding as Stash's docs and KubeDB write it: service or url, secret by name, addon parameters", () => {
    assert.deepEqual(
      violations(
        binding({
          type: 'kubedb.com/postgres',
          version: '11.9',
          appRef: { apiGroup: 'kubedb.com', kind: 'Postgres', name: 'sample-postgres', namespace: 'demo' },
          clientConfig: { service: { name: 'sample-postgres', path: '/', port: 5432, query: 'sslmode=disable', scheme: 'postgresql' } },
          secret: { name: 'sample-postgres-auth' },
          parameters: {
            apiVersion: 'appcatalog.appscode.com/v1alpha1',
            kind: 'StashAddon',
            stash: { addon: { backupTask: { name: 'postgres-backup-11.9' }, restoreTask: { name: 'postgres-restore-11.9' } } },
          },
        }),
      ),
      [],
    );
    assert.deepEqual(
      violations(
        binding({ clientConfig: { url: 'postgresql://127.0.0.1:5432/postgres?sslmode=disable', insecureSkipTLSVerify: true }, secret: { name: 'pg-auth' } }),
      ),
      [],
    );
  });

  it("requires clientConfig and a service's name, port and scheme", () => {
    assert.deepEqual(violations(binding({ type: 'postgres' })), ['spec.clientConfig: is required']);
    assert.deepEqual(violations(binding({ clientConfig: { service: { name: 'pg', port: '5432' } } })), [
      'spec.clientConfig.service.scheme: is required',
      'spec.clientConfig.service.port: must be an integer, not a string',
    ]);
  });

  it('is namespaced, in the catalog categories, with Type and Version columns', () => {
    const crd = parse(readFileSync(new URL('appcatalog.appscode.com_appbindings.yaml', crdDir), 'utf8'));
    assert.equal(crd.metadata.name, 'appbindings.appcatalog.appscode.com');
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.deepEqual(crd.spec.names.categories, ['catalog', 'appscode', 'all']);
    assert.deepEqual(
      crd.spec.versions[0].additionalPrinterColumns.map((c: { name: string }) => c.name),
      ['Type', 'Version', 'Age'],
    );
    assert.ok(CRD_KINDS.some((k) => k.kind === 'AppBinding'));
  });
});

describe("Stash's official task names", () => {
  it("know the catalog's addons and versions, pvc-restore, and which ones run built in", () => {
    assert.deepEqual(officialTask('postgres-restore-11.9'), {
      name: 'postgres-restore-11.9',
      addon: 'postgres',
      title: 'PostgreSQL',
      version: '11.9',
      knownVersion: true,
      builtIn: true,
      target: 'AppBinding',
      versions: officialTask('postgres-restore-11.9')!.versions,
    });
    assert.equal(officialTask('mysql-restore-8.0.21')?.knownVersion, true);
    assert.equal(officialTask('mysql-restore-9.9')?.knownVersion, false);
    assert.equal(officialTask('pvc-restore')?.target, 'PersistentVolumeClaim');
    assert.equal(officialTask('etcd-restore-3.5.0')?.builtIn, false);
    assert.equal(officialTask('my-restore-task'), undefined);
    assert.equal(officialTask('postgres-backup-11.9'), undefined);
    // Every restore Task of the fixtures (from Stash's catalog) is known, version included.
    for (const { object } of catalogObjects().filter((o) => o.object.kind === 'Task'))
      assert.equal(officialTask(object.metadata.name)?.knownVersion, true, object.metadata.name);
  });
});
