// The simulated scheduler + kubelet: binds pods to nodes, waits for their claims, runs init
// containers one after another and then the main containers, and reports pod status as a kubelet
// does (phase, conditions, init/main containerStatuses with state, exit code, restartCount,
// CrashLoopBackOff). Agent-image containers run as real processes; the others are simulated.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Obj } from '../store.ts';
import type { SimContext } from './context.ts';
import { containerEnv } from './env.ts';
import { ContainerConfigError, podDir, prepareRoot } from './podfs.ts';
import type { ProcessTable } from './processes.ts';
import { mergeConditions, same } from './util.ts';
import { SELECTED_NODE } from './volumes.ts';

/** Pod annotation: the exit code simulated (non-agent) containers finish with when they run to completion. */
export const SIMULATED_EXIT_CODE = 'sandbox.restore.gitops/exit-code';

export interface AgentConfig {
  image: string;
  /** argv prefix; the container's args (and command minus a leading `restorectl`) follow. */
  command: string[];
  /** Extra environment every agent gets (PATH, HOME…). */
  baseEnv: Record<string, string>;
}

export interface KubeletTiming {
  /** First CrashLoopBackOff delay; doubles per restart up to crashLoopMaxMs. */
  crashLoopBaseMs: number;
  crashLoopMaxMs: number;
  /** How long a simulated container of a run-to-completion pod runs. */
  simulatedRunMs: number;
}

type State = 'waiting' | 'running' | 'terminated';

interface Terminated {
  exitCode: number;
  reason: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}

interface ContainerRuntime {
  name: string;
  image: string;
  agent: boolean;
  state: State;
  reason: string;
  message?: string;
  startedAt?: string;
  terminated?: Terminated;
  lastTerminated?: Terminated;
  restartCount: number;
  /** Set while in CrashLoopBackOff or retrying a config error. */
  retryAt?: number;
  containerID?: string;
  finishAt?: number;
}

interface PodRuntime {
  uid: string;
  init: ContainerRuntime[];
  main: ContainerRuntime[];
  startTime: string;
  podIP: string;
}

const MANAGER = 'kubelet';

