// Content ids (DESIGN §2): the identity of one declared restore, so re-applying git never
// restores twice and a changed spec is recognised as such.
import { createHash } from 'node:crypto';
import { RERUN_ANNOTATION } from '../api/meta.ts';
import type { RestoreSession, RestoreSessionSpec } from '../api/restoresession.ts';

/** Drops empty values and sorts keys, so equivalent specs serialise the same. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(canonical).filter((v) => v !== undefined);
    return items.length ? items : undefined;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = canonical((value as Record<string, unknown>)[key]);
      if (v !== undefined) out[key] = v;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return value === null || value === '' ? undefined : value;
}

/** The spec as compared between git and the cluster: defaults that only differ in spelling removed. */
export function normalisedSpec(session: RestoreSession): unknown {
  const spec: RestoreSessionSpec = structuredClone(session.spec);
  if (spec.repository && !spec.repository.namespace) spec.repository.namespace = session.metadata.namespace;
  if (!spec.driver) spec.driver = 'Restic';
  return canonical(spec);
}

export function contentId(session: RestoreSession): string {
  const input = JSON.stringify({
    namespace: session.metadata.namespace ?? 'default',
    name: session.metadata.name,
    spec: normalisedSpec(session) ?? {},
    rerun: session.metadata.annotations?.[RERUN_ANNOTATION] ?? null,
  });
  return createHash('sha256').update(input).digest('hex').slice(0, 16);
}
