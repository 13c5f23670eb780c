// The restore Job of an installed Task, built from Stash's own postgres-restore-11.9 Task and
// Function YAML (test/api/fixtures/stash-catalog, verbatim from stashed/installer) and checked
// against what Stash builds for it. The expectation is written out as data, read off Stash's code:
// stashed/stash pkg/executor/restore_job.go (Ensure → resolveTask → ensureJob), pkg/resolver
// (task.go getPodSpec, inputs.go setVariables, resolver.go setDefaultSecurityContextForRestore),
// pkg/util (UpsertTmpVolume(Mount), UpsertInterimVolume, AttachPVC) and pkg/util/crds.go
// updateStatusFunction. Where this project differs from Stash on purpose, the test says so.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import type { KubeObject, Repository, RestoreSession, StashFunction, Task } from '../../src/api/index.ts';
import { isRestoreError } from '../../src/common/errors.ts';
import { interimClaim, interimClaimNameOf } from '../../src/controller/claims.ts';
import { imageParts, restoreJob, taskRestoreJob } from '../../src/controller/job.ts';
import { resolveHosts, taskDispatch } from '../../src/hosts/index.ts';

const CATALOG = fileURLToPath(new URL('../api/fixtures/stash-catalog/', import.meta.url));
const PLAN_FIX = fileURLToPath(new URL('../plan/fixtures/task-restores/source/', import.meta.url));
const catalog: KubeObject[] = readdirSync(CATALOG).flatMap((f) => parseAllDocuments(readFileSync(join(CATALOG, f), 'utf8')).map((d) => d.toJS() as KubeObject));
const taskNamed = (name: string) => catalog.find((o) => o.kind === 'Task' && o.metadata.name === name) as Task;
const functionOf = (name: string) => catalog.find((o) => o.kind === 'Function' && o.metadata.name === name) as StashFunction | undefined;
const docsSession = (): RestoreSession => ({
  ...parse(readFileSync(join(PLAN_FIX, 'postgres-restore.yaml'), 'utf8')),
  metadata: { name: 'sample-postgres-restore', namespace: 'demo', uid: 'u-1' },
});
const gcsRepository: Repository = parse(readFileSync(join(PLAN_FIX, 'repository.yaml'), 'utf8'));
const AGENT = 'ghcr.io/restore-controller/restorectl:0.1.0';

function jobFor(session: RestoreSession, task: Task, repository: Repository = gcsRepository, index = 0) {
  const r = resolveHosts(session, undefined);
  assert.ok(r.known);
  return taskRestoreJob({ session, repository, agent: { image: AGENT }, index, host: r.hosts[index]!, task, functionOf }) as any;
}

// What Stash gives the addon step of the docs' session (its Function's args, substituted).
const POSTGRES_ARGS = [
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
];
// Stash's update-status Function (pkg/util/crds.go) substituted for the same session. Stash runs it
// with its operator's image and `update-status …`; here the agent plays it: `agent update-status …`
// with the agent's image, the same arguments, and --hostname (a host whose steps wrote nothing is
// reported Failed instead of staying Running). --metrics-pushgateway-url is the operator's
// Pushgateway in Stash; this project has none (DESIGN: no Pushgateway).
const UPDATE_STATUS_ARGS = [
  'agent',
  'update-status',
  '--provider=gcs',
  '--bucket=stash-testing',
  '--endpoint=',
  '--insecure-tls=false',
  '--region=',
  '--path=/demo/postgres/sample-postgres',
  '--enable-cache=true',
  '--max-connections=0',
  '--namespace=demo',
  '--backupsession=',
  '--storage-secret-name=gcs-secret',
  '--storage-secret-namespace=demo',
  '--invoker-kind=RestoreSession',
  '--invoker-name=sample-postgres-restore',
  '--target-kind=AppBinding',
  '--target-name=sample-postgres',
  '--target-namespace=demo',
  '--output-dir=/stash-tmp/output',
  '--metrics-enabled=true',
  '--scratch-dir=/stash-tmp',
  '--metrics-pushgateway-url=',
  '--hostname=host-0',
];
const TMP_MOUNT = { name: 'stash-tmp-dir', mountPath: '/stash-tmp' };

