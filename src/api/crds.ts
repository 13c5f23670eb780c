// The kinds this project manages and the CustomResourceDefinitions that serve them.
import type { KubeObject } from './meta.ts';
import { objectMetaSchema, repositorySchema, restoreSessionSchema } from './schemas.ts';
import type { Schema } from './openapi.ts';
import { REPOSITORY_KIND, REPOSITORY_VERSION } from './repository.ts';
import { RESTORE_SESSION_KIND, RESTORE_SESSION_VERSION, STASH_GROUP } from './restoresession.ts';

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
}

export const MANAGED_KINDS: readonly ManagedKind[] = [
  {
    group: STASH_GROUP,
    version: RESTORE_SESSION_VERSION,
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
    plural: 'repositories',
    singular: 'repository',
    shortNames: ['repo'],
    categories: ['stash', 'appscode'],
    schema: repositorySchema,
    printerColumns: [
      { name: 'Integrity', type: 'boolean', jsonPath: '.status.integrity' },
      { name: 'Size', type: 'string', jsonPath: '.status.size' },
      { name: 'Snapshot-Count', type: 'integer', jsonPath: '.status.snapshotCount' },
      { name: 'Last-Successful-Backup', type: 'date', jsonPath: '.status.lastBackupTime', priority: 10 },
      { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
    ],
  },
];

export function managedKind(apiVersion: string, kind: string): ManagedKind | undefined {
  return MANAGED_KINDS.find((k) => `${k.group}/${k.version}` === apiVersion && k.kind === kind);
}

/** The schema the loader checks a whole manifest against: the CRD's, with metadata spelt out. */
export function manifestSchema(k: ManagedKind): Schema {
  return { ...k.schema, properties: { ...k.schema.properties, metadata: objectMetaSchema } };
}

/** A CustomResourceDefinition (apiextensions.k8s.io/v1) for a managed kind. */
export function crdFor(k: ManagedKind): KubeObject {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${k.plural}.${k.group}`,
      labels: { 'app.kubernetes.io/name': 'stash', 'app.kubernetes.io/part-of': 'restore-controller' },
    },
    spec: {
      group: k.group,
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.singular, shortNames: k.shortNames, categories: k.categories },
      scope: 'Namespaced',
      versions: [
        {
          name: k.version,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: k.printerColumns,
          schema: { openAPIV3Schema: k.schema },
        },
      ],
    },
  };
}
