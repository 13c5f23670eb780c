// The workload simulator: watches the store, queues `kind/namespace/name` keys (one reconcile
// per key at a time, level-triggered) and runs the controllers and the kubelet.
import { mkdirSync } from 'node:fs';
import type { Logger } from 'restore-controller/common/log';
import type { ApiCore } from '../core.ts';
import type { Obj, StoreEvent } from '../store.ts';
import { SimContext } from './context.ts';
import type { Kind, SimDirs } from './context.ts';
import { Kubelet } from './kubelet.ts';
import type { AgentConfig, KubeletTiming } from './kubelet.ts';
import { ProcessTable } from './processes.ts';
import { reconcilePvc, reconcileSnapshot, releasePvc, releaseSnapshot } from './volumes.ts';
import { reconcileDaemonSet, reconcileDeployment, reconcileJob, reconcileStatefulSet } from './workloads.ts';

export interface SimulatorOptions {
  dirs: SimDirs;
  nodes: number;
  agent: AgentConfig;
  timing?: Partial<KubeletTiming>;
  /** Deleted pods stay Terminating until their containers have stopped (default false: removed at once). */
  gracefulPodDeletion?: boolean;
  /** The simulator's problems (a controller that could not create an object, a failed reconcile). */
  log: Logger;
}

const OWNER_KINDS: Record<string, Kind> = { StatefulSet: 'statefulset', Deployment: 'deployment', DaemonSet: 'daemonset', Job: 'job' };
const RESOURCE_KINDS: Record<string, Kind> = {
  pods: 'pod',
  persistentvolumeclaims: 'pvc',
  'volumesnapshots.snapshot.storage.k8s.io': 'volumesnapshot',
  'statefulsets.apps': 'statefulset',
  'deployments.apps': 'deployment',
  'daemonsets.apps': 'daemonset',
  'jobs.batch': 'job',
};

export class Simulator {
  readonly ctx: SimContext;
  readonly kubelet: Kubelet;
  private readonly core: ApiCore;
  private readonly procs = new ProcessTable();
  private readonly queue = new Set<string>();
  private readonly tasks: Array<() => void> = [];
  private scheduled = false;
  private stopped = false;
  private readonly listener = (e: StoreEvent): void => this.onEvent(e);
  private readonly gracefulPods: boolean;

  constructor(core: ApiCore, options: SimulatorOptions) {
    this.core = core;
    this.gracefulPods = options.gracefulPodDeletion ?? false;
    const nodes = Array.from({ length: Math.max(1, options.nodes) }, (_, i) => `node-${i}`);
    this.ctx = new SimContext(core, options.dirs, nodes, (k, ns, n) => this.enqueue(k, ns, n), options.log);
    this.kubelet = new Kubelet(this.ctx, this.procs, options.agent, { crashLoopBaseMs: 1000, crashLoopMaxMs: 30_000, simulatedRunMs: 100, ...options.timing });
    for (const d of [options.dirs.volumes, options.dirs.snapshots, options.dirs.pods]) mkdirSync(d, { recursive: true });
  }

