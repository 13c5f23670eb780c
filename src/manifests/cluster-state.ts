// What the planner and validator know of the live cluster: read from files (`--cluster-state`,
// for CI without credentials) or filled from the API by the daemon.
import type { KubeObject } from '../api/meta.ts';
import { fingerprint, fingerprintList } from '../common/read-cache.ts';
import type { Reads } from '../common/read-cache.ts';

/** What the checks and the planner read of a cluster state (a ClusterState, or one whose reads are recorded). */
export interface ClusterView {
  get<T extends KubeObject = KubeObject>(kind: string, namespace: string | undefined, name: string): T | undefined;
  list<T extends KubeObject = KubeObject>(kind: string, namespace?: string): T[];
  covers(kind: string): boolean;
  nodes(): { name: string; labels: Record<string, string> }[];
}

/** Secret values never enter the program's memory from a cluster-state file: only names and keys. */
function withoutSecretValues(o: KubeObject): KubeObject {
  if (o.kind !== 'Secret') return o;
  const keys = [...Object.keys((o['data'] as object) ?? {}), ...Object.keys((o['stringData'] as object) ?? {})];
  const { data: _d, stringData: _s, ...rest } = o;
  return { ...rest, keys } as KubeObject;
}

export class ClusterState implements ClusterView {
  private readonly byKey = new Map<string, KubeObject>();
  private readonly byKind = new Map<string, KubeObject[]>();
  private readonly complete: ReadonlySet<string> | undefined;

  /**
   * `completeKinds`: the kinds listed in full (the daemon lists only sessions and Repositories).
   * Without it, a non-empty state (an export) is taken to hold every kind it could.
   */
  constructor(objects: Iterable<KubeObject>, opts: { completeKinds?: readonly string[] } = {}) {
    this.complete = opts.completeKinds ? new Set(opts.completeKinds) : undefined;
    for (const raw of objects) {
      const o = withoutSecretValues(raw);
      const key = ClusterState.key(o.kind, o.metadata.namespace, o.metadata.name);
      const previous = this.byKey.get(key);
      this.byKey.set(key, o);
      const list = this.byKind.get(o.kind) ?? [];
      if (previous) list.splice(list.indexOf(previous), 1);
      list.push(o);
      this.byKind.set(o.kind, list);
    }
  }

  static empty(): ClusterState {
    return new ClusterState([]);
  }

  private static key(kind: string, namespace: string | undefined, name: string): string {
    return `${kind}/${namespace ?? ''}/${name}`;
  }

  get<T extends KubeObject = KubeObject>(kind: string, namespace: string | undefined, name: string): T | undefined {
    return (this.byKey.get(ClusterState.key(kind, namespace, name)) ?? (namespace ? undefined : this.byKey.get(ClusterState.key(kind, '', name)))) as
      | T
      | undefined;
  }

  list<T extends KubeObject = KubeObject>(kind: string, namespace?: string): T[] {
    const all = (this.byKind.get(kind) ?? []) as T[];
    return namespace === undefined ? all : all.filter((o) => o.metadata.namespace === namespace);
  }

  /** Whether a missing object of this kind means it is missing from the cluster (not just unlisted). */
  covers(kind: string): boolean {
    return this.complete ? this.complete.has(kind) : this.byKey.size > 0;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Node names and labels; the sandbox and real clusters both list them as `Node` objects. */
  nodes(): { name: string; labels: Record<string, string> }[] {
    return this.list('Node').map((n) => ({ name: n.metadata.name, labels: n.metadata.labels ?? {} }));
  }
}

/**
 * The cluster state `of(ctx)` with every read recorded in `read` (src/common/read-cache.ts), so a
 * cached check or plan holds only while the cluster answers it the same.
 */
export function recordedCluster<C>(read: Reads<C>, of: (ctx: C) => ClusterView | undefined): ClusterView | undefined {
  if (!read((c) => of(c) !== undefined, String)) return undefined;
  return {
    get: <T extends KubeObject = KubeObject>(kind: string, namespace: string | undefined, name: string) =>
      read((c) => of(c)!.get<T>(kind, namespace, name), fingerprint),
    list: <T extends KubeObject = KubeObject>(kind: string, namespace?: string) => read((c) => of(c)!.list<T>(kind, namespace), fingerprintList),
    covers: (kind: string) => read((c) => of(c)!.covers(kind), String),
    nodes: () =>
      read(
        (c) => of(c)!.nodes(),
        (n) => JSON.stringify(n),
      ),
  };
}