export function imageRepository(image: string): string {
  const noDigest = image.split('@')[0]!;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

export class Kubelet {
  private readonly ctx: SimContext;
  private readonly procs: ProcessTable;
  private readonly agent: AgentConfig;
  private readonly timing: KubeletTiming;
  private readonly pods = new Map<string, PodRuntime>();
  private ipCounter = 1;

  constructor(ctx: SimContext, procs: ProcessTable, agent: AgentConfig, timing: KubeletTiming) {
    this.ctx = ctx;
    this.procs = procs;
    this.agent = agent;
    this.timing = timing;
  }

  isAgent(image: string): boolean {
    return imageRepository(image) === imageRepository(this.agent.image);
  }

  /** The pod is gone: stop its processes and drop its folders. */
  forget(pod: Obj): void {
    this.procs.killPrefix(`${pod.metadata.uid}/`);
    this.pods.delete(pod.metadata.uid);
    rmSync(podDir(this.ctx, pod), { recursive: true, force: true });
  }

  reconcile(ns: string, name: string): void {
    const ctx = this.ctx;
    const pod = ctx.core.tryGet(ctx.pods, ns, name);
    if (!pod) return;
    if (pod.metadata.deletionTimestamp) {
      // Terminating: stop the containers, then remove the pod (finalizers, if any, still hold it).
      const prefix = `${pod.metadata.uid}/`;
      if (this.procs.runningWithPrefix(prefix)) {
        this.procs.killPrefix(prefix, () => ctx.enqueue('pod', ns, name));
        return;
      }
      try {
        ctx.core.delete(ctx.pods, ns, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      } catch {
        // gone already, or replaced by a new pod of the same name
      }
      return;
    }
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    if (!pod.spec?.nodeName) {
      this.schedule(pod);
      return;
    }

    const unbound = this.claims(pod).find((c) => c.pvc?.status?.phase !== 'Bound');
    let rt = this.pods.get(pod.metadata.uid);
    if (!rt) {
      rt = this.newRuntime(pod);
      this.pods.set(pod.metadata.uid, rt);
    }
    if (unbound) {
      this.writeStatus(pod, rt, false, unbound.pvc ? undefined : `persistentvolumeclaim "${unbound.claim}" not found`);
      return;
    }
    this.advance(pod, rt);
    this.writeStatus(pod, rt, true);
  }

  private claims(pod: Obj): Array<{ claim: string; pvc: Obj | undefined }> {
    return (pod.spec?.volumes ?? [])
      .filter((v: any) => v.persistentVolumeClaim)
      .map((v: any) => ({
        claim: v.persistentVolumeClaim.claimName as string,
        pvc: this.ctx.core.tryGet(this.ctx.r('', 'persistentvolumeclaims'), pod.metadata.namespace, v.persistentVolumeClaim.claimName),
      }));
  }

  private schedule(pod: Obj): void {
    const ctx = this.ctx;
    const claims = this.claims(pod);
    const missing = claims.find((c) => !c.pvc);
    if (missing) {
      const now = ctx.now();
      const status = {
        ...pod.status,
        phase: 'Pending',
        conditions: mergeConditions(
          pod.status?.conditions,
          [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: `0/${ctx.nodes.length} nodes are available: persistentvolumeclaim "${missing.claim}" not found.`,
            },
          ],
          now,
        ),
      };
      ctx.writeStatus(ctx.pods, pod, status, 'default-scheduler');
      return;
    }
    const wanted = pod.spec?.nodeSelector?.['kubernetes.io/hostname'];
    if (wanted && !ctx.nodes.includes(wanted)) {
      // No node matches: the pod stays Pending, Unschedulable, as kube-scheduler leaves it.
      const message = `0/${ctx.nodes.length} nodes are available: ${ctx.nodes.length} node(s) didn't match Pod's node affinity/selector.`;
      if (pod.status?.conditions?.find((c: any) => c.type === 'PodScheduled')?.message !== message)
        ctx.event(pod, 'Warning', 'FailedScheduling', message, 'default-scheduler');
      const status = {
        ...pod.status,
        phase: 'Pending',
        conditions: mergeConditions(pod.status?.conditions, [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }], ctx.now()),
      };
      ctx.writeStatus(ctx.pods, pod, status, 'default-scheduler');
      return;
    }
    let node = wanted && ctx.nodes.includes(wanted) ? wanted : undefined;
    node ??= ctx.nodes[[...(pod.metadata.name as string)].reduce((h, ch) => (h * 31 + ch.charCodeAt(0)) >>> 0, 7) % ctx.nodes.length]!;
    for (const c of claims) {
      if (c.pvc && c.pvc.status?.phase !== 'Bound' && !c.pvc.metadata.annotations?.[SELECTED_NODE]) {
        const { resourceVersion: _rv, ...metadata } = c.pvc.metadata;
        ctx.core.update(
          ctx.r('', 'persistentvolumeclaims'),
          'v1',
          pod.metadata.namespace,
          c.claim,
          { ...c.pvc, metadata: { ...metadata, annotations: { ...metadata.annotations, [SELECTED_NODE]: node } } } as Obj,
          { fieldManager: 'default-scheduler' },
        );
      }
    }
    const { resourceVersion: _rv, ...metadata } = pod.metadata;
    const bound = ctx.core.update(
      ctx.pods,
      'v1',
      pod.metadata.namespace,
      pod.metadata.name,
      { ...pod, metadata, spec: { ...pod.spec, nodeName: node } } as Obj,
      { fieldManager: 'default-scheduler' },
    ).object;
    const now = ctx.now();
    ctx.writeStatus(
      ctx.pods,
      bound,
      { ...bound.status, phase: 'Pending', conditions: mergeConditions(bound.status?.conditions, [{ type: 'PodScheduled', status: 'True' }], now) },
      'default-scheduler',
    );
    ctx.event(bound, 'Normal', 'Scheduled', `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node}`, 'default-scheduler');
  }

  private newRuntime(pod: Obj): PodRuntime {
    const mk = (c: any): ContainerRuntime => ({
      name: c.name,
      image: c.image,
      agent: this.isAgent(c.image ?? ''),
      state: 'waiting',
      reason: 'PodInitializing',
      restartCount: 0,
    });
    const n = this.ipCounter++;
    return {
      uid: pod.metadata.uid,
      init: (pod.spec.initContainers ?? []).map(mk),
      main: (pod.spec.containers ?? []).map(mk),
      startTime: this.ctx.now(),
      podIP: `10.244.${Math.floor(n / 250)}.${(n % 250) + 2}`,
    };
  }

  private restartPolicy(pod: Obj): string {
    return pod.spec?.restartPolicy ?? 'Always';
  }

  private advance(pod: Obj, rt: PodRuntime): void {
    const policy = this.restartPolicy(pod);
    const now = Date.now();
    for (let i = 0; i < rt.init.length; i++) {
      const c = rt.init[i]!;
      if (c.state === 'terminated' && c.terminated?.exitCode === 0) continue;
      if (c.state === 'running') {
        if (c.finishAt !== undefined && now >= c.finishAt) this.finish(pod, c, this.simulatedExit(pod, true));
        return;
      }
      if (c.state === 'terminated') {
        if (policy === 'Never') return;
        this.backOff(pod, c);
        return;
      }
      if (c.retryAt !== undefined && now < c.retryAt) return;
      this.start(pod, rt, c, pod.spec.initContainers[i], true);
      if ((c.state as State) === 'terminated' && c.terminated?.exitCode === 0) continue;
      return;
    }
    pod.spec.containers.forEach((spec: any, i: number) => {
      const c = rt.main[i]!;
      if (c.state === 'running') {
        if (c.finishAt !== undefined && now >= c.finishAt) this.finish(pod, c, this.simulatedExit(pod, false));
        return;
      }
      if (c.state === 'terminated') {
        const failed = c.terminated!.exitCode !== 0;
        if (policy === 'Always' || (policy === 'OnFailure' && failed)) this.backOff(pod, c);
        return;
      }
      if (c.retryAt !== undefined && now < c.retryAt) return;
      this.start(pod, rt, c, spec, false);
    });
  }

  private simulatedExit(pod: Obj, init: boolean): number {
    if (init) return 0;
    const v = Number(pod.metadata.annotations?.[SIMULATED_EXIT_CODE] ?? 0);
    return Number.isInteger(v) ? v : 0;
  }

  /** Moves a terminated container to CrashLoopBackOff, or restarts it once the back-off is over. */
  private backOff(pod: Obj, c: ContainerRuntime): void {
    if (c.retryAt === undefined) {
      const delay = Math.min(this.timing.crashLoopMaxMs, this.timing.crashLoopBaseMs * 2 ** c.restartCount);
      c.retryAt = Date.now() + delay;
      c.lastTerminated = c.terminated;
      c.state = 'waiting';
      c.reason = 'CrashLoopBackOff';
      c.message = `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
      c.restartCount++;
      this.ctx.after(delay + 5, 'pod', pod.metadata.namespace, pod.metadata.name);
      this.ctx.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container', MANAGER);
    }
  }

  private start(pod: Obj, rt: PodRuntime, c: ContainerRuntime, spec: any, init: boolean): void {
    // A registry under `.invalid` (RFC 2606: never resolves) cannot be pulled from: ErrImagePull,
    // then ImagePullBackOff, retried, as a kubelet does with an image it cannot get.
    const registry = (c.image ?? '').split('/')[0]!;
    if ((c.image ?? '').includes('/') && /\.invalid(:\d+)?$/.test(registry)) {
      const first = c.reason !== 'ErrImagePull' && c.reason !== 'ImagePullBackOff';
      c.state = 'waiting';
      c.reason = first ? 'ErrImagePull' : 'ImagePullBackOff';
      c.message = first
        ? `failed to pull and unpack image "${c.image}": failed to resolve reference "${c.image}": dial tcp: lookup ${registry.replace(/:\d+$/, '')}: no such host`
        : `Back-off pulling image "${c.image}"`;
      c.retryAt = Date.now() + 1000;
      this.ctx.after(1005, 'pod', pod.metadata.namespace, pod.metadata.name);
      if (first) this.ctx.event(pod, 'Warning', 'Failed', `Failed to pull image "${c.image}": ${c.message}`, MANAGER);
      return;
    }
    const startedAt = this.ctx.now();
    c.retryAt = undefined;
    c.containerID = `sandbox://${rt.uid.slice(0, 8)}-${c.name}-${c.restartCount}`;
    if (!c.agent) {
      c.state = 'running';
      c.reason = '';
      c.startedAt = startedAt;
      if (init) this.finish(pod, c, 0);
      else if (this.restartPolicy(pod) !== 'Always') {
        c.finishAt = Date.now() + this.timing.simulatedRunMs;
        this.ctx.after(this.timing.simulatedRunMs + 5, 'pod', pod.metadata.namespace, pod.metadata.name);
      }
      return;
    }
    let env: Record<string, string>;
    let root: string;
    // The pod sandbox (and its IP) exists before any container starts.
    const hostIP = `172.18.0.${this.ctx.nodes.indexOf(pod.spec.nodeName) + 2}`;
    const seen = { ...pod, status: { ...pod.status, podIP: rt.podIP, hostIP } } as Obj;
    try {
      env = containerEnv(this.ctx, seen, spec);
      root = prepareRoot(this.ctx, pod, spec);
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      c.state = 'waiting';
      c.reason = 'CreateContainerConfigError';
      c.message = e.message;
      c.retryAt = Date.now() + 1000;
      this.ctx.after(1005, 'pod', pod.metadata.namespace, pod.metadata.name);
      return;
    }
    const command: string[] = spec.command ?? [];
    const rest = command.length && /(^|\/)restorectl(\.js)?$/.test(command[0]!) ? command.slice(1) : command;
    const argv = [...this.agent.command, ...rest, ...(spec.args ?? [])];
    c.state = 'running';
    c.reason = '';
    c.message = undefined;
    c.startedAt = startedAt;
    const key = `${rt.uid}/${c.name}`;
    const ns = pod.metadata.namespace;
    const name = pod.metadata.name;
    this.procs.start(
      key,
      {
        argv,
        env: { ...this.agent.baseEnv, ...env, KUBECONFIG: this.ctx.dirs.kubeconfig, RESTORE_POD_ROOT: root, RESTORE_SANDBOX: '1' },
        cwd: root,
        logFile: join(podDir(this.ctx, pod), 'containers', c.name, 'log'),
      },
      (code) => {
        if (this.pods.get(rt.uid) !== rt || c.containerID !== `sandbox://${rt.uid.slice(0, 8)}-${c.name}-${c.restartCount}`) return;
        const live = this.ctx.core.tryGet(this.ctx.pods, ns, name);
        if (!live || live.metadata.uid !== rt.uid) return;
        this.finish(live, c, code);
        this.ctx.enqueue('pod', ns, name);
      },
    );
    this.ctx.event(pod, 'Normal', 'Started', `Started container ${c.name}`, MANAGER);
  }

  private finish(pod: Obj, c: ContainerRuntime, exitCode: number): void {
    c.finishAt = undefined;
    c.state = 'terminated';
    c.reason = exitCode === 0 ? 'Completed' : 'Error';
    c.terminated = { exitCode, reason: c.reason, startedAt: c.startedAt ?? this.ctx.now(), finishedAt: this.ctx.now(), containerID: c.containerID ?? '' };
    void pod;
  }

  private containerStatus(c: ContainerRuntime, init: boolean, initDone: boolean): Record<string, unknown> {
    let state: Record<string, unknown>;
    if (c.state === 'running') state = { running: { startedAt: c.startedAt } };
    else if (c.state === 'terminated') state = { terminated: c.terminated };
    else
      state = { waiting: { reason: !init && !initDone ? 'PodInitializing' : c.reason || 'ContainerCreating', ...(c.message ? { message: c.message } : {}) } };
    const ready = init ? c.state === 'terminated' && c.terminated?.exitCode === 0 : c.state === 'running';
    return {
      name: c.name,
      image: c.image,
      imageID: `sandbox://${c.image}`,
      ...(c.containerID && c.state !== 'waiting' ? { containerID: c.containerID } : {}),
      ready,
      started: c.state === 'running',
      restartCount: c.restartCount,
      state,
      lastState: c.lastTerminated ? { terminated: c.lastTerminated } : {},
    };
  }

  private writeStatus(pod: Obj, rt: PodRuntime, volumesReady: boolean, unschedulable?: string): void {
    const ctx = this.ctx;
    const policy = this.restartPolicy(pod);
    const initDone = rt.init.every((c) => c.state === 'terminated' && c.terminated?.exitCode === 0);
    const initFailedForGood = policy === 'Never' && rt.init.some((c) => c.state === 'terminated' && c.terminated!.exitCode !== 0);
    const mainDone = rt.main.every((c) => c.state === 'terminated');
    const mainFailed = rt.main.some((c) => c.state === 'terminated' && c.terminated!.exitCode !== 0);
    let phase = 'Pending';
    if (initFailedForGood) phase = 'Failed';
    else if (initDone && mainDone && policy !== 'Always' && !(policy === 'OnFailure' && mainFailed)) phase = mainFailed ? 'Failed' : 'Succeeded';
    else if (initDone && rt.main.some((c) => c.state === 'running' || c.state === 'terminated' || c.reason === 'CrashLoopBackOff')) phase = 'Running';
    const allRunning = rt.main.every((c) => c.state === 'running');
    const done = phase === 'Succeeded' || phase === 'Failed';
    const conditions = [
      { type: 'PodReadyToStartContainers', status: volumesReady ? 'True' : 'False' },
      {
        type: 'Initialized',
        status: initDone ? 'True' : 'False',
        ...(initDone
          ? {}
          : {
              reason: 'ContainersNotInitialized',
              message: `containers with incomplete status: [${rt.init
                .filter((c) => !(c.state === 'terminated' && c.terminated?.exitCode === 0))
                .map((c) => c.name)
                .join(' ')}]`,
            }),
      },
      {
        type: 'Ready',
        status: allRunning && !done ? 'True' : 'False',
        ...(allRunning && !done
          ? {}
          : {
              reason: done ? 'PodCompleted' : 'ContainersNotReady',
              message: done
                ? undefined
                : `containers with unready status: [${rt.main
                    .filter((c) => c.state !== 'running')
                    .map((c) => c.name)
                    .join(' ')}]`,
            }),
      },
      {
        type: 'ContainersReady',
        status: allRunning && !done ? 'True' : 'False',
        ...(allRunning && !done ? {} : { reason: done ? 'PodCompleted' : 'ContainersNotReady' }),
      },
      { type: 'PodScheduled', status: 'True' },
    ].map((c) => JSON.parse(JSON.stringify(c)) as Record<string, unknown>);
    const status: Record<string, unknown> = {
      phase,
      conditions: mergeConditions(pod.status?.conditions, conditions, ctx.now()),
      hostIP: `172.18.0.${ctx.nodes.indexOf(pod.spec.nodeName) + 2}`,
      hostIPs: [{ ip: `172.18.0.${ctx.nodes.indexOf(pod.spec.nodeName) + 2}` }],
      podIP: rt.podIP,
      podIPs: [{ ip: rt.podIP }],
      startTime: rt.startTime,
      qosClass: 'BestEffort',
      ...(rt.init.length ? { initContainerStatuses: rt.init.map((c) => this.containerStatus(c, true, initDone)) } : {}),
      containerStatuses: rt.main.map((c) => this.containerStatus(c, false, initDone)),
    };
    if (unschedulable) status.message = unschedulable;
    if (!same(pod.status, status)) ctx.writeStatus(ctx.pods, pod, status, MANAGER);
  }
}
