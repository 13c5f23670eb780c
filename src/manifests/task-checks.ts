// Task restores (SPEC Executor choice, "Task restores"): the Task a session names must be one that
// something will run — a Task in the cluster (its Functions too) or one of Stash's official addon
// tasks the agent runs built in — or the session would end Succeeded having restored nothing.
import { builtInTaskNames, officialTask } from '../api/addons.ts';
import type { AppBinding } from '../api/appbinding.ts';
import { addonRestoreTask, APP_BINDING_KIND, isAppBindingRef } from '../api/appbinding.ts';
import type { FieldPath } from '../api/openapi.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import type { StashFunction, Task } from '../api/task.ts';
import { FUNCTION_KIND, TASK_KIND } from '../api/task.ts';
import { unsupportedTask } from '../hosts/resolve.ts';
import type { ClusterView } from './cluster-state.ts';

/** The task a session runs: its own `spec.task.name`, or the one its AppBinding names (KubeDB). */
export interface SessionTask {
  name: string;
  /** Where the name comes from. */
  from: 'session' | 'appbinding';
}

export function sessionTask(s: RestoreSession, cluster: ClusterView | undefined): SessionTask | undefined {
  if (s.spec.task?.name) return { name: s.spec.task.name, from: 'session' };
  const ref = s.spec.target?.ref;
  if (!ref || !isAppBindingRef(ref)) return undefined;
  const fromBinding = addonRestoreTask(cluster?.get<AppBinding>(APP_BINDING_KIND, ref.namespace || s.metadata.namespace, ref.name));
  return fromBinding ? { name: fromBinding.name, from: 'appbinding' } : undefined;
}

interface Report {
  err(path: FieldPath, msg: string, at?: 'key' | 'value'): void;
  warn(path: FieldPath, msg: string, at?: 'key' | 'value'): void;
}

const EXAMPLE_TASKS = 'postgres-restore-11.9 for PostgreSQL 11.9, mysql-restore-8.0.21, pvc-restore for a PVC';

/** Checks the session's task against the cluster state and Stash's catalog. */
export function checkTask(s: RestoreSession, cluster: ClusterView | undefined, { err, warn }: Report): void {
  if (s.spec.driver === 'VolumeSnapshotter') return;
  const ref = s.spec.target?.ref;
  const ns = s.metadata.namespace!;
  const task = sessionTask(s, cluster);
  if (!task) {
    if (ref && isAppBindingRef(ref)) {
      err(
        ['spec', 'target', 'ref'],
        `a database target (AppBinding ${ref.namespace || ns}/${ref.name}) needs spec.task.name: Stash restores a database by running its addon's Task (${EXAMPLE_TASKS}), and without one nothing would restore the data. A KubeDB AppBinding may name it in spec.parameters.stash.addon.restoreTask instead: then list the AppBinding in --cluster-state`,
        'key',
      );
    }
    return;
  }
  const path: FieldPath = task.from === 'session' ? ['spec', 'task', 'name'] : ['spec', 'target', 'ref', 'name'];
  const named = task.from === 'session' ? `Task "${task.name}"` : `Task "${task.name}" (named by AppBinding ${ref!.namespace || ns}/${ref!.name})`;
  const installed = cluster?.get<Task>(TASK_KIND, undefined, task.name);
  // A task that passes the checks below still may not run yet (src/hosts unsupportedTask): said before anything runs.
  const notYet = unsupportedTask(s, installed !== undefined);
  const sayNotYet = () => notYet && warn(path, `${notYet}; the session will end Failed with this reason`);
  if (installed) {
    if (checkSteps(installed, named, cluster!, path, err)) sayNotYet();
    return;
  }
  const official = officialTask(task.name);
  const listed = cluster?.covers(TASK_KIND)
    ? cluster
        .list(TASK_KIND)
        .map((t) => t.metadata.name)
        .sort()
    : undefined;
  const inCluster =
    listed === undefined
      ? 'the cluster state lists no Tasks'
      : listed.length
        ? `Tasks in the cluster state: ${listed.join(', ')}`
        : 'the cluster state has no Tasks';
  if (!official) {
    err(
      path,
      `${named} is neither in the cluster state nor one of Stash's addon tasks that restore-controller runs built in, so nothing would restore the data: install the Task and its Functions and list them in --cluster-state, or name a built-in task (${builtInTaskNames().join(', ')}); ${inCluster}`,
    );
    return;
  }
  if (!official.builtIn) {
    err(
      path,
      `${named} is Stash's ${official.title} addon, which restore-controller does not run built in, and it is not in the cluster state: install Stash's ${official.title} catalog (its Task and Functions) and list them in --cluster-state; ${inCluster}`,
    );
    return;
  }
  const kind = ref?.kind;
  if (kind && official.target === 'AppBinding' && kind !== APP_BINDING_KIND) {
    err(
      path,
      `${named} restores a ${official.title} database through an AppBinding, but the target is ${kind} ${ref!.name}: target the database's AppBinding (appcatalog.appscode.com/v1alpha1)`,
    );
  } else if (kind && official.target === 'PersistentVolumeClaim' && kind !== 'PersistentVolumeClaim') {
    err(
      path,
      `${named} restores into a stand-alone PersistentVolumeClaim, but the target is ${kind} ${ref!.name}: target the PVC, or drop spec.task to restore a workload`,
    );
  }
  if (official.version !== undefined && !official.knownVersion) {
    warn(
      path,
      `${named}: Stash's catalog has no ${official.title} ${official.version} (it has ${official.versions.join(', ')}); the built-in ${official.title} restore runs with the client in restore-controller's image, not one of version ${official.version}`,
    );
  }
  sayNotYet();
}

/** Reports a Task without steps or with steps whose Function is missing; true when it found nothing wrong. */
function checkSteps(task: Task, named: string, cluster: ClusterView, path: FieldPath, err: Report['err']): boolean {
  const steps = task.spec?.steps ?? [];
  if (!steps.length) {
    err(path, `${named} in the cluster state has no steps: Stash refuses a Task without steps (its restore Job would have no container)`);
    return false;
  }
  if (!cluster.covers(FUNCTION_KIND)) return true;
  let sound = true;
  for (const [i, step] of steps.entries()) {
    if (!step.name) err(path, `${named} step ${i} names no Function`);
    else if (!cluster.get<StashFunction>(FUNCTION_KIND, undefined, step.name)) {
      err(
        path,
        `${named} step ${i} runs Function "${step.name}", which is not in the cluster state: install it (Stash's catalog installs a Task's Functions with it) and list it in --cluster-state`,
      );
    } else continue;
    sound = false;
  }
  return sound;
}
