// Small helpers shared by the simulated controllers.
import { createHash, randomInt } from 'node:crypto';
import type { Obj } from '../store.ts';

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';

/** Kubernetes' random name suffix alphabet (no vowels, no confusable digits). */
export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += SAFE[randomInt(SAFE.length)];
  return s;
}

/** A stable short hash of a pod template, like pod-template-hash / controller-revision-hash. */
export function templateHash(template: unknown): string {
  const hex = createHash('sha256')
    .update(JSON.stringify(template ?? {}))
    .digest('hex');
  let s = '';
  for (let i = 0; i < 10; i++) s += SAFE[parseInt(hex.slice(i * 2, i * 2 + 2), 16) % SAFE.length];
  return s;
}

export function controllerRef(owner: Obj): Record<string, unknown> {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name, uid: owner.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export function isControlledBy(o: Obj, owner: Obj): boolean {
  return (o.metadata.ownerReferences ?? []).some((r: { uid: string; controller?: boolean }) => r.uid === owner.metadata.uid && r.controller);
}

export function conditionTrue(o: Obj | undefined, type: string): boolean {
  return Boolean(o?.status?.conditions?.some((c: { type: string; status: string }) => c.type === type && c.status === 'True'));
}

export function podReady(p: Obj): boolean {
  return !p.metadata.deletionTimestamp && p.status?.phase === 'Running' && conditionTrue(p, 'Ready');
}

export function podFinished(p: Obj): 'Succeeded' | 'Failed' | undefined {
  const phase = p.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' ? phase : undefined;
}

/** Keeps lastTransitionTime when a condition's status did not change. */
export function mergeConditions(old: Array<Record<string, any>> | undefined, next: Array<Record<string, any>>, now: string): Array<Record<string, any>> {
  return next.map((c) => {
    const prev = old?.find((o) => o.type === c.type);
    return { ...c, lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now, ...(c.lastProbeTime !== undefined ? {} : {}) };
  });
}

export function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
