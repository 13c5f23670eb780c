// The Stash Repository API (stash.appscode.com/v1alpha1): where restic's data lives.
import type { KubeObject, ObjectMeta } from './meta.ts';
import { STASH_GROUP } from './restoresession.ts';

export const REPOSITORY_VERSION = 'v1alpha1';
export const REPOSITORY_API_VERSION = `${STASH_GROUP}/${REPOSITORY_VERSION}`;
export const REPOSITORY_KIND = 'Repository';

export interface LocalSpec {
  mountPath: string;
  subPath?: string;
  /** One Kubernetes volume source (hostPath, persistentVolumeClaim, nfs, …). */
  [volumeSource: string]: unknown;
}
export interface S3Spec {
  endpoint?: string;
  bucket: string;
  prefix?: string;
  region?: string;
  insecureTLS?: boolean;
}
export interface GcsSpec {
  bucket: string;
  prefix?: string;
  maxConnections?: number;
}
export interface AzureSpec {
  container: string;
  prefix?: string;
  maxConnections?: number;
}
export interface SwiftSpec {
  container: string;
  prefix?: string;
}
export interface B2Spec {
  bucket: string;
  prefix?: string;
  maxConnections?: number;
}
export interface RestSpec {
  url: string;
}

export const BACKEND_KINDS = ['local', 's3', 'gcs', 'azure', 'swift', 'b2', 'rest'] as const;
export type BackendKind = (typeof BACKEND_KINDS)[number];

export interface Backend {
  storageSecretName?: string;
  local?: LocalSpec;
  s3?: S3Spec;
  gcs?: GcsSpec;
  azure?: AzureSpec;
  swift?: SwiftSpec;
  b2?: B2Spec;
  rest?: RestSpec;
}

export type AllowedNamespacesFrom = 'Same' | 'All' | 'Selector';

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
}

export interface RepositorySpec {
  backend: Backend;
  wipeOut?: boolean;
  usagePolicy?: { allowedNamespaces?: { from?: AllowedNamespacesFrom; selector?: LabelSelector } };
}

export interface Repository extends KubeObject {
  apiVersion: typeof REPOSITORY_API_VERSION;
  kind: typeof REPOSITORY_KIND;
  metadata: ObjectMeta;
  spec: RepositorySpec;
  status?: Record<string, unknown>;
}

/** The backends a Repository names; a valid one names exactly one. */
export function backendKinds(backend: Backend): BackendKind[] {
  return BACKEND_KINDS.filter((k) => backend[k] !== undefined);
}
