import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { isAppBindingRef } from '../../src/api/appbinding.ts';
import { effectiveRules } from '../../src/api/restoresession.ts';
import type { RestoreSession } from '../../src/api/restoresession.ts';
import { targetApiVersion } from '../../src/api/workloads.ts';
import { formatDiagnostic, readManifestPaths, validateSource } from '../../src/manifests/index.ts';
import type { Diagnostic } from '../../src/manifests/index.ts';

const FIX = new URL('./fixtures/stash/', import.meta.url);

function validate(text: string): Diagnostic[] {
  return validateSource([{ path: 'm.yaml', text }], undefined).diagnostics;
}
const errors = (ds: Diagnostic[]) => ds.filter((d) => d.severity === 'error');
const show = (ds: Diagnostic[]) => ds.map(formatDiagnostic).join('\n');

const REPO = `apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata: {name: repo, namespace: demo}
spec:
  backend: {storageSecretName: s, local: {mountPath: /backup, hostPath: {path: /srv}}}
`;
function session(spec: string): string {
  return `${REPO}---
apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata: {name: s, namespace: demo}
spec:
  repository: {name: repo}
${spec.replace(/^/gm, '  ')}
`;
}
const PVC_TARGET = 'target:\n  ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: data}\n  rules: [{paths: [/data]}]';

