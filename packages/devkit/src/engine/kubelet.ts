// A kubelet for one simulated node of the kube-apiserver engine, over HTTP with the node's own
// credentials: it watches the pods the real scheduler bound to its node, runs them and reports
// them through pods/status as a kubelet does (phase; PodReadyToStartContainers, Initialized,
// ContainersReady, Ready conditions; init containers one after another, then the main ones;
// exit codes, restartCount, lastState, CrashLoopBackOff; ErrImagePull/ImagePullBackOff).
//
// - Containers of the agent image run as local processes (sandbox/sim/processes.ts), with the
//   environment and root folder the embedded simulator builds (sim/env.ts, sim/podfs.ts) from
//   what this kubelet fetched for the pod; the projected ServiceAccount token of the pod's
//   `kube-api-access-*` volume (added by the ServiceAccount admission plugin unless
//   automountServiceAccountToken is false) comes from the TokenRequest API, bound to the pod, and
//   lands at ROOT/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}.
//   KUBERNETES_SERVICE_HOST/PORT are 127.0.0.1 and the API server's port. Since the process is
//   not confined to ROOT, KUBECONFIG points to a file that names that token and ca.crt (no
//   KUBECONFIG at all without the token; HOME is ROOT, so no kubeconfig of this machine is read).
// - Images whose registry host ends in `.invalid` (RFC 2606: it can never resolve) fail to pull:
//   ErrImagePull, then ImagePullBackOff with a doubling back-off, as on a node that cannot reach
//   the registry. Every other image is simulated: init containers complete at once (exit 0), main
//   containers run (for ever under restartPolicy Always, else they exit after a moment with the
//   exit code of the pod annotation sandbox.restore.gitops/exit-code, default 0).
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageRepository, SIMULATED_EXIT_CODE } from '../sandbox/sim/kubelet.ts';
import { containerEnv } from '../sandbox/sim/env.ts';
import { ContainerConfigError, prepareRoot } from '../sandbox/sim/podfs.ts';
import type { PodContext } from '../sandbox/sim/podfs.ts';
import type { Obj as SimObj } from '../sandbox/store.ts';
import { ProcessTable } from '../sandbox/sim/processes.ts';
import { nodeIP } from './nodes.ts';
import { ApiError } from './rest.ts';
import type { Obj, Rest } from './rest.ts';

export interface KubeKubeletOptions {
  node: string;
  nodeIndex: number;
  rest: Rest;
  dirs: { pods: string; volumes: string };
  agent: { image: string; command: string[]; baseEnv: Record<string, string> };
  /** Where a bound claim's data is: the PV's local/hostPath path. */
  pvPath: (pv: Obj) => string | undefined;
  crashLoopBaseMs?: number;
  crashLoopMaxMs?: number;
  simulatedRunMs?: number;
  onError?: (message: string) => void;
}

type State = 'waiting' | 'running' | 'terminated';

interface Terminated {
  exitCode: number;
  reason: string;
  startedAt: string;
  finishedAt: string;
  containerID: string;
}

interface Ctr {
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
  retryAt?: number;
  containerID?: string;
  finishAt?: number;
  pullFailures: number;
}

interface PodRt {
  uid: string;
  init: Ctr[];
  main: Ctr[];
  startTime: string;
  podIP: string;
}

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export function unpullable(image: string): boolean {
  const first = image.split('/')[0]!;
  return image.includes('/') && /\.invalid(:\d+)?$/.test(first);
}

export class KubeKubelet {
  private readonly o: KubeKubeletOptions;
  private readonly procs = new ProcessTable();
  private readonly pods = new Map<string, PodRt>();
  /** The newest copy of each pod seen (by uid). */
  private readonly latest = new Map<string, Obj>();
  private readonly queue = new Set<string>();
  private running = false;
  private stopInformer: (() => void) | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private ipCounter = 1;

  constructor(options: KubeKubeletOptions) {
    this.o = options;
    this.ipCounter = options.nodeIndex * 1000 + 1;
  }

  /** The program agent containers started from now on run (a shared test engine switches it per suite). */
  setAgentCommand(command: string[]): void {
    this.o.agent = { ...this.o.agent, command };
  }

  private isAgent(image: string): boolean {
    return imageRepository(image) === imageRepository(this.o.agent.image);
  }

