// The target kinds the SPEC knows, by the way they are restored.

/** Kinds restored by injecting the agent init-container into their pod template. */
export const INIT_CONTAINER_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'DeploymentConfig'] as const;
export type WorkloadKind = (typeof INIT_CONTAINER_KINDS)[number];

export function isWorkloadKind(kind: string | undefined): kind is WorkloadKind {
  return (INIT_CONTAINER_KINDS as readonly string[]).includes(kind ?? '');
}

/** The apiVersion each workload kind is served under. */
export const WORKLOAD_API_VERSIONS: Record<WorkloadKind, string> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  DeploymentConfig: 'apps.openshift.io/v1',
};

/**
 * The apiVersion a target kind is read under when `target.ref.apiVersion` is empty (Stash finds a
 * target by kind and name; its CRD does not require the apiVersion).
 */
const TARGET_API_VERSIONS: Record<string, string> = {
  ...WORKLOAD_API_VERSIONS,
  PersistentVolumeClaim: 'v1',
  ReplicaSet: 'apps/v1',
  ReplicationController: 'v1',
  AppBinding: 'appcatalog.appscode.com/v1alpha1',
};

/** `ref.apiVersion`, or the one its kind is served under; undefined for an unknown kind without one. */
export function targetApiVersion(ref: { apiVersion?: string; kind?: string } | undefined): string | undefined {
  if (ref?.apiVersion) return ref.apiVersion;
  return TARGET_API_VERSIONS[ref?.kind ?? ''];
}

export const POD_ORDINAL = '${POD_ORDINAL}';
