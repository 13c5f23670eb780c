// Kubernetes object basics shared by every kind this project reads or writes.

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

/** Any Kubernetes object: what the loader and the cluster state hand around before narrowing. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** `kind/namespace/name`, the identity used for duplicates, references and work queues. */
export function objectKey(o: { kind: string; metadata: { namespace?: string; name: string } }): string {
  return `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  /** Stash's classification of a False condition's reason (kmodules' `Error`, `Warning`, `Info`). */
  severity?: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** Labels and annotations the daemon puts on what it creates (DESIGN §5). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'restore-controller';
export const SOURCE_ANNOTATION = 'restore.gitops/source';
export const CONTENT_ID_ANNOTATION = 'restore.gitops/content-id';
export const RERUN_ANNOTATION = 'restore.gitops/rerun';
/**
 * The controller's finalizer on every session it drives: deleting a session waits until its agents,
 * Jobs and grants are cleaned up. The daemon creates its sessions with it already set, which saves
 * the controller a PUT of each new session (a quarter of what a new session costs the API server).
 */
export const CLEANUP_FINALIZER = 'restore.gitops/cleanup';
/** The snapshot each host restores, pinned when the daemon accepted the execution (snapshot-pins.ts). */
export const SNAPSHOTS_ANNOTATION = 'restore.gitops/snapshots';
