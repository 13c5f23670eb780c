// The init-container executor: inject `stash-init` into the workload's pod template (the workload
// rolls), grant the pods' service account what the agent needs, report the hosts.
import type { PodTemplateSpec } from '../../api/core.ts';
import type { KubeObject } from '../../api/meta.ts';
import { MANAGED_BY_GITOPS_CONDITION, gitopsOwner, gitopsWarning } from '../gitops-owner.ts';
import type { WorkloadKind } from '../../api/workloads.ts';
import { resolveHosts } from '../../hosts/resolve.ts';
import { contentId } from '../../plan/content-id.ts';
import { INIT_CONTAINER_NAME, agentContainer, agentVolumes } from '../agent-container.ts';
import { CONDITION, REASON } from '../../session/conditions.ts';
import { ensureAgentRbac } from './agent-rbac.ts';
import { serviceAccountTokenSetting } from './service-account-token.ts';
import { workloadRefusal } from '../agent-pods.ts';
import type { AgentTrouble } from '../agent-pods.ts';
export { agentRoleRules } from './agent-rbac.ts';
export type { PolicyRule } from './agent-rbac.ts';
import { INJECTED_BY_ANNOTATION, injectInitContainer, injectedHash, removeInjection } from '../injection.ts';
import { shortHash } from '../../session/names.ts';
import type { ExecutorContext, ExecutorState } from './types.ts';
import { ControllerError, isPermanentRefusal } from '../errors.ts';
import { apiErrorInfo, isConflict } from '../../kube/api-error.ts';
import type { RestoreSession } from '../../api/restoresession.ts';

/** The hash recorded on the template: a new session (even with the same spec) rolls the pods again. */
export function sessionSpecHash(s: RestoreSession): string {
  return shortHash(`${s.metadata.uid ?? ''}/${contentId(s)}`, 16);
}

function templateOf(o: KubeObject): PodTemplateSpec {
  return (o['spec'] as { template: PodTemplateSpec }).template;
}

