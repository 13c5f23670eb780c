// Stash's Function-Task model (stash.appscode.com/v1beta1, both cluster-scoped), field for field as
// stashed/apimachinery apis/stash/v1beta1/function_types.go and task_types.go define them: a Task
// is a list of steps, each naming a Function (a container template) with params; Stash resolves
// them into the containers of a backup or restore Job (src/tasks).
import type { ContainerVolumeMount, Volume } from './core.ts';
import type { KubeObject, ObjectMeta } from './meta.ts';
import type { ContainerRuntimeSettings } from './restoresession.ts';
import { STASH_GROUP } from './restoresession.ts';

export const TASK_VERSION = 'v1beta1';
export const TASK_API_VERSION = `${STASH_GROUP}/${TASK_VERSION}`;
export const FUNCTION_KIND = 'Function';
export const TASK_KIND = 'Task';

/** A value for the variable `name` (Stash's `Param`: both fields required). */
export interface Param {
  name: string;
  value: string;
}

export interface FunctionSpec {
  image?: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  ports?: Record<string, unknown>[];
  volumeMounts?: ContainerVolumeMount[];
  volumeDevices?: { name: string; devicePath: string }[];
  runtimeSettings?: ContainerRuntimeSettings;
  podSecurityPolicyName?: string;
}

export interface StashFunction extends KubeObject {
  apiVersion: typeof TASK_API_VERSION;
  kind: typeof FUNCTION_KIND;
  metadata: ObjectMeta;
  spec?: FunctionSpec;
}

/** One step of a Task: the Function it runs and the params it gives it. */
export interface FunctionRef {
  name?: string;
  params?: Param[];
}

export interface TaskSpec {
  steps?: FunctionRef[];
  /** Volumes the steps' containers may mount; `${…}` variables are substituted (pvc-restore's claim is `${TARGET_NAME}`). */
  volumes?: Volume[];
}

export interface Task extends KubeObject {
  apiVersion: typeof TASK_API_VERSION;
  kind: typeof TASK_KIND;
  metadata: ObjectMeta;
  spec?: TaskSpec;
}