describe("tasks: the restore Job of an installed Task, as Stash's restore Job", () => {
  it("builds Stash's Job for postgres-restore-11.9: the addon as init-container, update-status (the agent) last, the scratch emptyDir, root, the session's ServiceAccount", () => {
    const job = jobFor(docsSession(), taskNamed('postgres-restore-11.9'));
    const labels = {
      'app.kubernetes.io/managed-by': 'restore-controller',
      'restore.gitops/session': 'sample-postgres-restore',
      'restore.gitops/host-index': '0',
    };
    assert.deepEqual(job, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name: 'stash-restore-sample-postgres-restore-0',
        namespace: 'demo',
        labels,
        ownerReferences: [
          {
            apiVersion: 'stash.appscode.com/v1beta1',
            kind: 'RestoreSession',
            name: 'sample-postgres-restore',
            uid: 'u-1',
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels },
          spec: {
            initContainers: [
              {
                name: 'postgres-restore-11-9-0',
                image: 'ghcr.io/stashed/stash-postgres:11.9-v37',
                args: POSTGRES_ARGS,
                volumeMounts: [TMP_MOUNT],
                imagePullPolicy: 'IfNotPresent',
              },
            ],
            containers: [{ name: 'update-status-1', image: AGENT, args: UPDATE_STATUS_ARGS, volumeMounts: [TMP_MOUNT], imagePullPolicy: 'IfNotPresent' }],
            volumes: [{ name: 'stash-tmp-dir', emptyDir: {} }],
            restartPolicy: 'Never',
            // setDefaultSecurityContextForRestore: restores run as root unless the session says otherwise.
            securityContext: { runAsUser: 0, runAsGroup: 0 },
            // Stash's RBACOptions.GetServiceAccountName: restoresession-<name>-<index>.
            serviceAccountName: 'restoresession-sample-postgres-restore-0',
          },
        },
      },
    });
  });

  it('passes task.params, runtimeSettings, tempDir and the interim volume as Stash does, and names the interim claim <session>-<template>', () => {
    const s = docsSession();
    s.spec.task!.params = [
      { name: 'args', value: '--clean' },
      { name: 'waitTimeout', value: '900' },
    ];
    s.spec.interimVolumeTemplate = {
      metadata: { name: 'stash-tmp-storage' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
    };
    s.spec.tempDir = { medium: 'Memory', sizeLimit: '2Gi', disableCaching: true };
    s.spec.runtimeSettings = {
      container: { resources: { limits: { memory: '512Mi' } }, env: [{ name: 'TZ', value: 'UTC' }], nice: { adjustment: 5 } },
      pod: { serviceAccountName: 'db-restorer', nodeSelector: { disk: 'ssd' }, securityContext: { runAsUser: 999 }, imagePullSecrets: [{ name: 'regcred' }] },
    };
    const job = taskRestoreJob({
      session: s,
      repository: gcsRepository,
      agent: { image: AGENT, imagePullPolicy: 'Never', imagePullSecrets: [{ name: 'agent-pull' }] },
      index: 0,
      host: { host: 'host-0', sourceHost: 'host-0', snapshots: ['latest'], restores: true, rule: 0 },
      task: taskNamed('postgres-restore-11.9'),
      functionOf,
    }) as any;
    const pod = job.spec.template.spec;
    const [pg] = pod.initContainers;
    const [status] = pod.containers;
    const interimMount = { name: 'stash-interim-volume', mountPath: '/stash-interim-volume' };
    assert.deepEqual(
      pg.args.filter((a: string) => /^--(pg-args|wait-timeout|enable-cache)=/.test(a)),
      ['--enable-cache=false', '--pg-args=--clean', '--wait-timeout=900'],
    );
    // ApplyContainerRuntimeSettings on every step; nice as NICE_ADJUSTMENT (Stash's env names).
    for (const c of [pg, status]) {
      assert.deepEqual(c.resources, { limits: { memory: '512Mi' } });
      assert.deepEqual(c.env, [
        { name: 'TZ', value: 'UTC' },
        { name: 'NICE_ADJUSTMENT', value: '5' },
      ]);
      // AttachPVC mounts the interim volume in every container.
      assert.deepEqual(c.volumeMounts, [TMP_MOUNT, interimMount]);
    }
    // The agent's own container pulls as the agent does; the addon's stays IfNotPresent (Stash's).
    assert.equal(pg.imagePullPolicy, 'IfNotPresent');
    assert.equal(status.imagePullPolicy, 'Never');
    assert.deepEqual(pod.volumes, [
      { name: 'stash-tmp-dir', emptyDir: { medium: 'Memory', sizeLimit: '2Gi' } },
      { name: 'stash-interim-volume', persistentVolumeClaim: { claimName: 'sample-postgres-restore-stash-tmp-storage' } },
    ]);
    assert.deepEqual(pod.securityContext, { runAsUser: 999, runAsGroup: 0 });
    assert.equal(pod.serviceAccountName, 'db-restorer');
    assert.deepEqual(pod.nodeSelector, { disk: 'ssd' });
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'regcred' }, { name: 'agent-pull' }]);
    // The claim the controller creates for it: owned by the session, the template's spec.
    const claim = interimClaim(s) as any;
    assert.equal(claim.metadata.name, 'sample-postgres-restore-stash-tmp-storage');
    assert.equal(claim.metadata.ownerReferences[0].name, 'sample-postgres-restore');
    assert.deepEqual(claim.spec, s.spec.interimVolumeTemplate.spec);
  });

  it("builds Stash's pvc-restore Job: the claim as stash-volume at /stash-data (TARGET_MOUNT_PATH), the rule's paths", () => {
    const s = docsSession();
    s.spec.task = { name: 'pvc-restore' };
    s.spec.target = { ref: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'restore-pvc' }, rules: [{ paths: ['/stash-data'] }] };
    const pod = jobFor(s, taskNamed('pvc-restore')).spec.template.spec;
    assert.deepEqual(
      [...pod.initContainers, ...pod.containers].map((c: any) => [c.name, c.image, c.volumeMounts]),
      [
        ['pvc-restore-0', 'ghcr.io/stashed/stash:v0.39.0', [{ name: 'stash-volume', mountPath: '/stash-data' }, TMP_MOUNT]],
        ['update-status-1', AGENT, [TMP_MOUNT]],
      ],
    );
    assert.deepEqual(pod.volumes, [
      { name: 'stash-volume', persistentVolumeClaim: { claimName: 'restore-pvc' } },
      { name: 'stash-tmp-dir', emptyDir: {} },
    ]);
    assert.ok(pod.initContainers[0].args.includes('--restore-paths=/stash-data'));
  });

  it("mounts the ordinal's claims at target.volumeMounts with POD_ORDINAL in every step (volumeClaimTemplates), and a local backend in every step", () => {
    const s = docsSession();
    s.spec.task = { name: 'pvc-restore' };
    s.spec.target = {
      replicas: 2,
      volumeClaimTemplates: [{ metadata: { name: 'data-${POD_ORDINAL}' }, spec: { accessModes: ['ReadWriteOnce'] } }],
      volumeMounts: [{ name: 'data-${POD_ORDINAL}', mountPath: '/restore/data' }],
      rules: [{ snapshots: ['latest'] }],
    };
    const local: Repository = {
      ...gcsRepository,
      spec: { backend: { local: { mountPath: '/safe/data', hostPath: { path: '/var/backups' } }, storageSecretName: 'local-secret' } },
    } as Repository;
    // Stash's pvc-restore mounts ${targetVolume}: its Task's own stash-volume, the claim ${TARGET_NAME}
    // (the first template's name when the target has no ref). A Task of one's own mounts the ordinal's claims by name.
    const pod = jobFor(s, taskNamed('pvc-restore'), local, 1).spec.template.spec;
    for (const c of [...pod.initContainers, ...pod.containers]) {
      assert.deepEqual(c.env.at(-1), { name: 'POD_ORDINAL', value: '1' }, c.name);
      assert.ok(
        c.volumeMounts.some((m: any) => m.name === 'data-1' && m.mountPath === '/restore/data'),
        c.name,
      );
      assert.ok(
        c.volumeMounts.some((m: any) => m.name === 'stash-local-backend' && m.mountPath === '/safe/data'),
        c.name,
      );
    }
    assert.deepEqual(
      pod.volumes.filter((v: any) => v.name === 'data-1' || v.name === 'stash-local-backend'),
      [
        { name: 'data-1', persistentVolumeClaim: { claimName: 'data-1' } },
        { name: 'stash-local-backend', hostPath: { path: '/var/backups' } },
      ],
    );
    assert.equal(
      pod.initContainers[0].args.find((a: string) => a.startsWith('--hostname=')),
      '--hostname=host-1',
    );
  });

  it('refuses a Task whose Function is not installed, naming it (the controller fails the session with it)', () => {
    const t = { ...taskNamed('postgres-restore-11.9'), spec: { steps: [{ name: 'postgres-restore-11.9-missing' }, { name: 'update-status' }] } } as Task;
    assert.throws(
      () => jobFor(docsSession(), t),
      (e: unknown) =>
        isRestoreError(e, 'FunctionNotFound') &&
        /Function postgres-restore-11\.9-missing of Task postgres-restore-11\.9 \(step 0\) is not in the cluster/.test((e as Error).message),
    );
    // update-status is the agent's own: it needs no installed Function.
    assert.doesNotThrow(() => jobFor(docsSession(), taskNamed('postgres-restore-11.9')));
  });

  it('refuses hooks it would not run (Stash runs them in hook-executor containers of its image), rather than skip them', () => {
    const s = docsSession();
    s.spec.hooks = { preRestore: { exec: { command: ['/bin/true'] } } };
    assert.throws(
      () => jobFor(s, taskNamed('postgres-restore-11.9')),
      (e: unknown) => isRestoreError(e, 'TaskHooksNotRun') && /the session's preRestore hook would not run/.test((e as Error).message),
    );
  });

  it("names the interim claim as Stash (ValidNameWithPrefix), keeping a hash past 63 characters; the agent's own Job mounts the same claim", () => {
    const s = docsSession();
    assert.equal(interimClaimNameOf(s), undefined);
    s.spec.interimVolumeTemplate = { metadata: { name: 'interim' }, spec: {} };
    assert.equal(interimClaimNameOf(s), 'sample-postgres-restore-interim');
    const own = restoreJob({ session: s, repository: gcsRepository, agent: { image: AGENT }, index: 0 }) as any;
    assert.deepEqual(
      own.spec.template.spec.volumes.find((v: any) => v.name === 'stash-interim-volume'),
      { name: 'stash-interim-volume', persistentVolumeClaim: { claimName: 'sample-postgres-restore-interim' } },
    );
    const long = { ...s, metadata: { ...s.metadata, name: 'a'.repeat(60) } };
    const name = interimClaimNameOf(long)!;
    assert.ok(name.length <= 63 && /-[0-9a-f]{8}$/.test(name), name);
  });

  it('splits an image reference as Stash passes its own image to Tasks (STASH_DOCKER_REGISTRY/IMAGE/TAG)', () => {
    assert.deepEqual(imageParts('ghcr.io/restore-controller/restorectl:0.1.0'), { registry: 'ghcr.io/restore-controller', image: 'restorectl', tag: '0.1.0' });
    assert.deepEqual(imageParts('localhost:5000/restorectl'), { registry: 'localhost:5000', image: 'restorectl', tag: 'latest' });
    assert.deepEqual(imageParts('restorectl:test@sha256:abc'), { registry: '', image: 'restorectl', tag: 'test' });
  });
});

describe('hosts: who carries out a task (taskDispatch)', () => {
  const withTask = (name: string, kind = 'AppBinding'): RestoreSession => {
    const s = docsSession();
    s.spec.task = { name };
    s.spec.target = { ref: { apiVersion: kind === 'AppBinding' ? 'appcatalog.appscode.com/v1alpha1' : 'v1', kind, name: 'x' } };
    return s;
  };
  it("runs an installed Task's steps, pvc-restore into a PVC built in, and nothing else", () => {
    assert.deepEqual(taskDispatch(withTask('postgres-restore-11.9'), true), { run: 'steps' });
    assert.deepEqual(taskDispatch(withTask('pvc-restore', 'PersistentVolumeClaim'), true), { run: 'steps' });
    assert.deepEqual(taskDispatch(withTask('pvc-restore', 'PersistentVolumeClaim'), false), { run: 'built-in' });
    const none = taskDispatch(withTask('my-own-task'), false);
    assert.equal(none?.run, 'none');
    assert.match((none as { reason: string }).reason, /the cluster has no Task my-own-task/);
    const plain = docsSession();
    delete plain.spec.task;
    assert.equal(taskDispatch(plain, false), undefined);
  });
});
