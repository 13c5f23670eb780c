// Which sessions depend on which objects, so a watch event on a Repository or a target workload
// wakes exactly the sessions that reference it. Pure: fed from the session watch, asked by the
// other watches. Keys are `kind/namespace/name`, as objectKey makes them.
import type { RestoreSession } from '../api/restoresession.ts';
import { repositoryOf } from '../api/restoresession.ts';

export type SessionKey = `${string}/${string}`;

export function sessionKey(s: { metadata: { namespace?: string; name: string } }): SessionKey {
  return `${s.metadata.namespace ?? 'default'}/${s.metadata.name}`;
}

/** `kind/namespace/name` of the objects a session waits for: its Repository and its target. */
export function sessionDependencies(s: RestoreSession): string[] {
  const deps: string[] = [];
  const repo = repositoryOf(s);
  if (repo) deps.push(`Repository/${repo.namespace}/${repo.name}`);
  const ref = s.spec.target?.ref;
  if (ref?.kind && ref.name) deps.push(`${ref.kind}/${ref.namespace || s.metadata.namespace || 'default'}/${ref.name}`);
  return deps;
}

export class SessionIndex {
  private readonly byDependency = new Map<string, Set<SessionKey>>();
  private readonly bySession = new Map<SessionKey, string[]>();

  /** Records (or re-records) what a session depends on. */
  upsert(s: RestoreSession): void {
    const key = sessionKey(s);
    this.remove(key);
    const deps = sessionDependencies(s);
    this.bySession.set(key, deps);
    for (const d of deps) {
      let set = this.byDependency.get(d);
      if (!set) this.byDependency.set(d, (set = new Set()));
      set.add(key);
    }
  }

  remove(key: SessionKey): void {
    for (const d of this.bySession.get(key) ?? []) {
      const set = this.byDependency.get(d);
      set?.delete(key);
      if (set?.size === 0) this.byDependency.delete(d);
    }
    this.bySession.delete(key);
  }

  /** The sessions that reference the object `kind namespace/name`. */
  sessionsFor(kind: string, namespace: string, name: string): SessionKey[] {
    return [...(this.byDependency.get(`${kind}/${namespace}/${name}`) ?? [])];
  }

  get size(): number {
    return this.bySession.size;
  }
}