describe("Stash's manifests validate unchanged", () => {
  it("accepts the fields of Stash's CRDs this one lacked (pod annotations and labels, PVC template metadata, condition severity, selfLink…)", async () => {
    const read = await readManifestPaths([new URL('stash-fields.yaml', FIX).pathname]);
    const ds = [...read.diagnostics, ...validateSource(read.files, undefined).diagnostics];
    assert.deepEqual(errors(ds), [], show(ds));
  });

  it('takes timeOut as Go reads it: "0", ".5h", "1.h", "1h30m"; "0" is warned of, as it fails the session at once as in Stash', () => {
    for (const t of ['.5h', '1.h', '1h30m', '90s', '1.5h']) assert.deepEqual(validate(session(`timeOut: "${t}"\n${PVC_TARGET}`)), [], t);
    const zero = validate(session(`timeOut: "0"\n${PVC_TARGET}`));
    assert.deepEqual(errors(zero), [], show(zero));
    assert.match(show(zero), /warning: timeOut "0" puts the deadline at the session's creation: it fails at once/);
    for (const t of ['.', '1', 'h', '1x', '30 m'])
      assert.match(show(errors(validate(session(`timeOut: "${t}"\n${PVC_TARGET}`)))), /does not match a duration/, t);
  });

  it('accepts a lower-case httpGet/httpPost scheme, as Stash lower-cases it anyway, and refuses another scheme', () => {
    const ok = validate(
      session(`${PVC_TARGET}\nhooks:\n  preRestore: {httpGet: {port: 80, scheme: https}}\n  postRestore: {httpPost: {port: 80, scheme: Http}}`),
    );
    assert.deepEqual(errors(ok), [], show(ok));
    const bad = validate(session(`${PVC_TARGET}\nhooks:\n  preRestore: {httpGet: {port: 80, scheme: ftp}}`));
    assert.match(show(bad), /"ftp" does not match HTTP or HTTPS \(spec\.hooks\.preRestore\.httpGet\.scheme\)/);
  });

  it('accepts target.ref without apiVersion and defaults it by kind', () => {
    const ds = validate(session('target:\n  ref: {kind: PersistentVolumeClaim, name: data}\n  rules: [{paths: [/data]}]'));
    assert.deepEqual(errors(ds), [], show(ds));
    assert.equal(targetApiVersion({ kind: 'StatefulSet' }), 'apps/v1');
    assert.equal(targetApiVersion({ kind: 'PersistentVolumeClaim' }), 'v1');
    assert.equal(targetApiVersion({ kind: 'DeploymentConfig' }), 'apps.openshift.io/v1');
    assert.equal(targetApiVersion({ kind: 'Deployment', apiVersion: 'apps/v1beta2' }), 'apps/v1beta2');
    assert.ok(isAppBindingRef({ kind: 'AppBinding' }), 'an AppBinding target without apiVersion is still a database restore');
  });

  it("lets spec.rules win over target.rules when both are set, as Stash's webhook does, and warns at target.rules", () => {
    const text = session('target:\n  ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: data}\n  rules: [{paths: [/target]}]\nrules: [{paths: [/spec]}]');
    const s = parse(text.split('---\n')[1]!) as RestoreSession;
    assert.deepEqual(effectiveRules(s.spec), { rules: [{ paths: ['/spec'] }], field: 'spec.rules' });
    const ds = validate(text);
    const warning = ds.find((d) => /spec\.target\.rules is ignored because the deprecated spec\.rules is set/.test(d.message));
    assert.ok(warning, show(ds));
    assert.equal(warning.path, 'spec.target.rules');
  });
});

describe("Stash's checks", () => {
  it("warns that an exec hook's containerName naming another container than the agent's makes it fail", () => {
    const job = validate(session(`${PVC_TARGET}\nhooks:\n  preRestore: {exec: {command: [sync]}, containerName: app}`));
    assert.match(
      show(job),
      /warning: an exec hook runs in the restore agent's container stash-restore, so containerName "app" makes the hook fail \(a restore Job has no other container\)/,
    );
    const ok = validate(session(`${PVC_TARGET}\nhooks:\n  preRestore: {exec: {command: [sync]}, containerName: stash-restore}`));
    assert.deepEqual(ok, [], show(ok));
    const init = validate(
      session(
        'target:\n  ref: {apiVersion: apps/v1, kind: Deployment, name: web}\n  rules: [{paths: [/d]}]\nhooks:\n  postRestore: {exec: {command: [sync]}, containerName: web}',
      ),
    );
    assert.match(
      show(init),
      /container stash-init, so containerName "web" makes the hook fail \(in the init-container model no other container of the pod has started\)/,
    );
  });

  it('refuses the same host twice in one rule', () => {
    const ds = validate(session('target:\n  ref: {apiVersion: v1, kind: PersistentVolumeClaim, name: data}\n  rules: [{targetHosts: [a, b, a], paths: [/d]}]'));
    const e = errors(ds);
    assert.equal(e.length, 1, show(ds));
    assert.match(e[0]!.message, /host "a" is listed twice in rule 0/);
    assert.equal(e[0]!.path, 'spec.target.rules[0].targetHosts[2]');
  });

  const repo = (backend: string, extra = '') =>
    `apiVersion: stash.appscode.com/v1alpha1\nkind: Repository\nmetadata: {name: r, namespace: demo}\nspec:\n${extra}  backend:\n    storageSecretName: s\n    ${backend}\n`;

  it('refuses wipeOut on a local or B2 backend, and allows it elsewhere', () => {
    assert.match(
      show(errors(validate(repo('local: {mountPath: /backup, hostPath: {path: /srv}}', '  wipeOut: true\n')))),
      /wipeOut is not supported for the local backend/,
    );
    assert.match(show(errors(validate(repo('b2: {bucket: b}', '  wipeOut: true\n')))), /wipeOut is not supported for the B2 backend/);
    assert.deepEqual(errors(validate(repo('gcs: {bucket: b}', '  wipeOut: true\n'))), []);
  });

  it('refuses a local mountPath under /stash, and allows /stash-backup', () => {
    const ds = errors(validate(repo('local: {mountPath: /stash/data, hostPath: {path: /srv}}')));
    assert.match(show(ds), /mountPath \/stash\/data is under \/stash.*use another path, such as \/stash-backup \(spec\.backend\.local\.mountPath\)/);
    assert.match(show(errors(validate(repo('local: {mountPath: /stash, hostPath: {path: /srv}}')))), /is under \/stash/);
    assert.deepEqual(errors(validate(repo('local: {mountPath: /stash-backup, hostPath: {path: /srv}}'))), []);
  });

  it("refuses an s3 backend without endpoint, as Stash's CRD requires it", () => {
    assert.match(show(errors(validate(repo('s3: {bucket: b}')))), /is required \(spec\.backend\.s3\.endpoint\)/);
    assert.deepEqual(errors(validate(repo('s3: {bucket: b, endpoint: s3.amazonaws.com}'))), []);
  });

  it('refuses a task param without value', () => {
    const ds = validate(session(`task: {name: pvc-restore, params: [{name: x}]}\n${PVC_TARGET}`));
    assert.match(show(errors(ds)), /is required \(spec\.task\.params\[0\]\.value\)/);
  });

  it("the Repository's Size column reads .status.totalSize, as Stash's", () => {
    const crd = parse(readFileSync(new URL('../../deploy/crds/stash.appscode.com_repositories.yaml', import.meta.url), 'utf8'));
    const size = crd.spec.versions[0].additionalPrinterColumns.find((c: { name: string }) => c.name === 'Size');
    assert.equal(size.jsonPath, '.status.totalSize');
  });
});
