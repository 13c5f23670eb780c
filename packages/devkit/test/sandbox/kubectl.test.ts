// kubectl 1.32 against the sandbox: the independent check that the wire protocol is real.
import assert from 'node:assert/strict';
import { startSandbox, eventually } from '../../../../test/support/sandbox.ts';
import type { TestSandbox } from '../../../../test/support/sandbox.ts';

const session = (name: string, repo = 'repo1', extra = ''): string => `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata:
  name: ${name}
  namespace: demo
spec:
  repository:
    name: ${JSON.stringify(repo)}${extra}
  target:
    ref: {apiVersion: apps/v1, kind: StatefulSet, name: db}
`;

describe('sandbox through kubectl', function () {
  this.timeout(30_000);
  let t: TestSandbox;

  before(async () => {
    t = await startSandbox();
    const crds = await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds']);
    assert.equal(crds.code, 0, crds.stderr + crds.stdout);
    assert.match(crds.stdout, /restoresessions\.stash\.appscode\.com serverside-applied/);
    const ns = await t.kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: demo}\n');
    assert.equal(ns.code, 0, ns.stderr);
  });
  after(() => t?.stop());

  it('serves the CRDs: get restoresessions -A prints the printer columns', async () => {
    const applied = await t.kubectl(['apply', '--server-side', '-f', '-'], session('rs-columns'));
    assert.equal(applied.code, 0, applied.stderr);
    const got = await t.kubectl(['get', 'restoresessions', '-A']);
    assert.equal(got.code, 0, got.stderr);
    assert.match(got.stdout, /^NAMESPACE\s+NAME\s+REPOSITORY\s+PHASE\s+DURATION\s+AGE/);
    assert.match(got.stdout, /demo\s+rs-columns\s+repo1\s/);
    const short = await t.kubectl(['get', 'restore', '-n', 'demo', 'rs-columns', '-o', 'jsonpath={.spec.driver}']);
    assert.equal(short.stdout, 'Restic', 'the schema default is applied');
  });

  it('refuses an invalid RestoreSession with a message naming the field', async () => {
    const r = await t.kubectl(['apply', '--server-side', '-f', '-'], session('rs-invalid', ''));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /is invalid: spec\.repository\.name/);
    const unknown = await t.kubectl(['create', '-f', '-'], session('rs-unknown', 'repo1', '\n    bogus: 1'));
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /unknown field "spec\.repository\.bogus"/);
  });

  it('get -w sees a change', async () => {
    await t.kubectl(['apply', '--server-side', '-f', '-'], session('rs-watch'));
    const w = t.kubectlStart(['get', 'restoresessions', '-n', 'demo', 'rs-watch', '-w']);
    await eventually(() => /rs-watch/.test(w.output().stdout));
    const p = await t.kubectl([
      'patch',
      'restoresession',
      '-n',
      'demo',
      'rs-watch',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Running"}}',
    ]);
    assert.equal(p.code, 0, p.stderr);
    await eventually(() => /rs-watch\s+repo1\s+Running/.test(w.output().stdout));
    w.child.kill();
  });

  it('patch --subresource=status changes status only, and generation stays', async () => {
    await t.kubectl(['apply', '--server-side', '-f', '-'], session('rs-status'));
    const p = await t.kubectl([
      'patch',
      'restoresession',
      '-n',
      'demo',
      'rs-status',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Succeeded"},"spec":{"driver":"VolumeSnapshotter"}}',
    ]);
    assert.equal(p.code, 0, p.stderr);
    const got = JSON.parse((await t.kubectl(['get', 'restoresession', '-n', 'demo', 'rs-status', '-o', 'json'])).stdout);
    assert.equal(got.status.phase, 'Succeeded');
    assert.equal(got.spec.driver, 'Restic');
    assert.equal(got.metadata.generation, 1);
  });

  it('delete of an object with a finalizer waits until the finalizer is removed', async () => {
    await t.kubectl(['apply', '--server-side', '-f', '-'], session('rs-final'));
    await t.kubectl(['patch', 'restoresession', '-n', 'demo', 'rs-final', '--type=merge', '-p', '{"metadata":{"finalizers":["restore.gitops/cleanup"]}}']);
    const del = t.kubectlStart(['delete', 'restoresession', '-n', 'demo', 'rs-final', '--timeout=20s']);
    await eventually(
      async () => (await t.kubectl(['get', 'restoresession', '-n', 'demo', 'rs-final', '-o', 'jsonpath={.metadata.deletionTimestamp}'])).stdout !== '',
    );
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(del.output().code, null, 'kubectl delete is still waiting');
    await t.kubectl(['patch', 'restoresession', '-n', 'demo', 'rs-final', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    const done = await del.done;
    assert.equal(done.code, 0, done.stderr);
    const gone = await t.kubectl(['get', 'restoresession', '-n', 'demo', 'rs-final']);
    assert.match(gone.stderr, /NotFound|not found/);
  });

  it('a stale update gets 409 Conflict', async () => {
    await t.kubectl(['apply', '--server-side', '-f', '-'], session('rs-stale'));
    const old = (await t.kubectl(['get', 'restoresession', '-n', 'demo', 'rs-stale', '-o', 'json'])).stdout;
    await t.kubectl(['label', 'restoresession', '-n', 'demo', 'rs-stale', 'touched=yes']);
    const r = await t.kubectl(['replace', '-f', '-'], old);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Operation cannot be fulfilled on restoresessions\.stash\.appscode\.com "rs-stale": the object has been modified/);
  });

  it('server-side apply again removes a field the applier dropped, and dry-run changes nothing', async () => {
    const cm = (data: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg, namespace: demo}\ndata: {${data}}\n`;
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', '-'], cm('a: "1", b: "2"'))).code, 0);
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', '-'], cm('a: "1"'))).code, 0);
    const data = JSON.parse((await t.kubectl(['get', 'cm', '-n', 'demo', 'cfg', '-o', 'jsonpath={.data}'])).stdout);
    assert.deepEqual(data, { a: '1' });
    const dry = await t.kubectl(['apply', '--server-side', '--dry-run=server', '-f', '-'], cm('a: "9"'));
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal((await t.kubectl(['get', 'cm', '-n', 'demo', 'cfg', '-o', 'jsonpath={.data.a}'])).stdout, '1');
  });

  it('strategic merge patches a Deployment container by name', async () => {
    const dep = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: demo}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: app, image: nginx:1, env: [{name: A, value: "1"}]}
      - {name: side, image: busybox:1}
`;
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', '-'], dep)).code, 0);
    const p = await t.kubectl([
      'patch',
      'deployment',
      '-n',
      'demo',
      'web',
      '-p',
      '{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"nginx:2","env":[{"name":"B","value":"2"}]}]}}}}',
    ]);
    assert.equal(p.code, 0, p.stderr);
    const got = JSON.parse((await t.kubectl(['get', 'deployment', '-n', 'demo', 'web', '-o', 'json'])).stdout);
    const containers = got.spec.template.spec.containers;
    assert.deepEqual(
      containers.map((c: { name: string; image: string }) => `${c.name}=${c.image}`),
      ['app=nginx:2', 'side=busybox:1'],
    );
    assert.deepEqual(
      containers[0].env.map((e: { name: string }) => e.name),
      ['A', 'B'],
    );
    assert.equal(got.metadata.generation, 2);
  });

  it('kubectl create namespace|secret|configmap|serviceaccount work (typed clients send protobuf)', async () => {
    for (const args of [
      ['create', 'namespace', 'typed'],
      ['create', 'secret', 'generic', 'restic', '-n', 'typed', '--from-literal=RESTIC_PASSWORD=s3cret', '--type=Opaque'],
      ['create', 'configmap', 'settings', '-n', 'typed', '--from-literal=mode=fast'],
      ['create', 'serviceaccount', 'agent', '-n', 'typed'],
    ]) {
      const r = await t.kubectl(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    }
    const secret = JSON.parse((await t.kubectl(['get', 'secret', 'restic', '-n', 'typed', '-o', 'json'])).stdout);
    assert.equal(Buffer.from(secret.data.RESTIC_PASSWORD, 'base64').toString(), 's3cret');
    assert.equal(secret.type, 'Opaque');
    const cm = JSON.parse((await t.kubectl(['get', 'configmap', 'settings', '-n', 'typed', '-o', 'json'])).stdout);
    assert.deepEqual(cm.data, { mode: 'fast' });
    const unsupported = await t.kubectl(['create', 'deployment', 'web', '-n', 'typed', '--image=nginx']);
    assert.notEqual(unsupported.code, 0);
    assert.match(unsupported.stderr, /kubectl apply -f/);
  });
});
