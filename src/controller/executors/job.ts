// The restore-Job executor: PVCs from the templates (and the interim PVC), then one Job per host:
// the agent's own Job, or the steps of the installed Task the session names (hosts/resolve.ts
// taskDispatch). A Job whose pod died without the agent writing a final stat is reported Failed here.
import type * as k8s from '@kubernetes/client-node';
import type { HostRestoreStats } from '../../api/restoresession.ts';
import type { KubeObject } from '../../api/meta.ts';
import type { StashFunction, Task } from '../../api/task.ts';
import { isAppBindingRef } from '../../api/appbinding.ts';
import { resolveHosts, taskDispatch } from '../../hosts/resolve.ts';
import type { HostPlan } from '../../hosts/types.ts';
import { TaskError } from '../../tasks/errors.ts';
import { UPDATE_STATUS_FUNCTION } from '../../tasks/update-status.ts';
import type { PolicyRule } from './agent-rbac.ts';
import { hostStat } from '../../session/host-stats.ts';
import { SESSION_LABEL, claimsForOrdinal, interimClaim, sessionOwner } from '../claims.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/meta.ts';
import { restoreJobName, restoreServiceAccountName } from '../../session/names.ts';
import { CONDITION, REASON } from '../../session/conditions.ts';
import { restoreJob, taskRestoreJob } from '../job.ts';
import type { ConditionUpdate, ExecutorContext, ExecutorState } from './types.ts';
import { ControllerError, isPermanentRefusal } from '../errors.ts';
import type { AgentTrouble } from '../agent-pods.ts';
import { JOB_CONTAINER_NAME } from '../agent-container.ts';
import type { ServiceAccountTokenSetting } from '../agent-container.ts';
import type { PodSpec } from '../../api/core.ts';
import { serviceAccountTokenSetting } from './service-account-token.ts';
import { ensureAgentRbac } from './agent-rbac.ts';
import type { AppBinding } from '../../api/appbinding.ts';
import { errorMessage } from '../../common/errors.ts';
import { builtInDatabaseTask, serverName, serverOf, versionNote } from '../../databases/index.ts';
import type { BuiltInDatabaseTask } from '../../databases/index.ts';

function jobFailure(job: k8s.V1Job, host: string): string | undefined {
  const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  if (failed) return `restore Job ${job.metadata?.name} failed: ${failed.message || failed.reason || 'its pod failed'}`;
  if ((job.status?.failed ?? 0) > 0) return `restore Job ${job.metadata?.name} failed: its pod failed`;
  // Its pod ended well without the agent writing the host's result: nothing says the data is there.
  if (job.status?.conditions?.some((c) => c.type === 'Complete' && c.status === 'True')) {
    return `restore Job ${job.metadata?.name} completed, but no restore agent reported host ${host}'s result: see kubectl logs -n ${job.metadata?.namespace} job/${job.metadata?.name}`;
  }
  return undefined;
}

