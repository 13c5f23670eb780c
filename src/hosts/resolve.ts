// Host resolution (SPEC Executor choice and Hosts): a pure function of the session, its target
// object (when known) and the cluster's nodes.
import { PVC_RESTORE_TASK, builtInTaskNames, officialTask } from '../api/addons.ts';
import { isAppBindingRef } from '../api/appbinding.ts';
import type { KubeObject } from '../api/meta.ts';
import type { PvcTemplate, RestoreSession } from '../api/restoresession.ts';
import { effectiveRules } from '../api/restoresession.ts';
import { INIT_CONTAINER_KINDS, isWorkloadKind, POD_ORDINAL } from '../api/workloads.ts';
import { planHost } from './rules.ts';
import type { Executor, HostPlan, HostResolution, Node } from './types.ts';

export function chooseExecutor(session: RestoreSession): Executor {
  const spec = session.spec;
  if (spec.driver === 'VolumeSnapshotter') return 'volume-snapshot';
  if (spec.task?.name || spec.target?.volumeClaimTemplates?.length) return 'job';
  return isWorkloadKind(spec.target?.ref?.kind) ? 'init-container' : 'job';
}

/** Kinds a restore Job restores into without a Task (pvc-restore); anything else needs `task.name`. */
export const JOB_TARGET_KINDS = ['PersistentVolumeClaim'] as const;

/**
 * Why the session's target is not one Stash restores into, or undefined when it is. Stash injects
 * into Deployment, StatefulSet, DaemonSet and DeploymentConfig (pkg/util RestoreModel); its restore
 * Job serves PVCs, volumeClaimTemplates and Tasks. Another kind without a Task would get a Job that
 * restores into its own pod (or one the API refuses), never into the target.
 */
export function unsupportedTargetKind(session: RestoreSession): string | undefined {
  const spec = session.spec;
  const kind = spec.target?.ref?.kind;
  if (!kind || spec.driver === 'VolumeSnapshotter' || spec.task?.name || spec.target?.volumeClaimTemplates?.length) return undefined;
  if (isWorkloadKind(kind) || (JOB_TARGET_KINDS as readonly string[]).includes(kind)) return undefined;
  return `${kind} is not a kind Stash restores into: a target's kind is one of ${INIT_CONTAINER_KINDS.join(', ')} (stash-init is injected into its pods) or ${JOB_TARGET_KINDS.join(', ')} (a restore Job mounts it); for anything else set volumeClaimTemplates (new PVCs) or spec.task.name (a Task's restore Job)`;
}

/**
 * Who carries out a session's `spec.task` (SPEC "Task restores"); the one dispatch of Task restores:
 * - `steps`: the cluster has the Task (`installed`): the restore Job runs its steps as Stash
 *   resolves them (controller/job.ts taskRestoreJob), the agent playing the final update-status;
 * - `built-in`: no such Task, and one the agent restores itself: Stash's `pvc-restore` into a
 *   PersistentVolumeClaim (the claim at `/stash-data` when the target names no volumeMounts), or a
 *   database task of Stash's catalog (`postgres-restore-<version>`, mysql, mariadb, redis) into an
 *   AppBinding (src/databases);
 * - `none`: nothing would restore the data (another Task not installed, an unknown name), with
 *   why: the session fails, never Succeeded having restored nothing (issue #14).
 * Undefined when the session names no task.
 */
export type TaskDispatch = { run: 'steps' } | { run: 'built-in' } | { run: 'none'; reason: string };

export function taskDispatch(session: RestoreSession, installed: boolean): TaskDispatch | undefined {
  const task = session.spec.task?.name;
  if (!task) return undefined;
  if (installed) return { run: 'steps' };
  const ref = session.spec.target?.ref;
  if (task === PVC_RESTORE_TASK && ref?.kind === 'PersistentVolumeClaim') return { run: 'built-in' };
  const official = officialTask(task);
  if (official?.builtIn && official.target === 'AppBinding' && isAppBindingRef(ref)) return { run: 'built-in' };
  const target = ref ? `${ref.kind} ${ref.name}` : 'no target';
  const builtIn = builtInTaskNames().filter((n) => n !== PVC_RESTORE_TASK);
  return {
    run: 'none',
    reason: `task ${task} (${target}) names a Task the cluster does not have and restore-controller has no built-in restore for: nothing was restored. Built in are ${builtIn.join(', ')} into an AppBinding and ${PVC_RESTORE_TASK} into a PersistentVolumeClaim, and the cluster has no Task ${task}: install the Task and its Functions (Stash's addon catalog), restore this one with Stash's operator, or delete the session`,
  };
}

