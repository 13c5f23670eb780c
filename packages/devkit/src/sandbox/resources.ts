// The resource types the sandbox serves: built-in kinds plus every registered CRD. A resource is
// identified by group + plural; each is served at one or more versions with the same stored object.
import type { PrinterColumn } from 'restore-controller/api/crds';
import type { Schema } from 'restore-controller/api/openapi';
import type { Obj } from './store.ts';

export interface ResourceType {
  group: string;
  /** Served versions; the first is the storage (preferred) version. */
  versions: string[];
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  statusSubresource: boolean;
  /** Built-in kinds take strategic merge patches; custom resources do not. */
  builtin: boolean;
  /** CRD schema per version (validation, defaulting, pruning). */
  schemas?: Record<string, Schema>;
  printerColumns?: PrinterColumn[];
}

export const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function resourceKey(r: { group: string; plural: string }): string {
  return r.group ? `${r.plural}.${r.group}` : r.plural;
}

export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

function builtin(
  group: string,
  version: string,
  kind: string,
  plural: string,
  namespaced: boolean,
  shortNames: string[] = [],
  statusSubresource = false,
  categories: string[] = [],
): ResourceType {
  return {
    group,
    versions: [version],
    kind,
    listKind: `${kind}List`,
    plural,
    singular: kind.toLowerCase(),
    namespaced,
    shortNames,
    categories,
    statusSubresource,
    builtin: true,
  };
}

export const BUILTIN_RESOURCES: readonly ResourceType[] = [
  builtin('', 'v1', 'Namespace', 'namespaces', false, ['ns'], true),
  builtin('', 'v1', 'Node', 'nodes', false, ['no'], true),
  builtin('', 'v1', 'Pod', 'pods', true, ['po'], true, ['all']),
  builtin('', 'v1', 'Secret', 'secrets', true),
  builtin('', 'v1', 'ConfigMap', 'configmaps', true, ['cm']),
  builtin('', 'v1', 'ServiceAccount', 'serviceaccounts', true, ['sa']),
  builtin('', 'v1', 'Service', 'services', true, ['svc'], true, ['all']),
  builtin('', 'v1', 'PersistentVolumeClaim', 'persistentvolumeclaims', true, ['pvc'], true),
  builtin('', 'v1', 'PersistentVolume', 'persistentvolumes', false, ['pv'], true),
  builtin('', 'v1', 'Event', 'events', true, ['ev']),
  builtin('apps', 'v1', 'Deployment', 'deployments', true, ['deploy'], true, ['all']),
  builtin('apps', 'v1', 'StatefulSet', 'statefulsets', true, ['sts'], true, ['all']),
  builtin('apps', 'v1', 'DaemonSet', 'daemonsets', true, ['ds'], true, ['all']),
  builtin('batch', 'v1', 'Job', 'jobs', true, [], true, ['all']),
  builtin('coordination.k8s.io', 'v1', 'Lease', 'leases', true),
  builtin('rbac.authorization.k8s.io', 'v1', 'Role', 'roles', true),
  builtin('rbac.authorization.k8s.io', 'v1', 'RoleBinding', 'rolebindings', true),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRole', 'clusterroles', false),
  builtin('rbac.authorization.k8s.io', 'v1', 'ClusterRoleBinding', 'clusterrolebindings', false),
  builtin('storage.k8s.io', 'v1', 'StorageClass', 'storageclasses', false, ['sc']),
  builtin('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshot', 'volumesnapshots', true, ['vs'], true),
  builtin('snapshot.storage.k8s.io', 'v1', 'VolumeSnapshotClass', 'volumesnapshotclasses', false, ['vsclass']),
  builtin('apiextensions.k8s.io', 'v1', 'CustomResourceDefinition', 'customresourcedefinitions', false, ['crd', 'crds'], true),
];

/** Groups the sandbox serves as built in that a real cluster serves from CRDs (the external-snapshotter's). */
const CRD_GROUPS_ON_CLUSTERS = new Set(['snapshot.storage.k8s.io']);

/**
 * An object as an item of a list response: a real API server leaves `apiVersion` and `kind` off
 * the items of a built-in kind's list (the list names them once) and keeps them on custom
 * resources'. Watch events and single reads carry them in both cases.
 */
export function asListItem(r: ResourceType, o: Obj): Obj {
  if (!r.builtin || CRD_GROUPS_ON_CLUSTERS.has(r.group)) return o;
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest as Obj;
}

/** The resource type a CustomResourceDefinition object serves, or undefined if it serves none. */
export function resourceFromCrd(crd: Record<string, any>): ResourceType | undefined {
  const spec = crd.spec;
  if (!spec?.group || !spec.names?.plural || !spec.names?.kind) return undefined;
  const versions = (spec.versions ?? []) as Array<Record<string, any>>;
  const served = versions.filter((v) => v.served !== false);
  if (served.length === 0) return undefined;
  const storage = served.find((v) => v.storage) ?? served[0]!;
  const ordered = [storage, ...served.filter((v) => v !== storage)];
  const schemas: Record<string, Schema> = {};
  for (const v of ordered) if (v.schema?.openAPIV3Schema) schemas[v.name] = v.schema.openAPIV3Schema;
  return {
    group: spec.group,
    versions: ordered.map((v) => v.name as string),
    kind: spec.names.kind,
    listKind: spec.names.listKind ?? `${spec.names.kind}List`,
    plural: spec.names.plural,
    singular: spec.names.singular ?? spec.names.kind.toLowerCase(),
    namespaced: spec.scope !== 'Cluster',
    shortNames: spec.names.shortNames ?? [],
    categories: spec.names.categories ?? [],
    statusSubresource: Boolean(storage.subresources?.status),
    builtin: false,
    schemas,
    printerColumns: storage.additionalPrinterColumns ?? [],
  };
}

/** All resource types currently served, looked up by group/version/plural or by kind. */
export class ResourceRegistry {
  private readonly byKey = new Map<string, ResourceType>();

  constructor() {
    for (const r of BUILTIN_RESOURCES) this.byKey.set(resourceKey(r), r);
  }

  all(): ResourceType[] {
    return [...this.byKey.values()];
  }

  register(r: ResourceType): void {
    this.byKey.set(resourceKey(r), r);
  }

  unregister(r: { group: string; plural: string }): void {
    const existing = this.byKey.get(resourceKey(r));
    if (existing && !existing.builtin) this.byKey.delete(resourceKey(r));
  }

  get(group: string, plural: string): ResourceType | undefined {
    return this.byKey.get(resourceKey({ group, plural }));
  }

  /** The resource served at group/version with this plural name. */
  lookup(group: string, version: string, plural: string): ResourceType | undefined {
    const r = this.get(group, plural);
    return r?.versions.includes(version) ? r : undefined;
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    const [group, version] = apiVersion.includes('/') ? (apiVersion.split('/') as [string, string]) : ['', apiVersion];
    return this.all().find((r) => r.group === group && r.kind === kind && r.versions.includes(version));
  }

  /** group → versions, groups in a stable order (core first). */
  groups(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const r of this.all()) {
      const vs = out.get(r.group) ?? [];
      for (const v of r.versions) if (!vs.includes(v)) vs.push(v);
      out.set(r.group, vs);
    }
    return out;
  }
}