export async function ensureJobs(ctx: ExecutorContext): Promise<ExecutorState> {
  const { cluster, session } = ctx;
  const ns = session.metadata.namespace!;
  const resolution = resolveHosts(session, undefined);
  if (!resolution.known) {
    throw new ControllerError(
      'HostsUnknown',
      `RestoreSession ${ns}/${session.metadata.name}: a restore Job executor was chosen for a target whose hosts are only known from its pods (a controller bug: please report it)`,
      { session: `${ns}/${session.metadata.name}` },
    );
  }
  const { condition: target, appBinding } = await jobTarget(ctx);
  if (target?.status === 'False') return { targetFound: false, conditions: [target] };
  const stats: HostRestoreStats[] = [];
  const troubles: AgentTrouble[] = [];
  let created = 0;

  // The Jobs that exist; the Task and its Functions are read (and every Job built) only when one is missing.
  const names = resolution.hosts.map((_, i) => restoreJobName(session.metadata.name, i));
  const existing = await Promise.all(names.map((n) => cluster.job(ns, n)));
  let steps: TaskSteps | undefined;
  let jobs: KubeObject[] = [];
  if (existing.some((j) => !j)) {
    steps = await taskSteps(ctx);
    const serviceAccount = await serviceAccountTokenSetting(ctx, ns, jobServiceAccount(session));
    try {
      jobs = resolution.hosts.map((host, i) => jobOf(ctx, steps, host, i, serviceAccount));
    } catch (e) {
      if (!(e instanceof TaskError)) throw e;
      // A missing Function, a variable nothing sets: no Job (Stash's condition), and the session fails.
      const message = `failed to ensure restore executor. Reason: ${e.message}`;
      await cluster.event(session, 'Warning', 'Restore Job Creation Failed', message);
      return {
        targetFound: true,
        totalHosts: resolution.totalHosts,
        conditions: [
          ...(target ? [target] : []),
          { type: CONDITION.RestoreExecutorEnsured, status: 'False', reason: REASON.FailedToEnsureRestoreExecutor, message },
        ],
      };
    }
  }

  const interim = interimClaim(session);
  if (interim) await cluster.createClaim(interim);
  let rbacDone = false;
  for (let i = 0; i < resolution.hosts.length; i++) {
    const host = resolution.hosts[i]!.host;
    const found = existing[i];
    if (!found) {
      const job = jobs[i]!;
      try {
        // Once per reconcile that creates Jobs: their pods run as this service account.
        if (!rbacDone) await ensureAgentRbac(ctx, await ensureServiceAccount(ctx), appBinding, steps ? await stepRules(ctx) : []);
        rbacDone = true;
        for (const claim of claimsForOrdinal(session, i)) if (!(await cluster.claim(ns, claim.metadata.name))) await cluster.createClaim(claim);
        if (await cluster.createJob(job)) created++;
      } catch (e) {
        if (!isPermanentRefusal(e)) throw e;
        // The spec cannot change, so neither will the answer: Stash's condition, and the session fails.
        const message = `Failed to create restore job ${job.metadata.name}. Reason: ${cluster.describeError(e)}`;
        await cluster.event(session, 'Warning', 'Restore Job Creation Failed', message);
        return {
          targetFound: true,
          totalHosts: resolution.totalHosts,
          stats,
          conditions: [...(target ? [target] : []), { type: CONDITION.RestoreJobCreated, status: 'False', reason: REASON.RestoreJobCreationFailed, message }],
        };
      }
      continue;
    }
    troubles.push(...(await jobTroubles(ctx, found)));
    const failure = jobFailure(found, host);
    const phase = hostStat(session.status, host)?.phase;
    if (failure && phase !== 'Succeeded' && phase !== 'Failed') stats.push({ hostname: host, phase: 'Failed', error: failure });
  }
  if (created) await cluster.event(session, 'Normal', 'Restore Job Created', `created ${created} restore Job(s)`);
  return {
    targetFound: true,
    totalHosts: resolution.totalHosts,
    stats,
    troubles,
    conditions: [
      ...(target ? [target] : []),
      {
        type: CONDITION.RestoreJobCreated,
        status: 'True',
        reason: REASON.RestoreJobCreationSucceeded,
        message: `${resolution.hosts.length} restore Job(s) exist`,
      },
    ],
  };
}

/** The installed Task the session names and its steps' Functions, when its Job runs them; undefined for the agent's own Job. */
interface TaskSteps {
  task: Task;
  functions: Map<string, StashFunction>;
}

async function taskSteps(ctx: ExecutorContext): Promise<TaskSteps | undefined> {
  const name = ctx.session.spec.task?.name;
  const task = name ? await ctx.cluster.task(name) : undefined;
  if (taskDispatch(ctx.session, task !== undefined)?.run !== 'steps' || !task) return undefined;
  const functions = new Map<string, StashFunction>();
  // update-status is the agent's own (tasks/update-status.ts); the others must be installed.
  for (const fn of new Set((task.spec?.steps ?? []).map((s) => s.name ?? ''))) {
    if (!fn || fn === UPDATE_STATUS_FUNCTION) continue;
    const found = await ctx.cluster.stashFunction(fn);
    if (found) functions.set(fn, found);
  }
  return { task, functions };
}

