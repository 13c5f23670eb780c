// What every simulated controller gets: the API (in-process, through the same semantics as
// HTTP clients), folders, nodes, a work queue and an event recorder.
import type { Logger } from 'restore-controller/common/log';
import type { ApiCore } from '../core.ts';
import { timestamp } from '../core.ts';
import type { ResourceType } from '../resources.ts';
import type { Obj } from '../store.ts';
import { randomSuffix, same } from './util.ts';

export interface SimDirs {
  /** DIR/volumes/<namespace>/<pvc>/ */
  volumes: string;
  /** DIR/snapshots/<namespace>/<volumesnapshot>/ */
  snapshots: string;
  /** DIR/pods/<namespace>/<pod>/ */
  pods: string;
  /** The kubeconfig agent processes get. */
  kubeconfig: string;
}

export type Kind = 'pod' | 'pvc' | 'volumesnapshot' | 'statefulset' | 'deployment' | 'daemonset' | 'job';

export class SimContext {
  readonly core: ApiCore;
  readonly dirs: SimDirs;
  private readonly baseNodes: string[];
  readonly log: Logger;
  private readonly enqueueFn: (kind: Kind, ns: string, name: string) => void;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(core: ApiCore, dirs: SimDirs, nodes: string[], enqueue: (kind: Kind, ns: string, name: string) => void, log: Logger) {
    this.core = core;
    this.dirs = dirs;
    this.baseNodes = nodes;
    this.enqueueFn = enqueue;
    this.log = log;
  }

  /** The nodes pods can go to: every schedulable Node object (the simulator's own, and any created by hand). */
  get nodes(): string[] {
    const live = this.core.store
      .list('nodes')
      .filter((n) => !n.metadata.deletionTimestamp && !n.spec?.unschedulable)
      .map((n) => n.metadata.name as string);
    return live.length ? live : this.baseNodes;
  }

  /** The nodes the simulator was started with (`--nodes N`). */
  get ownNodes(): string[] {
    return this.baseNodes;
  }

  r(group: string, plural: string): ResourceType {
    return this.core.mustResource(group, plural);
  }

  get pods(): ResourceType {
    return this.r('', 'pods');
  }

  now(): string {
    return timestamp();
  }

  enqueue(kind: Kind, ns: string, name: string): void {
    this.enqueueFn(kind, ns, name);
  }

  /** Reconciles `kind/ns/name` again after `ms`. */
  after(ms: number, kind: Kind, ns: string, name: string): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.enqueue(kind, ns, name);
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  cancelTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  /** A namespaced core/v1 object from the store (what podfs.ts and env.ts read: PodContext). */
  lookup(resource: 'secrets' | 'configmaps' | 'persistentvolumeclaims', ns: string, name: string): Obj | undefined {
    return this.core.tryGet(this.r('', resource), ns, name);
  }

  list(r: ResourceType, ns: string): Obj[] {
    return this.core.store.list(`${r.group ? `${r.plural}.${r.group}` : r.plural}`, ns);
  }

  /** Writes a status through the /status subresource, only when it changed. */
  writeStatus(r: ResourceType, obj: Obj, status: unknown, manager: string): void {
    const fresh = this.core.tryGet(r, obj.metadata.namespace, obj.metadata.name);
    if (!fresh || same(fresh.status, status)) return;
    const { resourceVersion: _rv, ...metadata } = fresh.metadata;
    this.core.update(r, r.versions[0]!, fresh.metadata.namespace, fresh.metadata.name, { ...fresh, metadata, status } as Obj, {
      subresource: 'status',
      fieldManager: manager,
    });
  }

  create(r: ResourceType, obj: Obj, manager: string, onError?: (message: string) => void): Obj | undefined {
    try {
      return this.core.create(r, r.versions[0]!, obj.metadata.namespace, obj, { fieldManager: manager }).object;
    } catch (e) {
      onError?.((e as Error).message);
      this.log.warn(`${manager} could not create ${r.kind} ${obj.metadata.namespace}/${obj.metadata.name}: ${(e as Error).message}`, {
        manager,
        kind: r.kind,
        namespace: obj.metadata.namespace,
        name: obj.metadata.name,
      });
      return undefined;
    }
  }

  delete(r: ResourceType, ns: string, name: string): void {
    try {
      this.core.delete(r, ns, name, { propagationPolicy: 'Background' });
    } catch {
      // already gone
    }
  }

  /** Records a core/v1 Event about `obj`, as the real components do. */
  event(obj: Obj, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    const now = this.now();
    const ns = obj.metadata.namespace ?? 'default';
    try {
      this.core.create(
        this.r('', 'events'),
        'v1',
        ns,
        {
          metadata: { name: `${obj.metadata.name}.${randomSuffix(8)}`, namespace: ns },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata.name,
            namespace: obj.metadata.namespace,
            uid: obj.metadata.uid,
            resourceVersion: obj.metadata.resourceVersion,
          },
          reason,
          message,
          type,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component },
          reportingComponent: component,
          reportingInstance: 'sandbox',
        } as Obj,
        { fieldManager: component },
      );
    } catch {
      // the namespace may be going away
    }
  }
}
