// Which changes of a watched object are worth a reconcile. A StatefulSet writes its status on
// every pod it rolls and a pod changes a dozen times while it starts; the sessions care about far
// fewer things (a new spec, a DaemonSet's node count, an agent container ending, a Job finishing,
// a claim binding). Each kind gets a signature of what matters; an event whose signature did not
// change wakes nobody. Pure.
import type { KubernetesObject } from '@kubernetes/client-node';
import { INIT_CONTAINER_NAME, JOB_CONTAINER_NAME } from './agent-container.ts';

type Signature = (o: any) => string;

const bySpec: Signature = (o) => (o.metadata?.generation !== undefined ? `g${o.metadata.generation}` : JSON.stringify(o.spec ?? null));

/** A Repository: its spec. A workload: its spec (template, replicas) and, for a DaemonSet, how many nodes it runs on. */
export const SIGNATURES: Record<'repository' | 'workload' | 'pod' | 'job' | 'claim', Signature> = {
  repository: bySpec,
  workload: (o) => `${bySpec(o)}|${o.status?.desiredNumberScheduled ?? ''}`,
  /** A pod: the state of the agent's container (started, waiting and why, ended and how). */
  pod: (o) => {
    const statuses = [...(o.status?.initContainerStatuses ?? []), ...(o.status?.containerStatuses ?? [])];
    const agent = statuses.filter((c: { name: string }) => c.name === INIT_CONTAINER_NAME || c.name === JOB_CONTAINER_NAME);
    const state = agent.map((c: any) => {
      const [k, v] = Object.entries(c.state ?? {})[0] ?? ['none', {}];
      return `${c.name}:${k}:${(v as any)?.reason ?? ''}:${(v as any)?.exitCode ?? ''}:${c.restartCount ?? 0}`;
    });
    return `${o.status?.phase ?? ''}|${state.join(',')}`;
  },
  /** A Job: its counts and its final condition. */
  job: (o) => {
    const final = (o.status?.conditions ?? [])
      .filter((c: any) => c.status === 'True')
      .map((c: any) => c.type)
      .sort()
      .join(',');
    return `${o.status?.succeeded ?? 0}/${o.status?.failed ?? 0}|${final}`;
  },
  /** A PVC: bound or not. */
  claim: (o) => o.status?.phase ?? '',
};

/** Remembers the last signature per object uid; tells whether an event changed anything that matters. */
export class ChangeFilter {
  private readonly seen = new Map<string, string>();
  private readonly signature: Signature;

  constructor(signature: Signature) {
    this.signature = signature;
  }

  /** True for an object seen for the first time or whose signature changed. */
  changed(o: KubernetesObject): boolean {
    const id = o.metadata?.uid ?? `${o.metadata?.namespace}/${o.metadata?.name}`;
    const sig = this.signature(o);
    if (this.seen.get(id) === sig) return false;
    this.seen.set(id, sig);
    return true;
  }

  forget(o: KubernetesObject): void {
    this.seen.delete(o.metadata?.uid ?? `${o.metadata?.namespace}/${o.metadata?.name}`);
  }

  get size(): number {
    return this.seen.size;
  }
}