function jobOf(
  ctx: ExecutorContext,
  steps: TaskSteps | undefined,
  host: HostPlan,
  index: number,
  serviceAccount: ServiceAccountTokenSetting | undefined,
): KubeObject {
  const { session, repository } = ctx;
  const agent = ctx.config.agent;
  const sa = serviceAccount ? { serviceAccount } : {};
  if (!steps) return restoreJob({ session, repository, agent, index, ...sa });
  return taskRestoreJob({ session, repository, agent, index, host, task: steps.task, functionOf: (n) => steps.functions.get(n), ...sa });
}

/** What of a Job's pod decides its token: runtimeSettings.pod's setting and the ServiceAccount it runs as ({@link ensureServiceAccount}). */
function jobServiceAccount(session: ExecutorContext['session']): Pick<PodSpec, 'serviceAccountName' | 'automountServiceAccountToken'> {
  const pod = session.spec.runtimeSettings?.pod;
  return {
    serviceAccountName: pod?.serviceAccountName || restoreServiceAccountName(session.metadata.name),
    ...(pod?.automountServiceAccountToken === undefined ? {} : { automountServiceAccountToken: pod.automountServiceAccountToken }),
  };
}

/**
 * What a Task's steps read beside what the agent reads (Stash's addons: the AppBinding the session
 * targets and its Secrets), granted on those objects only (Stash grants every Secret of the namespace).
 */
async function stepRules(ctx: ExecutorContext): Promise<PolicyRule[]> {
  const ref = ctx.session.spec.target?.ref;
  if (!ref || !isAppBindingRef(ref)) return [];
  const ns = ref.namespace || ctx.session.metadata.namespace!;
  const binding = await ctx.cluster.appBinding(ns, ref.name);
  const secrets = [binding?.spec.secret?.name, binding?.spec.tlsSecret?.name].filter((n): n is string => Boolean(n));
  return [
    { apiGroups: ['appcatalog.appscode.com'], resources: ['appbindings'], resourceNames: [ref.name], verbs: ['get'] },
    ...(secrets.length ? [{ apiGroups: [''], resources: ['secrets'], resourceNames: secrets, verbs: ['get'] }] : []),
  ];
}

/** The service account the session's Jobs run as: runtimeSettings.pod's, or one made for the session (owned by it). */
async function ensureServiceAccount(ctx: ExecutorContext): Promise<string> {
  const { cluster, session } = ctx;
  const own = session.spec.runtimeSettings?.pod?.serviceAccountName;
  if (own) return own;
  const name = restoreServiceAccountName(session.metadata.name);
  await cluster.createServiceAccount({
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      name,
      namespace: session.metadata.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [SESSION_LABEL]: session.metadata.name },
      ...(session.spec.runtimeSettings?.pod?.serviceAccountAnnotations ? { annotations: session.spec.runtimeSettings.pod.serviceAccountAnnotations } : {}),
      ownerReferences: [sessionOwner(session)],
    },
  });
  return name;
}

/**
 * A Job that has no pod because the API refuses them (FailedCreate: a missing ServiceAccount, a
 * quota, a policy) says so only in Warning events on itself, which the job-controller repeats.
 */
async function jobTroubles(ctx: ExecutorContext, job: k8s.V1Job): Promise<AgentTrouble[]> {
  const st = job.status;
  if (st?.active || st?.succeeded || st?.failed || st?.conditions?.some((c) => c.status === 'True')) return [];
  const name = job.metadata?.name ?? '';
  const refused = (await ctx.cluster.eventsOn(job.metadata?.namespace ?? '', 'Job', name)).filter((e) => e.type === 'Warning' && e.reason === 'FailedCreate');
  const last = refused.at(-1);
  if (!last) return [];
  return [
    {
      pod: '',
      container: JOB_CONTAINER_NAME,
      reason: 'FailedCreate',
      message: `restore Job ${name} cannot create its pod: FailedCreate (${last.message ?? ''}); check runtimeSettings.pod (serviceAccountName, securityContext) and the namespace's quotas and policies`,
      occurrence: `${job.metadata?.uid ?? name}/FailedCreate`,
      since: `${job.metadata?.uid ?? name}/FailedCreate`,
    },
  ];
}

