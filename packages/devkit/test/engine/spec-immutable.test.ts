// A RestoreSession's spec is immutable in the cluster (issue 18 §2): deploy/crds carries a CEL
// rule (`self == oldSelf` on spec) that the real kube-apiserver enforces, and the embedded sandbox
// enforces the same rule. Whatever writes the session, a changed spec is refused; the metadata the
// daemon and the controller write (restore.gitops/rerun, finalizers) and the status subresource
// are not.
import assert from 'node:assert/strict';
import { skipUnlessKubeEngine, startKubeEngine } from '../../src/engine/testing.ts';
import { startSandbox } from '../../../../test/support/sandbox.ts';

interface Kubectl {
  kubectl(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

const SESSION = `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: frozen, namespace: default}
spec:
  repository: {name: repo}
  target:
    ref: {apiVersion: apps/v1, kind: Deployment, name: web}
    rules: [{paths: [/data]}]
`;

function specIsImmutable(start: () => Promise<Kubectl>, skip?: (ctx: Mocha.Context) => void) {
  let t: Kubectl | undefined;
  before(async function () {
    skip?.(this);
    t = await start();
    const crds = await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds']);
    assert.equal(crds.code, 0, crds.stderr);
    const established = await t.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd/restoresessions.stash.appscode.com']);
    assert.equal(established.code, 0, established.stderr);
    const created = await t.kubectl(['create', '-f', '-'], SESSION);
    assert.equal(created.code, 0, created.stderr);
  });
  after(async () => t?.stop());

  it('refuses a change of the spec, saying why and what to do', async () => {
    const r = await t!.kubectl(['patch', 'restoresession', 'frozen', '--type=merge', '-p', '{"spec":{"target":{"rules":[{"paths":["/other"]}]}}}']);
    assert.notEqual(r.code, 0);
    assert.match(
      r.stderr,
      /The RestoreSession "frozen" is invalid: spec: Invalid value: spec is immutable: a RestoreSession runs the spec it was created with/,
    );
    const spec = await t!.kubectl(['get', 'restoresession', 'frozen', '-o', 'jsonpath={.spec.target.rules[0].paths[0]}']);
    assert.equal(spec.stdout, '/data');
    const replaced = await t!.kubectl(['replace', '-f', '-'], SESSION.replace('name: repo', 'name: other-repo'));
    assert.notEqual(replaced.code, 0);
    assert.match(replaced.stderr, /spec is immutable/);
  });

  it('allows the metadata the daemon and the controller write (the rerun annotation, finalizers) and the status subresource', async () => {
    const same = await t!.kubectl(['replace', '-f', '-'], SESSION.replace('namespace: default}', 'namespace: default, labels: {team: a}}'));
    assert.equal(same.code, 0, `a PUT with the same spec is allowed: ${same.stderr}`);
    const rerun = await t!.kubectl(['annotate', 'restoresession', 'frozen', 'restore.gitops/rerun=2024-06-01']);
    assert.equal(rerun.code, 0, rerun.stderr);
    const fin = await t!.kubectl(['patch', 'restoresession', 'frozen', '--type=merge', '-p', '{"metadata":{"finalizers":["restore.gitops/cleanup"]}}']);
    assert.equal(fin.code, 0, fin.stderr);
    const status = await t!.kubectl([
      'patch',
      'restoresession',
      'frozen',
      '--subresource=status',
      '--type=merge',
      '-p',
      '{"status":{"phase":"Running","totalHosts":1}}',
    ]);
    assert.equal(status.code, 0, status.stderr);
    const got = JSON.parse((await t!.kubectl(['get', 'restoresession', 'frozen', '-o', 'json'])).stdout);
    assert.equal(got.metadata.annotations['restore.gitops/rerun'], '2024-06-01');
    assert.equal(got.status.phase, 'Running');
    const unfin = await t!.kubectl(['patch', 'restoresession', 'frozen', '--type=json', '-p', '[{"op":"remove","path":"/metadata/finalizers"}]']);
    assert.equal(unfin.code, 0, unfin.stderr);
  });
}

describe('RestoreSession spec immutability: the real kube-apiserver', function () {
  this.timeout(240_000);
  specIsImmutable(
    () => startKubeEngine(),
    (ctx) => skipUnlessKubeEngine(ctx),
  );
});

describe('RestoreSession spec immutability: the embedded sandbox', function () {
  this.timeout(60_000);
  specIsImmutable(() => startSandbox());
});