export async function ensureInitContainer(ctx: ExecutorContext): Promise<ExecutorState> {
  const { cluster, session, repository } = ctx;
  const ref = session.spec.target!.ref!;
  const ns = ref.namespace || session.metadata.namespace!;
  let workload: KubeObject | undefined;
  try {
    workload = await cluster.workload(ref.kind as WorkloadKind, ns, ref.name);
  } catch (e) {
    // As Stash: the target could not be checked (a permission, the API server): Unknown, with why, and looked at again.
    return {
      targetFound: false,
      conditions: [
        {
          type: CONDITION.RestoreTargetFound,
          status: 'Unknown',
          reason: REASON.UnableToCheckTargetAvailability,
          message: `Failed to check whether restore target ${ref.kind} ${ns}/${ref.name} exist or not. Reason: ${cluster.describeError(e)}`,
        },
      ],
    };
  }
  if (!workload) {
    return {
      targetFound: false,
      conditions: [
        { type: CONDITION.RestoreTargetFound, status: 'False', reason: REASON.TargetNotAvailable, message: `${ref.kind} ${ns}/${ref.name} does not exist` },
      ],
    };
  }
  const resolution = resolveHosts(session, workload, ref.kind === 'DaemonSet' ? await cluster.nodes() : []);
  const conditions: ExecutorState['conditions'] = [
    { type: CONDITION.RestoreTargetFound, status: 'True', reason: REASON.TargetAvailable, message: `${ref.kind} ${ns}/${ref.name} found` },
  ];
  const owner = gitopsOwner(workload);
  const warning = owner ? gitopsWarning(workload, owner) : undefined;
  if (owner) conditions.push({ type: MANAGED_BY_GITOPS_CONDITION, status: 'True', reason: `ManagedBy${owner.tool.replace(/\s/g, '')}`, message: warning! });

  const hash = sessionSpecHash(session);
  const template = templateOf(workload);
  if (injectedHash(template) !== hash) {
    const sessionKey = `${session.metadata.namespace}/${session.metadata.name}`;
    const other = template.metadata?.annotations?.[INJECTED_BY_ANNOTATION];
    const injection = {
      container: agentContainer({
        session,
        repository,
        agent: ctx.config.agent,
        name: INIT_CONTAINER_NAME,
        hostFrom: 'pod',
        dataMounts: session.spec.target?.volumeMounts ?? [],
      }),
      volumes: agentVolumes(session, repository),
      specHash: hash,
      session: sessionKey,
      imagePullSecrets: ctx.config.agent.imagePullSecrets,
      serviceAccount: await serviceAccountTokenSetting(ctx, ns, template.spec),
    };
    const inject = (w: KubeObject): KubeObject => {
      const r = rollingForRestore(w, sessionKey);
      return { ...r, spec: { ...(r['spec'] as object), template: injectInitContainer(templateOf(w), injection) } };
    };
    const rolling = rollingForRestore(workload, sessionKey);
    try {
      // RBAC first: once the template carries the hash, this block does not run again.
      await ensureAgentRbac(ctx, template.spec.serviceAccountName || 'default');
      await replaceInjected(ctx, inject(workload), (fresh) => (injectedHash(templateOf(fresh)) === hash ? undefined : inject(fresh)));
    } catch (e) {
      const message = `cannot inject into ${ref.kind} ${ns}/${ref.name}: ${cluster.describeError(e)}`;
      await cluster.event(workload, 'Warning', 'Init-Container Injection Failed', message);
      // A refusal that stands (the spec cannot change) fails the session, with Stash's condition.
      if (isPermanentRefusal(e)) {
        conditions.push({
          type: CONDITION.StashInitContainerInjected,
          status: 'False',
          reason: REASON.InitContainerInjectionFailed,
          message: `Failed to inject Stash init-container into ${ref.kind} ${ns}/${ref.name}. Reason: ${cluster.describeError(e)}`,
        });
        return { targetFound: true, conditions };
      }
      const status = apiErrorInfo(e).code;
      throw new ControllerError(
        'InjectionFailed',
        `${message} (retrying with backoff; check the controller may update ${ref.kind.toLowerCase()}s in ${ns})`,
        { session: sessionKey, object: `${ref.kind} ${ns}/${ref.name}`, ...(status ? { status } : {}) },
        { cause: e },
      );
    }
    // Only OnDelete is ever switched (and kept in the annotation), so that is what the event names.
    const switched = rolling !== workload ? ' (updateStrategy OnDelete is RollingUpdate until the restore is over)' : '';
    await cluster.event(
      workload,
      'Normal',
      'Init-Container Injection Succeeded',
      `stash-init injected for RestoreSession ${sessionKey}${other && other !== sessionKey ? ` (replacing ${other}'s)` : ''}; the pods roll${switched}`,
    );
    if (warning) {
      await cluster.event(session, 'Warning', MANAGED_BY_GITOPS_CONDITION, warning);
      await cluster.event(workload, 'Warning', MANAGED_BY_GITOPS_CONDITION, `RestoreSession ${sessionKey}: ${warning}`);
    }
  }
  conditions.push({
    type: CONDITION.StashInitContainerInjected,
    status: 'True',
    reason: REASON.InitContainerInjectionSucceeded,
    message: `stash-init is in ${ref.kind} ${ref.name}'s pod template`,
  });
  const troubles = await refusedPods(ctx, workload);
  return { targetFound: true, conditions, ...(resolution.known ? { totalHosts: resolution.totalHosts } : {}), ...(troubles.length ? { troubles } : {}) };
}

/**
 * Writes the injected workload. The workload's own controller writes its status all the time (a
 * real StatefulSet controller does while it makes the pods), so a conflict is answered by reading
 * it again from the API and injecting into that (`rebuild`; undefined: already injected), a few times.
 */
async function replaceInjected(ctx: ExecutorContext, injected: KubeObject, rebuild: (fresh: KubeObject) => KubeObject | undefined): Promise<void> {
  let next: KubeObject | undefined = injected;
  for (let attempt = 1; next; attempt++) {
    try {
      await ctx.cluster.replaceWorkload(next);
      return;
    } catch (e) {
      if (!isConflict(e) || attempt >= 5) throw e;
      const fresh = await ctx.cluster.workload(next.kind as WorkloadKind, next.metadata.namespace!, next.metadata.name, { fresh: true });
      if (!fresh) throw e; // deleted meanwhile: the next reconcile finds no target
      next = rebuild(fresh);
    }
  }
}

/**
 * Pods the workload's controller cannot create ({@link workloadRefusal}). A StatefulSet's or
 * DaemonSet's events are read only while it has fewer pods than it wants.
 */
async function refusedPods(ctx: ExecutorContext, workload: KubeObject): Promise<AgentTrouble[]> {
  const w = workload as KubeObject & { spec?: { replicas?: number }; status?: Record<string, number | undefined> };
  const st = w.status ?? {};
  const short =
    (w.kind === 'StatefulSet' && (st['replicas'] ?? 0) < (w.spec?.replicas ?? 1)) ||
    (w.kind === 'DaemonSet' && (st['currentNumberScheduled'] ?? 0) < (st['desiredNumberScheduled'] ?? 0));
  const events = short ? await ctx.cluster.eventsOn(w.metadata.namespace!, w.kind, w.metadata.name) : [];
  const since = new Date(ctx.session.metadata.creationTimestamp ?? 0);
  const trouble = workloadRefusal(w as Parameters<typeof workloadRefusal>[0], events, since);
  return trouble ? [trouble] : [];
}

/**
 * Removes exactly what the injection added, when this session made it. As with the injection, a
 * conflict (the workload's controller wrote its status meanwhile) is answered by reading it again
 * and removing from that, a few times.
 */
export async function removeInitContainer(ctx: Omit<ExecutorContext, 'repository'>): Promise<void> {
  const { cluster, session } = ctx;
  const ref = session.spec.target?.ref;
  if (!ref) return;
  const ns = ref.namespace || session.metadata.namespace!;
  const key = `${session.metadata.namespace}/${session.metadata.name}`;
  let workload = await cluster.workload(ref.kind as WorkloadKind, ns, ref.name);
  for (let attempt = 1; workload; attempt++) {
    const removal = withoutInjection(workload, key);
    if (!removal) return;
    try {
      await cluster.replaceWorkload(removal.workload);
    } catch (e) {
      if (!isConflict(e) || attempt >= 5) throw e;
      workload = await cluster.workload(ref.kind as WorkloadKind, ns, ref.name, { fresh: true });
      continue;
    }
    if (removal.injected)
      await cluster.event(
        workload,
        'Normal',
        'Init-Container Removed',
        `RestoreSession ${session.metadata.namespace}/${session.metadata.name} was deleted: stash-init removed, the pods roll back`,
      );
    return;
  }
}

/**
 * The workload without what session `key` changed (its injection, its strategy switch), and
 * whether it had injected; undefined when the session changed nothing there.
 */
function withoutInjection(workload: KubeObject, key: string): { workload: KubeObject; injected: boolean } | undefined {
  const template = templateOf(workload);
  const back = ownStrategyBack(workload, key);
  if (template.metadata?.annotations?.[INJECTED_BY_ANNOTATION] !== key) return back === workload ? undefined : { workload: back, injected: false };
  return { workload: { ...back, spec: { ...(back['spec'] as object), template: removeInjection(template) } }, injected: true };
}

/** On the workload: the updateStrategy it had before a restore switched it to RollingUpdate (`{session, updateStrategy}`, JSON). */
export const ORIGINAL_STRATEGY_ANNOTATION = 'restore.gitops/original-update-strategy';

type Strategy = { type?: string; rollingUpdate?: unknown };

/**
 * The workload with `updateStrategy: OnDelete` switched to RollingUpdate (StatefulSets and
 * DaemonSets), its own strategy kept in an annotation; the workload itself when nothing changes.
 * Under OnDelete an injected template reaches no pod until someone deletes them: the session
 * would run for ever.
 */
export function rollingForRestore(workload: KubeObject, sessionKey: string): KubeObject {
  const spec = workload['spec'] as { updateStrategy?: Strategy };
  const saved = workload.metadata.annotations?.[ORIGINAL_STRATEGY_ANNOTATION];
  // Another session switched it and this one replaces its injection: the switch is this one's now.
  let original: Strategy | undefined = spec.updateStrategy?.type === 'OnDelete' ? spec.updateStrategy : undefined;
  if (!original && saved) {
    try {
      original = (JSON.parse(saved) as { updateStrategy?: Strategy }).updateStrategy;
    } catch {
      original = undefined;
    }
  }
  if ((workload.kind !== 'StatefulSet' && workload.kind !== 'DaemonSet') || !original) return workload;
  const annotations = { ...workload.metadata.annotations, [ORIGINAL_STRATEGY_ANNOTATION]: JSON.stringify({ session: sessionKey, updateStrategy: original }) };
  return { ...workload, metadata: { ...workload.metadata, annotations }, spec: { ...spec, updateStrategy: { type: 'RollingUpdate' } } };
}

/** The workload with the strategy `rollingForRestore` replaced for this session put back; itself when there is none. */
export function ownStrategyBack(workload: KubeObject, sessionKey: string): KubeObject {
  const saved = workload.metadata.annotations?.[ORIGINAL_STRATEGY_ANNOTATION];
  if (!saved) return workload;
  let original: { session?: string; updateStrategy?: Strategy };
  try {
    original = JSON.parse(saved) as typeof original;
  } catch {
    return workload;
  }
  if (original.session !== sessionKey || !original.updateStrategy) return workload;
  const { [ORIGINAL_STRATEGY_ANNOTATION]: _saved, ...rest } = workload.metadata.annotations!;
  const metadata = { ...workload.metadata, annotations: rest };
  if (Object.keys(rest).length === 0) delete (metadata as { annotations?: unknown }).annotations;
  return { ...workload, metadata, spec: { ...(workload['spec'] as object), updateStrategy: original.updateStrategy } };
}

/** Once the session is final, the workload's own updateStrategy goes back (the template stays: nothing rolls). */
export async function restoreUpdateStrategy(ctx: Omit<ExecutorContext, 'repository'>): Promise<void> {
  const { cluster, session } = ctx;
  const ref = session.spec.target?.ref;
  if (!ref || (ref.kind !== 'StatefulSet' && ref.kind !== 'DaemonSet')) return;
  // A final session is not reconciled again, so a conflict (the workload's status moved) is retried here.
  for (let attempt = 1; ; attempt++) {
    const workload = await cluster.workload(ref.kind, ref.namespace || session.metadata.namespace!, ref.name);
    if (!workload) return;
    const back = ownStrategyBack(workload, `${session.metadata.namespace}/${session.metadata.name}`);
    if (back === workload) return;
    try {
      await cluster.replaceWorkload(back);
      return;
    } catch (e) {
      if (!isConflict(e) || attempt >= 5) throw e;
    }
  }
}
