// The OpenAPI documents kubectl reads: /openapi/v3 (an index of group-versions) and one document
// per group-version whose PATCH operations declare the query parameters kubectl checks before it
// relies on server-side field validation and dry-run, and whose component schemas carry
// x-kubernetes-group-version-kind (for `kubectl explain`). /openapi/v2 is the same, Swagger-shaped.
import { createHash } from 'node:crypto';
import type { Schema } from 'restore-controller/api/openapi';
import type { ResourceRegistry, ResourceType } from './resources.ts';

const WRITE_PARAMS = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'];

function definitionName(r: ResourceType, version: string): string {
  if (!r.builtin) return `${r.group.split('.').reverse().join('.')}.${version}.${r.kind}`;
  const pkg = r.group === '' ? 'core' : r.group === 'apiextensions.k8s.io' ? 'apiextensions' : r.group.split('.')[0]!;
  const base = r.group === 'apiextensions.k8s.io' ? 'io.k8s.apiextensions-apiserver.pkg.apis' : 'io.k8s.api';
  return `${base}.${pkg}.${version}.${r.kind}`;
}

const OBJECT_META: Schema = {
  type: 'object',
  description: 'Standard object metadata.',
  properties: {
    name: { type: 'string' },
    namespace: { type: 'string' },
    generateName: { type: 'string' },
    uid: { type: 'string' },
    resourceVersion: { type: 'string' },
    generation: { type: 'integer' },
    creationTimestamp: { type: 'string', format: 'date-time' },
    deletionTimestamp: { type: 'string', format: 'date-time' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    finalizers: { type: 'array', items: { type: 'string' } },
    ownerReferences: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
    managedFields: { type: 'array', items: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
  },
};

function schemaFor(r: ResourceType, version: string): Record<string, unknown> {
  const gvk = [{ group: r.group, version, kind: r.kind }];
  const crd = r.schemas?.[version];
  const loose = (what: string): Schema => ({
    type: 'object',
    description: `${what} (not described by the sandbox).`,
    'x-kubernetes-preserve-unknown-fields': true,
  });
  const base: Record<string, any> = crd
    ? structuredClone(crd)
    : {
        type: 'object',
        description: `${r.kind} (built-in; fields not described by the sandbox).`,
        properties: { spec: loose('Spec'), status: loose('Status') },
        'x-kubernetes-preserve-unknown-fields': true,
      };
  base.properties = { ...(base.properties ?? {}), metadata: OBJECT_META, apiVersion: { type: 'string' }, kind: { type: 'string' } };
  base['x-kubernetes-group-version-kind'] = gvk;
  return base;
}

function gvPrefix(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

function operations(r: ResourceType, version: string, ref: string, v3: boolean): Record<string, unknown> {
  const gvk = { group: r.group, version, kind: r.kind };
  const param = (name: string): Record<string, unknown> =>
    v3 ? { name, in: 'query', schema: { type: 'string', uniqueItems: true } } : { name, in: 'query', type: 'string', uniqueItems: true };
  const response = v3
    ? { 200: { description: 'OK', content: { 'application/json': { schema: { $ref: ref } } } } }
    : { 200: { description: 'OK', schema: { $ref: ref } } };
  const op = (verb: string, action: string, params: string[]): Record<string, unknown> => ({
    operationId: `${verb}${r.kind}`,
    parameters: params.map(param),
    responses: response,
    'x-kubernetes-action': action,
    'x-kubernetes-group-version-kind': gvk,
  });
  const prefix = `/${gvPrefix(r.group, version)}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
  const paths: Record<string, unknown> = {
    [prefix]: {
      get: op('list', 'list', ['labelSelector', 'fieldSelector', 'limit', 'continue', 'watch', 'resourceVersion']),
      post: op('create', 'post', WRITE_PARAMS),
      delete: op('deletecollection', 'deletecollection', ['dryRun']),
    },
    [`${prefix}/{name}`]: {
      get: op('read', 'get', []),
      put: op('replace', 'put', WRITE_PARAMS),
      patch: op('patch', 'patch', WRITE_PARAMS),
      delete: op('delete', 'delete', ['dryRun']),
    },
  };
  if (r.statusSubresource)
    paths[`${prefix}/{name}/status`] = {
      get: op('readStatus', 'get', []),
      put: op('replaceStatus', 'put', WRITE_PARAMS),
      patch: op('patchStatus', 'patch', WRITE_PARAMS),
    };
  return paths;
}

export function openApiV3GroupVersion(registry: ResourceRegistry, gvPath: string): Record<string, unknown> | undefined {
  const rs = registry.all().filter((r) => r.versions.some((v) => gvPrefix(r.group, v) === gvPath));
  if (rs.length === 0) return undefined;
  const paths: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = {};
  for (const r of rs) {
    const version = r.versions.find((v) => gvPrefix(r.group, v) === gvPath)!;
    const name = definitionName(r, version);
    schemas[name] = schemaFor(r, version);
    Object.assign(paths, operations(r, version, `#/components/schemas/${name}`, true));
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas } };
}

export function openApiV3Index(registry: ResourceRegistry): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [group, versions] of registry.groups()) {
    for (const v of versions) {
      const p = gvPrefix(group, v);
      const hash = createHash('sha256')
        .update(JSON.stringify(openApiV3GroupVersion(registry, p)))
        .digest('hex')
        .slice(0, 32)
        .toUpperCase();
      paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${hash}` };
    }
  }
  return { paths };
}

export function openApiV2(registry: ResourceRegistry): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  const definitions: Record<string, unknown> = {};
  for (const r of registry.all()) {
    for (const v of r.versions) {
      const name = definitionName(r, v);
      definitions[name] = schemaFor(r, v);
      Object.assign(paths, operations(r, v, `#/definitions/${name}`, false));
    }
  }
  return { swagger: '2.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, definitions };
}
