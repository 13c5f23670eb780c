import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { readManifestPaths, validateSource, formatDiagnostic } from '../../src/manifests/index.ts';
import type { Diagnostic } from '../../src/manifests/index.ts';
import { restorectl } from '../support/cli.ts';
import { positionOf } from '../support/text.ts';

const FIX = fileURLToPath(new URL('./fixtures/broken/', import.meta.url));
const file = (name: string) => `${FIX}${name}`;

async function diagnosticsOf(...names: string[]): Promise<Diagnostic[]> {
  const read = await readManifestPaths(names.map(file));
  return [...read.diagnostics, ...validateSource(read.files, undefined).diagnostics];
}

function only(ds: Diagnostic[], pattern: RegExp): Diagnostic {
  const hits = ds.filter((d) => pattern.test(d.message));
  assert.equal(hits.length, 1, `expected one diagnostic matching ${pattern}, got:\n${ds.map(formatDiagnostic).join('\n')}`);
  return hits[0]!;
}

function assertAt(d: Diagnostic, name: string, needle: string, occurrence = 1): void {
  const pos = positionOf(file(name), needle, occurrence);
  assert.deepEqual({ line: d.line, column: d.column }, pos, `${formatDiagnostic(d)} should point at "${needle}"`);
}

describe('validation: the SPEC rule constraints', () => {
  let ds: Diagnostic[];
  before(async () => (ds = await diagnosticsOf('rules.yaml')));

  it('refuses a second rule with empty targetHosts, naming both rules', () => {
    const d = only(ds, /rules 0 and 1 both have empty targetHosts/);
    assert.equal(d.severity, 'error');
    assertAt(d, 'rules.yaml', 'targetHosts: []');
  });

  it('refuses a host listed in two rules, naming both rule indexes', () => {
    const d = only(ds, /host "host-2" is listed in rules 0 and 1/);
    assert.equal(d.path, 'spec.target.rules[1].targetHosts[1]');
    assertAt(d, 'rules.yaml', 'host-2', 2);
  });

  it('refuses snapshots and paths in one rule, also in the deprecated spec.rules', () => {
    const d = only(ds, /rule 0 has both snapshots and paths/);
    assert.equal(d.path, 'spec.rules[0]');
    assertAt(d, 'rules.yaml', 'snapshots: [4bc21b7e]');
    only(ds, /spec\.rules is deprecated/);
  });

  it('refuses a workload target in another namespace', () => {
    const d = only(ds, /Deployment prod\/web is in another namespace than the RestoreSession \(demo\)/);
    assertAt(d, 'rules.yaml', 'prod}');
  });

  it('refuses a Repository whose usage policy does not allow the namespace', () => {
    const d = only(ds, /Repository prod\/prod-repo may only be used from namespace prod/);
    assertAt(d, 'rules.yaml', 'prod\n', 1);
  });

  it('refuses a reference to a Repository that exists nowhere', () => {
    const d = only(ds, /Repository demo\/nowhere is neither declared in the source nor in the cluster state/);
    assertAt(d, 'rules.yaml', 'nowhere');
  });

  it('reports nothing about the sessions that are fine', () => {
    assert.equal(ds.filter((d) => d.severity === 'error').length, 6, ds.map(formatDiagnostic).join('\n'));
  });
});

describe('validation: loading', () => {
  it('names a misspelt field at its key, and a bad duration at its value', async () => {
    const ds = await diagnosticsOf('schema.yaml');
    assertAt(only(ds, /unknown field "tagetHosts" \(did you mean "targetHosts"\?\)/), 'schema.yaml', 'tagetHosts');
    assertAt(only(ds, /"soon" does not match a duration/), 'schema.yaml', 'soon');
  });

  it('refuses include with exclude in one rule, which restic would refuse at restore time', async () => {
    const ds = await diagnosticsOf('schema.yaml');
    const d = only(ds, /rule 0 has both include and exclude: restic refuses them together/);
    assertAt(d, 'schema.yaml', 'exclude: [');
  });

  it('refuses a Secret and says why, without printing its values', async () => {
    const ds = await diagnosticsOf('secret.yaml');
    const d = only(ds, /Secret repo-secret refused: a Secret does not belong in git/);
    assert.doesNotMatch(JSON.stringify(ds), /not-a-real-password/);
    assertAt(d, 'secret.yaml', 'Secret');
  });

  it("reports a YAML error with its position and still reads the file's other documents and other files", async () => {
    const ds = await diagnosticsOf('not-yaml.yaml', 'secret.yaml');
    const yamlError = ds.find((d) => d.message.startsWith('YAML:'));
    assert.ok(yamlError, ds.map(formatDiagnostic).join('\n'));
    assert.equal(yamlError.file, file('not-yaml.yaml'));
    // The Repository after the broken document is still checked (it lacks storageSecretName)…
    only(ds, /storageSecretName is required/);
    // …and so is the other file.
    only(ds, /Secret repo-secret refused/);
  });

  it('refuses an object declared twice, naming both files, and applies neither', async () => {
    const read = await readManifestPaths([file('rules.yaml'), file('duplicate.yaml')]);
    const desired = validateSource(read.files, undefined);
    const d = only(desired.diagnostics, /Repository demo\/repo is declared twice/);
    assert.equal(d.file, file('duplicate.yaml'));
    assert.match(d.message, new RegExp(`rules\\.yaml:${positionOf(file('rules.yaml'), 'apiVersion: stash.appscode.com/v1alpha1').line}`));
    assert.ok(!desired.repositories.some((m) => m.object.metadata.name === 'repo'));
  });
});

describe('restorectl validate', () => {
  it('exits 0 on the examples', async () => {
    const r = await restorectl(['validate', 'examples/']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stdout, /: error:/);
  });

  it('exits 1 and prints file:line:col: severity: message for broken manifests', async () => {
    const r = await restorectl(['validate', file('rules.yaml')]);
    assert.equal(r.code, 1, r.stderr);
    const { line, column } = positionOf(file('rules.yaml'), 'host-2', 2);
    assert.ok(
      r.stdout
        .split('\n')
        .includes(
          `${file('rules.yaml')}:${line}:${column}: error: host "host-2" is listed in rules 0 and 1: a host may be listed in one rule only (spec.target.rules[1].targetHosts[1])`,
        ),
      r.stdout,
    );
  });

  it('exits 2 when it cannot run, and says what to do', async () => {
    const r = await restorectl(['validate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give at least one file or folder/);
    assert.match(r.stderr, /restorectl validate --help/);
  });

  it('a path that does not exist is an error naming it', async () => {
    const r = await restorectl(['validate', 'no/such/dir']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /^no\/such\/dir: error: cannot read: no such file or folder/m);
  });
});