  start(): void {
    this.core.gracefulPods = this.gracefulPods;
    this.ensureNodes();
    this.core.store.on('event', this.listener);
    // Level-triggered: everything that exists gets a first look (e.g. after a restart).
    for (const [resource, kind] of Object.entries(RESOURCE_KINDS)) {
      for (const o of this.core.store.list(resource)) this.enqueue(kind, o.metadata.namespace, o.metadata.name);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.core.gracefulPods = false;
    this.core.store.off('event', this.listener);
    this.ctx.cancelTimers();
    await this.procs.stopAll();
  }

  private ensureNodes(): void {
    const r = this.core.mustResource('', 'nodes');
    for (const name of this.ctx.ownNodes) {
      if (this.core.tryGet(r, undefined, name)) continue;
      this.ctx.create(
        r,
        { metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } }, spec: {} } as Obj,
        'sandbox',
      );
    }
    for (const node of this.core.store.list('nodes')) this.nodeStatus(node);
    for (const ns of this.core.store.list('namespaces')) this.publishRootCa(ns.metadata.name);
    // The default StorageClass `standard` (binding at once here; WaitForFirstConsumer on kind and on
    // the kube-apiserver engine: README.md lists the difference) and `immediate`, as the
    // kube-apiserver engine serves it, so claims that name either find it.
    const sc = this.core.mustResource('storage.k8s.io', 'storageclasses');
    for (const [name, annotations] of [
      ['standard', { 'storageclass.kubernetes.io/is-default-class': 'true' }],
      ['immediate', {}],
    ] as const) {
      if (this.core.tryGet(sc, undefined, name)) continue;
      this.ctx.create(
        sc,
        {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name, annotations },
          provisioner: 'sandbox.restore.gitops',
          volumeBindingMode: 'Immediate',
          reclaimPolicy: 'Delete',
        } as Obj,
        'sandbox',
      );
    }
  }

  /**
   * The ConfigMap kube-controller-manager's root-ca-cert-publisher puts in every namespace, which
   * projected ServiceAccount volumes read `ca.crt` from. This server speaks plain HTTP: no CA.
   */
  private publishRootCa(namespace: string): void {
    const r = this.core.mustResource('', 'configmaps');
    const ns = this.core.store.get('namespaces', undefined, namespace);
    if (!ns || ns.metadata.deletionTimestamp || this.core.tryGet(r, namespace, 'kube-root-ca.crt')) return;
    this.ctx.create(r, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt', namespace }, data: { 'ca.crt': '' } } as Obj, 'sandbox');
  }

  /** Every node reports Ready, as its kubelet would (also nodes created by hand). */
  private nodeStatus(node: Obj): void {
    if (node.status?.conditions?.length) return;
    const r = this.core.mustResource('', 'nodes');
    const name = node.metadata.name as string;
    const i = Math.max(
      0,
      this.core.store.list('nodes').findIndex((n) => n.metadata.name === name),
    );
    this.ctx.writeStatus(
      r,
      node,
      {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'kubelet is posting ready status',
            lastHeartbeatTime: this.ctx.now(),
            lastTransitionTime: this.ctx.now(),
          },
        ],
        addresses: [
          { type: 'InternalIP', address: `172.18.0.${i + 2}` },
          { type: 'Hostname', address: name },
        ],
        nodeInfo: { kubeletVersion: 'v1.32.0-sandbox', operatingSystem: 'linux', architecture: 'amd64', containerRuntimeVersion: 'sandbox://1.0' },
        capacity: { cpu: '4', memory: '8Gi', pods: '110' },
        allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
      },
      'sandbox',
    );
  }

  enqueue(kind: Kind, ns: string, name: string): void {
    if (this.stopped) return;
    this.queue.add(`${kind}/${ns}/${name}`);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  /**
   * Runs inside the store's event emission, so it must not write (a nested write would reach
   * later listeners, e.g. open watches, before the event being delivered): it only queues work.
   */
  private onEvent(e: StoreEvent): void {
    const o = e.object;
    const ns = o.metadata.namespace ?? '';
    const kind = RESOURCE_KINDS[e.resource];
    if (e.type === 'DELETED') {
      if (kind === 'pod') this.later(() => this.kubelet.forget(o));
      if (kind === 'pvc') this.later(() => releasePvc(this.ctx, o));
      if (kind === 'volumesnapshot') this.later(() => releaseSnapshot(this.ctx, o));
    }
    if (kind) this.enqueue(kind, ns, o.metadata.name);
    for (const ref of o.metadata.ownerReferences ?? []) {
      const owner = ref.controller ? OWNER_KINDS[ref.kind] : undefined;
      if (owner) this.enqueue(owner, ns, ref.name);
    }
    // Claims and snapshots unblock pods and claims; Secrets/ConfigMaps unblock containers.
    if (
      kind === 'pvc' ||
      kind === 'volumesnapshot' ||
      e.resource === 'secrets' ||
      e.resource === 'configmaps' ||
      e.resource === 'storageclasses.storage.k8s.io'
    ) {
      if (kind === 'volumesnapshot' || kind === 'pvc')
        for (const p of this.core.store.list('persistentvolumeclaims', ns)) if (p.status?.phase !== 'Bound') this.enqueue('pvc', ns, p.metadata.name);
      if (kind === 'pvc')
        for (const s of this.core.store.list('volumesnapshots.snapshot.storage.k8s.io', ns))
          if (s.status?.readyToUse !== true) this.enqueue('volumesnapshot', ns, s.metadata.name);
      for (const p of this.core.store.list('pods', ns || undefined))
        if (p.status?.phase === 'Pending' || p.status?.phase === undefined) this.enqueue('pod', p.metadata.namespace, p.metadata.name);
    }
    if (e.resource === 'namespaces' && e.type === 'ADDED') this.later(() => this.publishRootCa(o.metadata.name));
    if (e.resource === 'nodes' && e.type !== 'DELETED') this.later(() => this.nodeStatus(o));
    if (e.resource === 'nodes') for (const ds of this.core.store.list('daemonsets.apps')) this.enqueue('daemonset', ds.metadata.namespace, ds.metadata.name);
  }

  private later(task: () => void): void {
    this.tasks.push(task);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    const tasks = this.tasks.splice(0);
    for (const task of tasks) {
      try {
        task();
      } catch (e) {
        this.ctx.log.error('simulator task failed', { error: (e as Error).stack ?? String(e) });
      }
    }
    const keys = [...this.queue];
    this.queue.clear();
    for (const key of keys) {
      if (this.stopped) return;
      const [kind, ns, ...rest] = key.split('/') as [Kind, string, ...string[]];
      const name = rest.join('/');
      try {
        switch (kind) {
          case 'pod':
            this.kubelet.reconcile(ns, name);
            break;
          case 'pvc':
            reconcilePvc(this.ctx, ns, name);
            break;
          case 'volumesnapshot':
            reconcileSnapshot(this.ctx, ns, name);
            break;
          case 'statefulset':
            reconcileStatefulSet(this.ctx, ns, name);
            break;
          case 'deployment':
            reconcileDeployment(this.ctx, ns, name);
            break;
          case 'daemonset':
            reconcileDaemonSet(this.ctx, ns, name);
            break;
          case 'job':
            reconcileJob(this.ctx, ns, name);
            break;
        }
      } catch (e) {
        this.ctx.log.error(`reconcile ${key} failed`, { error: (e as Error).stack ?? String(e) });
      }
    }
  }
}