/** Why the restore Job cannot carry out the session's `spec.task`, or undefined when it can ({@link taskDispatch}). */
export function unsupportedTask(session: RestoreSession, installed = false): string | undefined {
  const d = taskDispatch(session, installed);
  return d?.run === 'none' ? d.reason : undefined;
}

/** `${POD_ORDINAL}` replaced, as for the PVCs and Jobs of ordinal `i`. */
export function withOrdinal(text: string, ordinal: number): string {
  return text.split(POD_ORDINAL).join(String(ordinal));
}

/** The PVC names (hosts) of the VolumeSnapshotter driver: one per template and ordinal. */
export function snapshotClaims(templates: readonly PvcTemplate[], replicas: number): { claim: string; snapshot: string }[] {
  const out = new Map<string, string>();
  for (let i = 0; i < replicas; i++) {
    for (const t of templates) out.set(withOrdinal(t.metadata.name, i), withOrdinal(t.spec?.dataSource?.name ?? '', i));
  }
  return [...out].map(([claim, snapshot]) => ({ claim, snapshot }));
}

function ordinalHosts(alias: string | undefined, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${alias || 'host'}-${i}`);
}

function nodeSelectorOf(target: KubeObject): Record<string, string> {
  const spec = target['spec'] as { template?: { spec?: { nodeSelector?: Record<string, string> } } } | undefined;
  return spec?.template?.spec?.nodeSelector ?? {};
}

/**
 * Which hosts a session has, how many, and what each restores. `target` is the object named by
 * `spec.target.ref` (undefined when unknown); `nodes` are the cluster's nodes (DaemonSets only).
 */
export function resolveHosts(session: RestoreSession, target: KubeObject | undefined, nodes: readonly Node[] = []): HostResolution {
  const executor = chooseExecutor(session);
  const spec = session.spec;
  const t = spec.target;
  const alias = t?.alias;
  const { rules } = effectiveRules(spec);
  const known = (names: string[], totalHosts = names.length): HostResolution => ({
    executor,
    known: true,
    totalHosts,
    hosts: names.map((h) => planHost(rules, h)),
  });

  if (executor === 'volume-snapshot') {
    const claims = snapshotClaims(t?.volumeClaimTemplates ?? [], t?.replicas ?? 1);
    const hosts: HostPlan[] = claims.map(({ claim, snapshot }) => ({ host: claim, sourceHost: claim, snapshots: [snapshot], restores: true }));
    return { executor, known: true, totalHosts: hosts.length, hosts };
  }
  if (!t) return known(['host-0']);
  // Stash's GetHostName: an ordinal suffix only when replicas is set (a StatefulSet's volumes);
  // without it, one Job restores the alias or host-0.
  if (t.volumeClaimTemplates?.length) return t.replicas === undefined ? known([alias || 'host-0']) : known(ordinalHosts(alias, t.replicas));

  const kind = t.ref?.kind;
  if (executor === 'init-container' && (kind === 'StatefulSet' || kind === 'DaemonSet')) {
    if (!target) {
      return {
        executor,
        known: false,
        reason: `the hosts of ${kind} ${t.ref!.name} depend on the live object (${kind === 'StatefulSet' ? 'its replicas' : 'the nodes it runs on'}); pass --cluster-state to see them`,
      };
    }
    if (kind === 'StatefulSet') {
      const replicas = (target['spec'] as { replicas?: number } | undefined)?.replicas ?? 1;
      return known(ordinalHosts(alias, replicas));
    }
    const selector = nodeSelectorOf(target);
    const onNodes = nodes.filter((n) => Object.entries(selector).every(([k, v]) => n.labels[k] === v)).map((n) => n.name);
    const desired = (target['status'] as { desiredNumberScheduled?: number } | undefined)?.desiredNumberScheduled;
    return known(
      onNodes.map((n) => (alias ? `${alias}-${n}` : n)),
      desired ?? onNodes.length,
    );
  }
  // Deployment, DeploymentConfig, a PVC, a Task, anything else: one host.
  return known([alias || 'host-0']);
}
