// The workload controllers: StatefulSet (ordinal pods, claims from volumeClaimTemplates, ordered
// start and ordered rolling update), Deployment (pods with a pod-template-hash; new pods replace
// old ones as they become ready), DaemonSet (one pod per node) and Job (completions, parallelism,
// backoffLimit). Pods are owned by their workload (controller ownerReference).
import type { Obj } from '../store.ts';
import type { SimContext } from './context.ts';
import { conditionTrue, controllerRef, isControlledBy, podFinished, podReady, randomSuffix, templateHash } from './util.ts';

function ownedPods(ctx: SimContext, owner: Obj): Obj[] {
  return ctx.list(ctx.pods, owner.metadata.namespace).filter((p) => isControlledBy(p, owner));
}

function podFromTemplate(owner: Obj, name: string, labels: Record<string, string>, spec: Record<string, unknown> = {}): Obj {
  const t = owner.spec.template ?? {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels: { ...(t.metadata?.labels ?? {}), ...labels },
      ...(t.metadata?.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
      ownerReferences: [controllerRef(owner)],
    },
    spec: { ...structuredClone(t.spec ?? {}), ...spec },
  };
}

function age(p: Obj): number {
  return Date.parse(p.metadata.creationTimestamp ?? '') || 0;
}

// ---- StatefulSet ----

export function reconcileStatefulSet(ctx: SimContext, ns: string, name: string): void {
  const r = ctx.r('apps', 'statefulsets');
  const sts = ctx.core.tryGet(r, ns, name);
  if (!sts || sts.metadata.deletionTimestamp) return;
  const replicas: number = sts.spec.replicas ?? 1;
  const revision = `${name}-${templateHash(sts.spec.template)}`;
  const parallel = sts.spec.podManagementPolicy === 'Parallel';
  const pods = new Map(ownedPods(ctx, sts).map((p) => [p.metadata.name as string, p]));
  const manager = 'statefulset-controller';

  // Claims from volumeClaimTemplates, `<template>-<sts>-<ordinal>`, created before the pod.
  const ensureClaims = (ordinal: number): Array<Record<string, unknown>> => {
    const vols: Array<Record<string, unknown>> = [];
    for (const t of sts.spec.volumeClaimTemplates ?? []) {
      const claim = `${t.metadata.name}-${name}-${ordinal}`;
      const pvcR = ctx.r('', 'persistentvolumeclaims');
      if (!ctx.core.tryGet(pvcR, ns, claim)) {
        ctx.create(
          pvcR,
          {
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: claim, namespace: ns, labels: { ...(sts.spec.selector?.matchLabels ?? {}), ...(t.metadata.labels ?? {}) } },
            spec: structuredClone(t.spec ?? {}),
          } as Obj,
          manager,
        );
      }
      vols.push({ name: t.metadata.name, persistentVolumeClaim: { claimName: claim } });
    }
    return vols;
  };

  const makePod = (ordinal: number): void => {
    const claims = ensureClaims(ordinal);
    const podName = `${name}-${ordinal}`;
    const pod = podFromTemplate(
      sts,
      podName,
      { 'controller-revision-hash': revision, 'statefulset.kubernetes.io/pod-name': podName, 'apps.kubernetes.io/pod-index': String(ordinal) },
      { hostname: podName, ...(sts.spec.serviceName ? { subdomain: sts.spec.serviceName } : {}) },
    );
    const volumes = ((pod.spec.volumes ?? []) as Array<{ name: string }>).filter((v) => !claims.some((c) => c.name === v.name));
    pod.spec.volumes = [...volumes, ...claims];
    if (ctx.create(ctx.pods, pod, manager)) ctx.event(sts, 'Normal', 'SuccessfulCreate', `create Pod ${podName} in StatefulSet ${name} successful`, manager);
  };

  // Scale up, in order: pod i only once 0..i-1 are Running and Ready (OrderedReady).
  for (let i = 0; i < replicas; i++) {
    const p = pods.get(`${name}-${i}`);
    if (!p) {
      makePod(i);
      if (!parallel) break;
      continue;
    }
    if (p.status?.phase === 'Failed' || p.status?.phase === 'Succeeded') {
      ctx.delete(ctx.pods, ns, p.metadata.name);
      if (!parallel) break;
      continue;
    }
    if (!parallel && !podReady(p)) break;
  }
  // Scale down, highest ordinal first, one at a time.
  const extra = [...pods.values()]
    .filter((p) => Number(p.metadata.name.slice(name.length + 1)) >= replicas)
    .sort((a, b) => Number(b.metadata.name.slice(name.length + 1)) - Number(a.metadata.name.slice(name.length + 1)));
  if (extra.length && !extra[0]!.metadata.deletionTimestamp) ctx.delete(ctx.pods, ns, extra[0]!.metadata.name);

  // Rolling update: highest ordinal first, only while every pod is Running and Ready.
  const current = [...Array(replicas).keys()].map((i) => pods.get(`${name}-${i}`));
  const strategy = sts.spec.updateStrategy?.type ?? 'RollingUpdate';
  const partition: number = sts.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
  if (strategy === 'RollingUpdate' && current.every((p) => p && podReady(p))) {
    for (let i = replicas - 1; i >= partition; i--) {
      const p = current[i]!;
      if (p.metadata.labels?.['controller-revision-hash'] !== revision) {
        ctx.delete(ctx.pods, ns, p.metadata.name);
        break;
      }
    }
  }

  const live = ownedPods(ctx, sts).filter((p) => !p.metadata.deletionTimestamp);
  const ready = live.filter(podReady).length;
  const updated = live.filter((p) => p.metadata.labels?.['controller-revision-hash'] === revision).length;
  const allUpdated = updated === replicas && live.length === replicas;
  const prev = sts.status ?? {};
  const currentRevision = allUpdated ? revision : (prev.currentRevision ?? revision);
  ctx.writeStatus(
    r,
    sts,
    {
      observedGeneration: sts.metadata.generation,
      replicas: live.length,
      readyReplicas: ready,
      currentReplicas: live.filter((p) => p.metadata.labels?.['controller-revision-hash'] === currentRevision).length,
      updatedReplicas: updated,
      availableReplicas: ready,
      currentRevision,
      updateRevision: revision,
      collisionCount: 0,
    },
    manager,
  );
}

