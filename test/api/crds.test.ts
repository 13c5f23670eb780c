import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { renderCrdFiles } from '../../src/api/crd-files.ts';
import { CRD_KINDS, MANAGED_KINDS, applyDefaults, validateSchema } from '../../src/api/index.ts';
import type { Schema } from '../../src/api/index.ts';

const crdDir = new URL('../../deploy/crds/', import.meta.url);

describe('deploy/crds', () => {
  it('matches the schemas in src/api (run `npm run gen:crds` after changing them)', () => {
    for (const [name, text] of renderCrdFiles()) {
      assert.equal(readFileSync(new URL(name, crdDir), 'utf8'), text, `deploy/crds/${name} is stale`);
    }
  });

  it('declares the status subresource, short names and printer columns', () => {
    const crd = parse(readFileSync(new URL('stash.appscode.com_restoresessions.yaml', crdDir), 'utf8'));
    const v = crd.spec.versions[0];
    assert.deepEqual(v.subresources, { status: {} });
    assert.deepEqual(crd.spec.names.shortNames, ['restore']);
    assert.deepEqual(
      v.additionalPrinterColumns.map((c: { name: string }) => c.name),
      ['Repository', 'Phase', 'Duration', 'Age'],
    );
  });

  it('is structural: every node below the root has a type or is int-or-string / preserve-unknown', () => {
    const untyped: string[] = [];
    const walk = (s: Schema, at: string): void => {
      if (!s.type && !s['x-kubernetes-int-or-string'] && !s['x-kubernetes-preserve-unknown-fields']) untyped.push(at);
      for (const [k, sub] of Object.entries(s.properties ?? {})) walk(sub, `${at}.${k}`);
      if (s.items) walk(s.items, `${at}[]`);
      if (typeof s.additionalProperties === 'object') walk(s.additionalProperties, `${at}{}`);
    };
    for (const k of CRD_KINDS) walk(k.schema, k.kind);
    assert.deepEqual(untyped, []);
  });
});

describe('schema checks', () => {
  const rs = MANAGED_KINDS[0]!.schema;

  it('names a misspelt field and suggests the right one', () => {
    const v = validateSchema(rs, { spec: { target: { rules: [{ tagetHosts: ['a'] }] } } });
    assert.equal(v.length, 1);
    assert.deepEqual(v[0]!.path, ['spec', 'target', 'rules', 0, 'tagetHosts']);
    assert.match(v[0]!.message, /unknown field "tagetHosts" \(did you mean "targetHosts"\?\)/);
  });

  it('reports wrong types, enums and patterns with the value', () => {
    const v = validateSchema(rs, { spec: { driver: 'Velero', timeOut: 'soon', target: { replicas: 'five' } } });
    const byPath = Object.fromEntries(v.map((x) => [x.path.join('.'), x.message]));
    assert.match(byPath['spec.driver']!, /must be one of "Restic", "VolumeSnapshotter"/);
    assert.match(byPath['spec.timeOut']!, /"soon" does not match a duration/);
    assert.match(byPath['spec.target.replicas']!, /must be an integer, not a string/);
  });

  it('applies the defaults a cluster would', () => {
    const out = applyDefaults(rs, { spec: { hooks: { postRestore: { exec: { command: ['true'] } } }, tempDir: {} } }) as any;
    assert.equal(out.spec.driver, 'Restic');
    assert.equal(out.spec.hooks.postRestore.executionPolicy, 'Always');
    assert.equal(out.spec.tempDir.disableCaching, false);
  });
});
