// The kinds this project manages and the CustomResourceDefinitions that serve them.
import type { KubeObject } from './meta.ts';
import { appBindingSchema, functionSchema, objectMetaSchema, repositorySchema, restoreSessionSchema, taskSchema } from './schemas.ts';
import type { Schema } from './openapi.ts';
import { REPOSITORY_KIND, REPOSITORY_VERSION } from './repository.ts';
import { RESTORE_SESSION_KIND, RESTORE_SESSION_VERSION, STASH_GROUP } from './restoresession.ts';
import { FUNCTION_KIND, TASK_KIND, TASK_VERSION } from './task.ts';
import { APP_BINDING_KIND, APP_BINDING_VERSION, APPCATALOG_GROUP } from './appbinding.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'date' | 'number' | 'boolean';
  jsonPath: string;
  priority?: number;
}

export interface ManagedKind {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  /** The schema as the CRD serves it. */
  schema: Schema;
  printerColumns: PrinterColumn[];
  /** `Namespaced` unless said (Function and Task are cluster-scoped). */
  scope?: 'Namespaced' | 'Cluster';
  /** Whether the CRD serves a status subresource (the kinds with a status). */
  status?: boolean;
  /** The `app.kubernetes.io/name` label of the CRD, as its owner labels it. */
  appName?: string;
}

/** The kinds restore-controller applies from git. */
export const MANAGED_KINDS: readonly ManagedKind[] = [
  {
    group: STASH_GROUP,
    version: RESTORE_SESSION_VERSION,
    status: true,
    kind: RESTORE_SESSION_KIND,
    plural: 'restoresessions',
    singular: 'restoresession',
    shortNames: ['restore'],
    categories: ['stash', 'appscode', 'all'],
    schema: restoreSessionSchema,
    printerColumns: [
      { name: 'Repository', type: 'string', jsonPath: '.spec.repository.name' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Duration', type: 'string', jsonPath: '.status.sessionDuration' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
  {
    group: STASH_GROUP,
    version: REPOSITORY_VERSION,
    kind: REPOSITORY_KIND,
    status: true,
    plural: 'repositories',
    singular: 'repository',
    shortNames: ['repo'],
    categories: ['stash', 'appscode'],
    schema: repositorySchema,
    printerColumns: [
      { name: 'Integrity', type: 'boolean', jsonPath: '.status.integrity' },
      { name: 'Size', type: 'string', jsonPath: '.status.totalSize' },
      { name: 'Snapshot-Count', type: 'integer', jsonPath: '.status.snapshotCount' },
      { name: 'Last-Successful-Backup', type: 'date', jsonPath: '.status.lastBackupTime', priority: 10 },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
];

/**
 * The kinds a Task restore reads and never writes: Stash's Function and Task (the addon catalog
 * installs them) and the AppBinding of a database. deploy/crds serves them for clusters without
 * Stash or KubeDB; the schemas are theirs, so installing over theirs changes nothing.
 */
export const READ_KINDS: readonly ManagedKind[] = [
  {
    group: STASH_GROUP,
    version: TASK_VERSION,
    kind: FUNCTION_KIND,
    plural: 'functions',
    singular: 'function',
    shortNames: ['fn'],
    categories: ['stash', 'appscode'],
    scope: 'Cluster',
    schema: functionSchema,
    printerColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
  },
  {
    group: STASH_GROUP,
    version: TASK_VERSION,
    kind: TASK_KIND,
    plural: 'tasks',
    singular: 'task',
    shortNames: ['task'],
    categories: ['stash', 'appscode'],
    scope: 'Cluster',
    schema: taskSchema,
    printerColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
  },
  {
    group: APPCATALOG_GROUP,
    version: APP_BINDING_VERSION,
    kind: APP_BINDING_KIND,
    plural: 'appbindings',
    singular: 'appbinding',
    shortNames: [],
    categories: ['catalog', 'appscode', 'all'],
    appName: 'catalog',
    schema: appBindingSchema,
    printerColumns: [
      { name: 'Type', type: 'string', jsonPath: '.spec.type' },
      { name: 'Version', type: 'string', jsonPath: '.spec.version' },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
];

/** Every kind deploy/crds serves. */
export const CRD_KINDS: readonly ManagedKind[] = [...MANAGED_KINDS, ...READ_KINDS];

/** The kind of `apiVersion` and `kind` among the CRD kinds (managed or read). */
export function crdKind(apiVersion: string, kind: string): ManagedKind | undefined {
  return CRD_KINDS.find((k) => `${k.group}/${k.version}` === apiVersion && k.kind === kind);
}

export function managedKind(apiVersion: string, kind: string): ManagedKind | undefined {
  return MANAGED_KINDS.find((k) => `${k.group}/${k.version}` === apiVersion && k.kind === kind);
}

/** The schema the loader checks a whole manifest against: the CRD's, with metadata spelt out. */
export function manifestSchema(k: ManagedKind): Schema {
  return { ...k.schema, properties: { ...k.schema.properties, metadata: objectMetaSchema } };
}

/** A CustomResourceDefinition (apiextensions.k8s.io/v1) for a kind of deploy/crds. */
export function crdFor(k: ManagedKind): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${k.plural}.${k.group}`,
      labels: { 'app.kubernetes.io/name': k.appName ?? 'stash', 'app.kubernetes.io/part-of': 'restore-controller' },
    },
    spec: {
      group: k.group,
      names: {
        kind: k.kind,
        listKind: `${k.kind}List`,
        plural: k.plural,
        singular: k.singular,
        ...(k.shortNames.length ? { shortNames: k.shortNames } : {}),
        categories: k.categories,
      },
      scope: k.scope ?? 'Namespaced',
      versions: [
        {
          name: k.version,
          served: true,
          storage: true,
          ...(k.status ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: k.printerColumns,
          schema: { openAPIV3Schema: k.schema },
        },
      ],
    },
  };
}