  private error(m: string): void {
    this.o.onError?.(`kubelet ${this.o.node}: ${m}`);
  }

  start(): Promise<void> {
    return new Promise((synced) => {
      this.stopInformer = this.o.rest.informer(
        '/api/v1/pods',
        { fieldSelector: `spec.nodeName=${this.o.node}` },
        (e) => {
          const pod = e.object;
          if (e.type === 'DELETED') {
            this.latest.delete(pod.metadata.uid);
            this.forget(pod);
            return;
          }
          this.latest.set(pod.metadata.uid, pod);
          this.enqueue(pod.metadata.uid);
        },
        (err) => this.error(`watch: ${err.message}`),
        (items) => {
          // After a restart, or a relist once the API is back: pods this node no longer has are
          // stopped and forgotten (deleted while the watch was down); the rest go on.
          const uids = new Set(items.map((p) => p.metadata.uid));
          for (const [uid, pod] of [...this.latest]) {
            if (uids.has(uid)) continue;
            this.latest.delete(uid);
            this.forget(pod);
          }
          synced();
        },
      );
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopInformer?.();
    for (const t of this.timers) clearTimeout(t);
    await this.procs.stopAll();
  }

  private enqueue(uid: string): void {
    if (this.stopped) return;
    this.queue.add(uid);
    if (!this.running) void this.drain();
  }

  private after(ms: number, uid: string): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.enqueue(uid);
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.size && !this.stopped) {
        const uids = [...this.queue];
        this.queue.clear();
        await Promise.all(
          uids.map(async (uid) => {
            const pod = this.latest.get(uid);
            if (!pod) return;
            try {
              await this.reconcile(pod);
            } catch (e) {
              if (e instanceof ApiError && (e.status === 409 || e.status === 404)) return this.after(200, uid);
              this.error(`pod ${pod.metadata.namespace}/${pod.metadata.name}: ${(e as Error).stack ?? e}`);
              this.after(1000, uid);
            }
          }),
        );
      }
    } finally {
      this.running = false;
    }
  }

  private podDir(pod: Obj): string {
    return join(this.o.dirs.pods, pod.metadata.namespace, pod.metadata.name);
  }

  private forget(pod: Obj): void {
    this.procs.killPrefix(`${pod.metadata.uid}/`);
    if (this.pods.delete(pod.metadata.uid)) rmSync(this.podDir(pod), { recursive: true, force: true });
  }

  private podPath(pod: Obj): string {
    return `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`;
  }

  private async reconcile(pod: Obj): Promise<void> {
    const uid = pod.metadata.uid as string;
    if (pod.metadata.deletionTimestamp) {
      // Terminating: stop the containers, then remove the pod as the kubelet does (grace 0, same uid).
      const prefix = `${uid}/`;
      if (this.procs.runningWithPrefix(prefix)) {
        this.procs.killPrefix(prefix, () => this.enqueue(uid));
        return;
      }
      await this.o.rest
        .req('DELETE', this.podPath(pod), { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, preconditions: { uid } })
        .catch((e: unknown) => {
          if (!(e instanceof ApiError && (e.status === 404 || e.status === 409))) throw e;
        });
      return;
    }
    if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return;
    let rt = this.pods.get(uid);
    if (!rt) {
      rt = this.newRuntime(pod);
      this.pods.set(uid, rt);
    }
    // Claims first: the pod's volumes must be there before any container starts.
    const claims = (pod.spec?.volumes ?? []).filter((v: any) => v.persistentVolumeClaim).map((v: any) => v.persistentVolumeClaim.claimName as string);
    const fetched = new Map<string, Obj>();
    for (const claim of claims) {
      const pvc = await this.o.rest.tryGet(`/api/v1/namespaces/${pod.metadata.namespace}/persistentvolumeclaims/${claim}`);
      if (pvc) fetched.set(`persistentvolumeclaims/${claim}`, pvc);
      if (pvc?.status?.phase !== 'Bound') {
        await this.writeStatus(pod, rt, false);
        this.after(1000, uid);
        return;
      }
      const pv = await this.o.rest.tryGet(`/api/v1/persistentvolumes/${pvc.spec.volumeName}`);
      if (pv) fetched.set(`persistentvolumes/${pvc.spec.volumeName}`, pv);
    }
    await this.advance(pod, rt, fetched);
    await this.writeStatus(pod, rt, true);
  }

  private newRuntime(pod: Obj): PodRt {
    const mk = (c: any): Ctr => ({
      name: c.name,
      image: c.image ?? '',
      agent: this.isAgent(c.image ?? ''),
      state: 'waiting',
      reason: 'PodInitializing',
      restartCount: 0,
      pullFailures: 0,
    });
    const n = this.ipCounter++;
    return {
      uid: pod.metadata.uid,
      init: (pod.spec.initContainers ?? []).map(mk),
      main: (pod.spec.containers ?? []).map(mk),
      startTime: now(),
      podIP: `10.244.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`,
    };
  }

  private policy(pod: Obj): string {
    return pod.spec?.restartPolicy ?? 'Always';
  }

  private async advance(pod: Obj, rt: PodRt, fetched: Map<string, Obj>): Promise<void> {
    const policy = this.policy(pod);
    const t = Date.now();
    for (let i = 0; i < rt.init.length; i++) {
      const c = rt.init[i]!;
      if (c.state === 'terminated' && c.terminated?.exitCode === 0) continue;
      if (c.state === 'running') return;
      if (c.state === 'terminated') {
        if (policy !== 'Never') this.backOff(pod, rt, c);
        return;
      }
      if (c.retryAt !== undefined && t < c.retryAt) return;
      await this.startContainer(pod, rt, c, pod.spec.initContainers[i], true, fetched);
      if ((c.state as State) === 'terminated' && c.terminated?.exitCode === 0) continue;
      return;
    }
    for (let i = 0; i < rt.main.length; i++) {
      const c = rt.main[i]!;
      if (c.state === 'running') {
        if (c.finishAt !== undefined && t >= c.finishAt) this.finish(c, this.simulatedExit(pod));
        continue;
      }
      if (c.state === 'terminated') {
        const failed = c.terminated!.exitCode !== 0;
        if (policy === 'Always' || (policy === 'OnFailure' && failed)) this.backOff(pod, rt, c);
        continue;
      }
      if (c.retryAt !== undefined && t < c.retryAt) continue;
      await this.startContainer(pod, rt, c, pod.spec.containers[i], false, fetched);
    }
  }

  private simulatedExit(pod: Obj): number {
    const v = Number(pod.metadata.annotations?.[SIMULATED_EXIT_CODE] ?? 0);
    return Number.isInteger(v) ? v : 0;
  }

  private delay(n: number): number {
    return Math.min(this.o.crashLoopMaxMs ?? 30_000, (this.o.crashLoopBaseMs ?? 1000) * 2 ** n);
  }

  private backOff(pod: Obj, rt: PodRt, c: Ctr): void {
    if (c.retryAt !== undefined) return;
    const delay = this.delay(c.restartCount);
    c.retryAt = Date.now() + delay;
    c.lastTerminated = c.terminated;
    c.state = 'waiting';
    c.reason = 'CrashLoopBackOff';
    c.message = `back-off ${Math.round(delay / 1000)}s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`;
    c.restartCount++;
    this.after(delay + 5, rt.uid);
    void this.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container', c.name);
  }

  private finish(c: Ctr, exitCode: number): void {
    c.finishAt = undefined;
    c.state = 'terminated';
    c.reason = exitCode === 0 ? 'Completed' : 'Error';
    c.terminated = { exitCode, reason: c.reason, startedAt: c.startedAt ?? now(), finishedAt: now(), containerID: c.containerID ?? '' };
  }

  private async startContainer(pod: Obj, rt: PodRt, c: Ctr, spec: any, init: boolean, fetched: Map<string, Obj>): Promise<void> {
    if (unpullable(c.image)) {
      const first = c.pullFailures === 0 || c.reason === 'ImagePullBackOff';
      c.pullFailures++;
      c.state = 'waiting';
      c.reason = c.pullFailures % 2 === 1 ? 'ErrImagePull' : 'ImagePullBackOff';
      c.message =
        c.reason === 'ErrImagePull'
          ? `failed to pull and unpack image "${c.image}": failed to resolve reference "${c.image}": dial tcp: lookup ${c.image.split('/')[0]!.replace(/:\d+$/, '')}: no such host`
          : `Back-off pulling image "${c.image}"`;
      const delay = c.reason === 'ErrImagePull' ? 500 : this.delay(Math.floor(c.pullFailures / 2));
      c.retryAt = Date.now() + delay;
      this.after(delay + 5, rt.uid);
      if (first) void this.event(pod, 'Warning', c.reason === 'ErrImagePull' ? 'Failed' : 'BackOff', c.message, c.name);
      return;
    }
    const startedAt = now();
    c.retryAt = undefined;
    c.containerID = `sandbox://${rt.uid.slice(0, 8)}-${c.name}-${c.restartCount}`;
    if (!c.agent) {
      c.state = 'running';
      c.reason = '';
      c.message = undefined;
      c.startedAt = startedAt;
      if (init) this.finish(c, 0);
      else if (this.policy(pod) !== 'Always') {
        const ms = this.o.simulatedRunMs ?? 100;
        c.finishAt = Date.now() + ms;
        this.after(ms + 5, rt.uid);
      }
      return;
    }
    const seen = { ...pod, status: { ...pod.status, podIP: rt.podIP, hostIP: nodeIP(this.o.nodeIndex) } } as SimObj;
    let env: Record<string, string>;
    let root: string;
    let kubeconfig: string | undefined;
    try {
      const ctx = await this.podContext(pod, spec, fetched);
      env = containerEnv(ctx, seen, spec);
      root = prepareRoot(ctx, seen, spec);
      kubeconfig = this.agentKubeconfig(pod, spec, root);
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      c.state = 'waiting';
      c.reason = 'CreateContainerConfigError';
      c.message = e.message;
      c.retryAt = Date.now() + 1000;
      this.after(1005, rt.uid);
      return;
    }
    const command: string[] = spec.command ?? [];
    const rest = command.length && /(^|\/)restorectl(\.js)?$/.test(command[0]!) ? command.slice(1) : command;
    const argv = [...this.o.agent.command, ...rest, ...(spec.args ?? [])];
    c.state = 'running';
    c.reason = '';
    c.message = undefined;
    c.startedAt = startedAt;
    const key = `${rt.uid}/${c.name}`;
    const id = c.containerID;
    const port = this.o.rest.server.port || '443';
    this.procs.start(
      key,
      {
        argv,
        env: {
          ...this.o.agent.baseEnv,
          HOME: root,
          KUBERNETES_SERVICE_HOST: '127.0.0.1',
          KUBERNETES_SERVICE_PORT: port,
          KUBERNETES_SERVICE_PORT_HTTPS: port,
          KUBERNETES_PORT: `tcp://127.0.0.1:${port}`,
          KUBERNETES_PORT_443_TCP: `tcp://127.0.0.1:${port}`,
          KUBERNETES_PORT_443_TCP_ADDR: '127.0.0.1',
          KUBERNETES_PORT_443_TCP_PORT: port,
          KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
          HOSTNAME: pod.spec.hostname ?? pod.metadata.name,
          ...env,
          ...(kubeconfig ? { KUBECONFIG: kubeconfig } : {}),
          RESTORE_POD_ROOT: root,
          RESTORE_SANDBOX: '1',
        },
        cwd: root,
        logFile: join(this.podDir(pod), 'containers', c.name, 'log'),
      },
      (code) => {
        if (this.pods.get(rt.uid) !== rt || c.containerID !== id) return;
        this.finish(c, code);
        this.enqueue(rt.uid);
      },
    );
    void this.event(pod, 'Normal', 'Started', `Started container ${c.name}`, c.name);
  }

  /** Everything env.ts and podfs.ts may read for this container, fetched now as the node. */
  private async podContext(pod: Obj, spec: any, fetched: Map<string, Obj>): Promise<PodContext> {
    const ns = pod.metadata.namespace as string;
    const want = new Set<string>();
    const add = (kind: 'secrets' | 'configmaps', name: string | undefined): void => {
      if (name) want.add(`${kind}/${name}`);
    };
    for (const from of spec.envFrom ?? []) {
      add('secrets', from.secretRef?.name);
      add('configmaps', from.configMapRef?.name);
    }
    for (const e of spec.env ?? []) {
      add('secrets', e.valueFrom?.secretKeyRef?.name);
      add('configmaps', e.valueFrom?.configMapKeyRef?.name);
    }
    const mounted = new Set((spec.volumeMounts ?? []).map((m: any) => m.name));
    const tokens = new Map<string, string>();
    for (const v of pod.spec.volumes ?? []) {
      if (!mounted.has(v.name)) continue;
      add('secrets', v.secret?.secretName);
      add('configmaps', v.configMap?.name);
      for (const src of v.projected?.sources ?? []) {
        add('secrets', src.secret?.name);
        add('configmaps', src.configMap?.name);
        if (src.serviceAccountToken) tokens.set(JSON.stringify(src.serviceAccountToken), await this.token(pod, src.serviceAccountToken));
      }
    }
    for (const key of want) {
      if (fetched.has(key)) continue;
      const o = await this.o.rest.tryGet(`/api/v1/namespaces/${ns}/${key}`);
      if (o) fetched.set(key, o);
    }
    return {
      dirs: this.o.dirs,
      lookup: (resource, _ns, name) => fetched.get(`${resource}/${name}`) as SimObj | undefined,
      claimDir: (pvc) => {
        const pv = fetched.get(`persistentvolumes/${pvc.spec.volumeName}`);
        const path = pv ? this.o.pvPath(pv) : undefined;
        if (!path)
          throw new ContainerConfigError(`persistentvolume "${pvc.spec.volumeName}" has no local or hostPath path`, {
            kind: 'persistentvolumeclaim',
            name: pvc.metadata.name,
          });
        mkdirSync(path, { recursive: true });
        return path;
      },
      serviceAccountToken: (_pod, source) => tokens.get(JSON.stringify(source)),
    };
  }

  /** A token of the pod's ServiceAccount bound to the pod (TokenRequest), as the kubelet gets it. */
  private async token(pod: Obj, source: Record<string, any>): Promise<string> {
    const sa = pod.spec.serviceAccountName ?? 'default';
    const res = await this.o.rest.post(`/api/v1/namespaces/${pod.metadata.namespace}/serviceaccounts/${sa}/token`, {
      apiVersion: 'authentication.k8s.io/v1',
      kind: 'TokenRequest',
      spec: {
        audiences: source.audience ? [source.audience] : [],
        expirationSeconds: source.expirationSeconds ?? 3607,
        boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid },
      },
    });
    return res.status.token as string;
  }

  /**
   * The kubeconfig an agent process gets when its container mounts the ServiceAccount token: the
   * in-cluster configuration, with the token and CA read from under its root.
   */
  private agentKubeconfig(pod: Obj, spec: any, root: string): string | undefined {
    const mount = (spec.volumeMounts ?? []).find((m: any) => m.mountPath === '/var/run/secrets/kubernetes.io/serviceaccount');
    if (!mount) return undefined;
    const sa = join(root, 'var/run/secrets/kubernetes.io/serviceaccount');
    const file = join(this.podDir(pod), 'containers', spec.name, 'kubeconfig');
    mkdirSync(join(this.podDir(pod), 'containers', spec.name), { recursive: true });
    const cfg = {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'in-cluster',
      clusters: [{ name: 'in-cluster', cluster: { server: `https://127.0.0.1:${this.o.rest.server.port}`, 'certificate-authority': join(sa, 'ca.crt') } }],
      users: [{ name: 'serviceaccount', user: { tokenFile: join(sa, 'token'), 'token-file': join(sa, 'token') } }],
      contexts: [{ name: 'in-cluster', context: { cluster: 'in-cluster', user: 'serviceaccount', namespace: pod.metadata.namespace } }],
    };
    writeFileSync(file, JSON.stringify(cfg, null, 2) + '\n', { mode: 0o600 });
    return file;
  }

  private containerStatus(c: Ctr, init: boolean, initDone: boolean): Record<string, unknown> {
    let state: Record<string, unknown>;
    if (c.state === 'running') state = { running: { startedAt: c.startedAt } };
    else if (c.state === 'terminated') state = { terminated: c.terminated };
    else
      state = {
        waiting: {
          reason: !init && !initDone && c.reason === 'PodInitializing' ? 'PodInitializing' : c.reason || 'ContainerCreating',
          ...(c.message ? { message: c.message } : {}),
        },
      };
    const ready = init ? c.state === 'terminated' && c.terminated?.exitCode === 0 : c.state === 'running';
    return {
      name: c.name,
      image: c.image,
      imageID: c.containerID || c.state !== 'waiting' ? `sandbox://${c.image}` : '',
      ...(c.containerID && c.state !== 'waiting' ? { containerID: c.containerID } : {}),
      ready,
      started: c.state === 'running',
      restartCount: c.restartCount,
      state,
      lastState: c.lastTerminated ? { terminated: c.lastTerminated } : {},
    };
  }

  private async writeStatus(pod: Obj, rt: PodRt, volumesReady: boolean): Promise<void> {
    const policy = this.policy(pod);
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
    const ready = allRunning && !done;
    const t = now();
    const cond = (type: string, ok: boolean, reason?: string, message?: string): Record<string, unknown> => {
      const prev = (pod.status?.conditions ?? []).find((x: any) => x.type === type);
      const status = ok ? 'True' : 'False';
      return {
        type,
        status,
        lastProbeTime: null,
        lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : t,
        ...(!ok && reason ? { reason } : {}),
        ...(!ok && message ? { message } : {}),
      };
    };
    const notInit = rt.init.filter((c) => !(c.state === 'terminated' && c.terminated?.exitCode === 0)).map((c) => c.name);
    const notReady = rt.main.filter((c) => c.state !== 'running').map((c) => c.name);
    const scheduled = (pod.status?.conditions ?? []).find((x: any) => x.type === 'PodScheduled') ?? {
      type: 'PodScheduled',
      status: 'True',
      lastProbeTime: null,
      lastTransitionTime: t,
    };
    const status: Record<string, unknown> = {
      phase,
      conditions: [
        cond('PodReadyToStartContainers', volumesReady),
        cond('Initialized', initDone, 'ContainersNotInitialized', `containers with incomplete status: [${notInit.join(' ')}]`),
        cond('Ready', ready, done ? 'PodCompleted' : 'ContainersNotReady', done ? undefined : `containers with unready status: [${notReady.join(' ')}]`),
        cond(
          'ContainersReady',
          ready,
          done ? 'PodCompleted' : 'ContainersNotReady',
          done ? undefined : `containers with unready status: [${notReady.join(' ')}]`,
        ),
        scheduled,
      ],
      hostIP: nodeIP(this.o.nodeIndex),
      hostIPs: [{ ip: nodeIP(this.o.nodeIndex) }],
      podIP: rt.podIP,
      podIPs: [{ ip: rt.podIP }],
      startTime: rt.startTime,
      ...(rt.init.length ? { initContainerStatuses: rt.init.map((c) => this.containerStatus(c, true, initDone)) } : {}),
      containerStatuses: rt.main.map((c) => this.containerStatus(c, false, initDone)),
    };
    const old = pod.status ?? {};
    const relevant = (s: any): unknown => ({ ...s, qosClass: undefined, conditions: s.conditions?.map((c: any) => ({ ...c, lastTransitionTime: undefined })) });
    if (same(relevant({ ...old, ...status }), relevant(old))) return;
    const updated = await this.o.rest.patch(`${this.podPath(pod)}/status`, { metadata: { uid: pod.metadata.uid }, status }, true);
    this.latest.set(rt.uid, updated);
  }

  private async event(pod: Obj, type: 'Normal' | 'Warning', reason: string, message: string, container: string): Promise<void> {
    const t = new Date()
      .toISOString()
      .replace('Z', '000Z')
      .replace(/(\.\d{6})\d*Z$/, '$1Z');
    try {
      await this.o.rest.post(`/apis/events.k8s.io/v1/namespaces/${pod.metadata.namespace}/events`, {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        // As the kubelet names them: <pod>.<hex> (a generateName may not end in a dot).
        metadata: { name: `${pod.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: pod.metadata.namespace },
        regarding: {
          apiVersion: 'v1',
          kind: 'Pod',
          name: pod.metadata.name,
          namespace: pod.metadata.namespace,
          uid: pod.metadata.uid,
          fieldPath: `spec.containers{${container}}`,
        },
        reason,
        note: message.slice(0, 1000),
        type,
        action: reason,
        eventTime: t,
        reportingController: 'kubelet',
        reportingInstance: this.o.node,
      });
    } catch (e) {
      this.error(`event ${reason}: ${(e as Error).message}`);
    }
  }
}