// ---- Deployment ----

export function reconcileDeployment(ctx: SimContext, ns: string, name: string): void {
  const r = ctx.r('apps', 'deployments');
  const dep = ctx.core.tryGet(r, ns, name);
  if (!dep || dep.metadata.deletionTimestamp) return;
  const manager = 'deployment-controller';
  const replicas: number = dep.spec.replicas ?? 1;
  const hash = templateHash(dep.spec.template);
  const pods = ownedPods(ctx, dep).filter((p) => !p.metadata.deletionTimestamp);
  for (const p of pods) if (podFinished(p)) ctx.delete(ctx.pods, ns, p.metadata.name);
  const alive = pods.filter((p) => !podFinished(p));
  const fresh = alive.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash);
  const old = alive.filter((p) => p.metadata.labels?.['pod-template-hash'] !== hash).sort((a, b) => age(a) - age(b));
  for (let i = fresh.length; i < replicas; i++) {
    ctx.create(ctx.pods, podFromTemplate(dep, `${name}-${hash}-${randomSuffix()}`, { 'pod-template-hash': hash }), manager);
  }
  for (const p of fresh.slice(replicas)) ctx.delete(ctx.pods, ns, p.metadata.name);
  // Old pods go as new ones become ready (Recreate: all at once).
  const readyNew = fresh.filter(podReady).length;
  const keepOld = dep.spec.strategy?.type === 'Recreate' ? 0 : Math.max(0, replicas - readyNew);
  for (const p of old.slice(0, Math.max(0, old.length - keepOld))) ctx.delete(ctx.pods, ns, p.metadata.name);

  const live = ownedPods(ctx, dep).filter((p) => !p.metadata.deletionTimestamp);
  const ready = live.filter(podReady).length;
  const updated = live.filter((p) => p.metadata.labels?.['pod-template-hash'] === hash).length;
  const available = ready >= replicas;
  const done = updated === replicas && live.length === replicas && ready === replicas;
  const now = ctx.now();
  const prevCond = (type: string): any => (dep.status?.conditions ?? []).find((c: any) => c.type === type);
  const cond = (type: string, status: string, reason: string, message: string): Record<string, unknown> => {
    const p = prevCond(type);
    const same = p && p.status === status && p.reason === reason;
    return {
      type,
      status,
      lastUpdateTime: same ? p.lastUpdateTime : now,
      lastTransitionTime: p && p.status === status ? p.lastTransitionTime : now,
      reason,
      message,
    };
  };
  ctx.writeStatus(
    r,
    dep,
    {
      observedGeneration: dep.metadata.generation,
      replicas: live.length,
      updatedReplicas: updated,
      readyReplicas: ready,
      availableReplicas: ready,
      ...(live.length - ready > 0 ? { unavailableReplicas: live.length - ready } : {}),
      conditions: [
        cond(
          'Available',
          available ? 'True' : 'False',
          available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          available ? 'Deployment has minimum availability.' : 'Deployment does not have minimum availability.',
        ),
        cond(
          'Progressing',
          'True',
          done ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
          done ? `Pods of deployment "${name}" with template hash ${hash} are available.` : `Deployment "${name}" is progressing.`,
        ),
      ],
    },
    manager,
  );
}

