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

export const POD_ORDINAL = '${POD_ORDINAL}';
