// The restore-Job executor: PVCs from the templates (and the interim PVC), then one Job per host.
// A Job whose pod died without the agent writing a final stat is reported Failed here.
import type * as k8s from '@kubernetes/client-node';
import type { HostRestoreStats } from '../../api/restoresession.ts';
import { resolveHosts } from '../../hosts/resolve.ts';
import { hostStat } from '../../session/host-stats.ts';
import { SESSION_LABEL, claimsForOrdinal, interimClaim, sessionOwner } from '../claims.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/meta.ts';
import { restoreServiceAccountName } from '../../session/names.ts';
import { CONDITION, REASON } from '../../session/conditions.ts';
import { restoreJob } from '../job.ts';
import type { ConditionUpdate, ExecutorContext, ExecutorState } from './types.ts';
import { ControllerError, isPermanentRefusal } from '../errors.ts';
import type { AgentTrouble } from '../agent-pods.ts';
import { JOB_CONTAINER_NAME } from '../agent-container.ts';
import { ensureAgentRbac } from './agent-rbac.ts';
import type { AppBinding } from '../../api/appbinding.ts';
import { isAppBindingRef } from '../../api/appbinding.ts';
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
  const { cluster, session, repository } = ctx;
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

  const interim = interimClaim(session);
  if (interim) await cluster.createClaim(interim);
  let rbacDone = false;
  for (let i = 0; i < resolution.hosts.length; i++) {
    const host = resolution.hosts[i]!.host;
    const job = restoreJob({ session, repository, agent: ctx.config.agent, index: i });
    const existing = await cluster.job(ns, job.metadata.name);
    if (!existing) {
      try {
        // Once per reconcile that creates Jobs: their pods run as this service account.
        if (!rbacDone) await ensureAgentRbac(ctx, await ensureServiceAccount(ctx), appBinding);
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
    troubles.push(...(await jobTroubles(ctx, existing)));
    const failure = jobFailure(existing, host);
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
    const name = restoreJob({ session, repository: undefined, agent: ctx.config.agent, index: i }).metadata.name;
    await cluster.deleteJob(session.metadata.namespace!, name);
  }
}