// ---- DaemonSet ----

export function reconcileDaemonSet(ctx: SimContext, ns: string, name: string): void {
  const r = ctx.r('apps', 'daemonsets');
  const ds = ctx.core.tryGet(r, ns, name);
  if (!ds || ds.metadata.deletionTimestamp) return;
  const manager = 'daemonset-controller';
  const hash = templateHash(ds.spec.template);
  const selector: Record<string, string> = ds.spec.template?.spec?.nodeSelector ?? {};
  const nodes = ctx.nodes.filter((n) =>
    Object.entries(selector).every(([k, v]) => (k === 'kubernetes.io/hostname' ? v === n : k === 'kubernetes.io/os' ? v === 'linux' : false)),
  );
  const pods = ownedPods(ctx, ds).filter((p) => !p.metadata.deletionTimestamp);
  let budget = 1; // maxUnavailable 1: one node at a time during a rolling update
  if (!pods.every((p) => podReady(p))) budget = 0;
  for (const node of nodes) {
    const here = pods.filter((p) => p.spec?.nodeName === node);
    if (here.length === 0) {
      ctx.create(
        ctx.pods,
        podFromTemplate(
          ds,
          `${name}-${randomSuffix()}`,
          { 'controller-revision-hash': hash, 'pod-template-generation': String(ds.metadata.generation) },
          { nodeName: node },
        ),
        manager,
      );
      continue;
    }
    for (const extra of here.slice(1)) ctx.delete(ctx.pods, ns, extra.metadata.name);
    const p = here[0]!;
    if (podFinished(p)) ctx.delete(ctx.pods, ns, p.metadata.name);
    else if (p.metadata.labels?.['controller-revision-hash'] !== hash && budget > 0 && (ds.spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') {
      budget--;
      ctx.delete(ctx.pods, ns, p.metadata.name);
    }
  }
  for (const p of pods) if (!nodes.includes(p.spec?.nodeName)) ctx.delete(ctx.pods, ns, p.metadata.name);

  const live = ownedPods(ctx, ds).filter((p) => !p.metadata.deletionTimestamp);
  const ready = live.filter(podReady).length;
  const updated = live.filter((p) => p.metadata.labels?.['controller-revision-hash'] === hash).length;
  ctx.writeStatus(
    r,
    ds,
    {
      observedGeneration: ds.metadata.generation,
      desiredNumberScheduled: nodes.length,
      currentNumberScheduled: live.length,
      numberMisscheduled: 0,
      numberReady: ready,
      updatedNumberScheduled: updated,
      numberAvailable: ready,
      ...(nodes.length - ready > 0 ? { numberUnavailable: nodes.length - ready } : {}),
    },
    manager,
  );
}

// ---- Job ----

export function reconcileJob(ctx: SimContext, ns: string, name: string): void {
  const r = ctx.r('batch', 'jobs');
  const job = ctx.core.tryGet(r, ns, name);
  if (!job || job.metadata.deletionTimestamp) return;
  const manager = 'job-controller';
  const finished = conditionTrue(job, 'Complete') || conditionTrue(job, 'Failed');
  const pods = ownedPods(ctx, job);
  const succeeded = pods.filter((p) => podFinished(p) === 'Succeeded').length;
  const failedPods = pods.filter((p) => podFinished(p) === 'Failed').length;
  const restarts = pods.reduce(
    (n, p) => n + (p.status?.containerStatuses ?? []).concat(p.status?.initContainerStatuses ?? []).reduce((m: number, c: any) => m + (c.restartCount ?? 0), 0),
    0,
  );
  const failed = failedPods;
  const active = pods.filter((p) => !podFinished(p) && !p.metadata.deletionTimestamp);
  const completions: number = job.spec.completions ?? 1;
  const parallelism: number = job.spec.parallelism ?? 1;
  const backoffLimit: number = job.spec.backoffLimit ?? 6;
  const now = ctx.now();
  const status: Record<string, any> = { ...(job.status ?? {}) };
  status.startTime ??= now;
  if (!finished) {
    const exceeded = failed + (job.spec.template?.spec?.restartPolicy === 'OnFailure' ? restarts : 0) > backoffLimit;
    if (exceeded) {
      for (const p of active) ctx.delete(ctx.pods, ns, p.metadata.name);
      status.conditions = [
        {
          type: 'FailureTarget',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
          lastProbeTime: now,
          lastTransitionTime: now,
        },
        {
          type: 'Failed',
          status: 'True',
          reason: 'BackoffLimitExceeded',
          message: 'Job has reached the specified backoff limit',
          lastProbeTime: now,
          lastTransitionTime: now,
        },
      ];
      ctx.event(job, 'Warning', 'BackoffLimitExceeded', 'Job has reached the specified backoff limit', manager);
    } else if (succeeded >= completions) {
      status.completionTime = now;
      status.conditions = [
        {
          type: 'SuccessCriteriaMet',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastProbeTime: now,
          lastTransitionTime: now,
        },
        {
          type: 'Complete',
          status: 'True',
          reason: 'CompletionsReached',
          message: 'Reached expected number of succeeded pods',
          lastProbeTime: now,
          lastTransitionTime: now,
        },
      ];
      ctx.event(job, 'Normal', 'Completed', 'Job completed', manager);
    } else if (!job.spec.suspend) {
      const want = Math.min(parallelism, completions - succeeded) - active.length;
      for (let i = 0; i < want; i++) {
        // A refused pod is a FailedCreate Warning on the Job, retried later, as the job-controller does.
        ctx.create(
          ctx.pods,
          podFromTemplate(job, `${name}-${randomSuffix()}`, { 'batch.kubernetes.io/job-name': name, 'job-name': name }),
          manager,
          (message) => {
            ctx.event(job, 'Warning', 'FailedCreate', `Error creating: ${message}`, manager);
            ctx.after(1000, 'job', ns, name);
          },
        );
      }
    }
  }
  const live = ownedPods(ctx, job);
  const activeNow = live.filter((p) => !podFinished(p) && !p.metadata.deletionTimestamp);
  status.active = activeNow.length || undefined;
  status.ready = activeNow.filter(podReady).length;
  status.succeeded = succeeded || undefined;
  status.failed = failed || undefined;
  status.terminating = 0;
  status.uncountedTerminatedPods = {};
  ctx.writeStatus(r, job, JSON.parse(JSON.stringify(status)), manager);
}