/**
 * RestoreTargetFound for the object a restore Job mounts or restores into (Stash checks every
 * target before its executor: a missing one waits as Pending); no condition when there is nothing
 * to check. A database session's AppBinding is returned too: the agent is granted it and its Secrets.
 */
async function jobTarget(ctx: ExecutorContext): Promise<{ condition?: ConditionUpdate; appBinding?: AppBinding }> {
  const { cluster, session } = ctx;
  const ref = session.spec.target?.ref;
  const ns = ref?.namespace || session.metadata.namespace!;
  const database = builtInDatabaseTask(session.spec.task?.name);
  if (ref && database && isAppBindingRef(ref)) {
    const appBinding = await cluster.appBinding(ns, ref.name);
    if (!appBinding) {
      return {
        condition: {
          type: CONDITION.RestoreTargetFound,
          status: 'False',
          reason: REASON.TargetNotAvailable,
          message: `AppBinding ${ns}/${ref.name} does not exist: create it (it says where the ${database.addon.title} database listens and names its credentials Secret), or fix spec.target.ref`,
        },
      };
    }
    return {
      appBinding,
      condition: { type: CONDITION.RestoreTargetFound, status: 'True', reason: REASON.TargetAvailable, message: databaseTargetMessage(appBinding, database) },
    };
  }
  if (ref && isAppBindingRef(ref)) {
    // The AppBinding of an installed Task's restore (its steps read it themselves).
    const appBinding = await cluster.appBinding(ns, ref.name);
    const what = `AppBinding ${ns}/${ref.name}`;
    if (appBinding)
      return { appBinding, condition: { type: CONDITION.RestoreTargetFound, status: 'True', reason: REASON.TargetAvailable, message: `${what} found` } };
    return { condition: { type: CONDITION.RestoreTargetFound, status: 'False', reason: REASON.TargetNotAvailable, message: `${what} does not exist` } };
  }
  if (ref?.kind !== 'PersistentVolumeClaim' || session.spec.target?.volumeClaimTemplates?.length) return {};
  if (await cluster.claim(ns, ref.name))
    return {
      condition: {
        type: CONDITION.RestoreTargetFound,
        status: 'True',
        reason: REASON.TargetAvailable,
        message: `PersistentVolumeClaim ${ns}/${ref.name} found`,
      },
    };
  return {
    condition: {
      type: CONDITION.RestoreTargetFound,
      status: 'False',
      reason: REASON.TargetNotAvailable,
      message: `PersistentVolumeClaim ${ns}/${ref.name} does not exist`,
    },
  };
}

/** What `kubectl describe` shows of the database a session restores into: the AppBinding, the server, the dump file, the task's version. */
export function databaseTargetMessage(ab: AppBinding, database: BuiltInDatabaseTask): string {
  let server: string;
  try {
    server = `${database.addon.title} at ${serverName(serverOf(ab, database.addon.defaultPort))}`;
  } catch (e) {
    server = `${database.addon.title}, but ${errorMessage(e)}`;
  }
  return `AppBinding ${ab.metadata.namespace}/${ab.metadata.name} found: restoring ${database.addon.dumpFile} into ${server} (built-in ${versionNote(database)})`;
}

/** Deletes the session's Jobs (deadline passed, or the session is going away). */
export async function deleteJobs(ctx: Omit<ExecutorContext, 'repository'>): Promise<void> {
  const { cluster, session } = ctx;
  const resolution = resolveHosts(session, undefined);
  if (!resolution.known) return;
  for (let i = 0; i < resolution.hosts.length; i++) {
    await cluster.deleteJob(session.metadata.namespace!, restoreJobName(session.metadata.name, i));
  }
}
