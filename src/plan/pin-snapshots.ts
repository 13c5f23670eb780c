// Which snapshot each host of a plan would restore (SPEC "restic"), pinned to a concrete id before
// the merge. Pure, except `pinSnapshots`, which asks a SnapshotSource (the restic edge,
// restic-snapshots.ts, or anything else that lists snapshots) and records what it says.
//
// restic 0.14's choice of `latest`, mirrored by `chooseLatest`: among the snapshots of the host
// whose paths include every requested path (each made absolute and cleaned, so `/data/` means
// `/data`), the newest by time; on equal times the one restic lists last (the greatest id).
// test/plan/pin-snapshots.test.ts checks this against restic's own `latest` on a real repository.
import { posix } from 'node:path';
import type { RestoreSession } from '../api/restoresession.ts';
import type { ClusterView } from '../manifests/cluster-state.ts';
import type { DesiredSet } from '../manifests/desired.ts';
import type { Diagnostic } from '../manifests/diagnostic.ts';
import { diagnosticAt } from '../manifests/load.ts';
import type { Manifest } from '../manifests/load.ts';
import type { Repository } from '../api/repository.ts';
import { RestoreError } from '../common/errors.ts';
import { snapshotTimeMs, snapshotTimeUtc } from '../restic/snapshot-time.ts';
import type { Action, Plan, SnapshotPin } from './types.ts';

/** One element of `restic snapshots --json`. */
export interface SnapshotRecord {
  id: string;
  short_id?: string;
  time: string;
  hostname: string;
  paths?: string[];
  tags?: string[] | null;
}

/** Cleans a path as restic does before matching (`filepath.Abs` then `filepath.Clean`, on `/`). */
export function cleanSnapshotPath(p: string): string {
  return posix.resolve('/', p);
}

/** restic's `latest` for a host and paths, or undefined when no snapshot matches. */
export function chooseLatest(list: readonly SnapshotRecord[], sel: { host: string; paths?: readonly string[] }): SnapshotRecord | undefined {
  const wanted = (sel.paths ?? []).map(cleanSnapshotPath);
  let best: SnapshotRecord | undefined;
  for (const s of list) {
    if (s.hostname !== sel.host) continue;
    if (!wanted.every((p) => (s.paths ?? []).includes(p))) continue;
    if (!best) {
      best = s;
      continue;
    }
    const order = timeOf(s.time) - timeOf(best.time) || (s.id > best.id ? 1 : -1);
    if (order > 0) best = s;
  }
  return best;
}

/** The snapshot an id (or unique id prefix) names, as `restic restore <id>` finds it. */
export function findSnapshot(list: readonly SnapshotRecord[], id: string): SnapshotRecord | undefined {
  const hits = list.filter((s) => s.id.startsWith(id.toLowerCase()));
  return hits.length === 1 ? hits[0] : undefined;
}

const timeOf = snapshotTimeMs;

/** `2024-02-01T09:11:12Z`: the snapshot time in UTC, to the second. */
export const snapshotTime = snapshotTimeUtc;

/** A restic repository as the plan names it: the Repository object a session references. */
export interface RepositoryRef {
  namespace: string;
  name: string;
  repository: Repository | undefined;
}

/** What to list: snapshots of a host (and a path) for `latest`, or one snapshot by id. */
export type SnapshotQuery = { host: string; path?: string } | { id: string };

/** Lists snapshots; throws SnapshotsUnavailable (with a reason for people) when it cannot. */
export interface SnapshotSource {
  list(repo: RepositoryRef, query: SnapshotQuery): Promise<SnapshotRecord[]>;
}

/** What could not be read: the repository as shown to people (no credentials), when known. */
export interface SnapshotsUnavailableData {
  repository?: string;
}

/** A repository's snapshots cannot be listed from here; the message is the reason, for people. */
export class SnapshotsUnavailable extends RestoreError<'SnapshotsUnavailable', SnapshotsUnavailableData> {
  constructor(reason: string, data: SnapshotsUnavailableData = {}, options?: { cause?: unknown }) {
    super('SnapshotsUnavailable', reason, data, options);
  }
}

/** The steps a host restores, in rule order: each `snapshots` id, or `latest` per path. */
function stepsOf(h: NonNullable<Action['hosts']>[number]): SnapshotPin[] {
  if (!h.restores) return [];
  if (h.snapshots?.length) return h.snapshots.map((requested) => ({ requested }));
  return (h.paths ?? []).map((path) => ({ requested: 'latest', path }));
}

const willRestore = (a: Action) =>
  a.kind === 'RestoreSession' && (a.action === 'create' || a.action === 'rerun') && a.executor !== 'volume-snapshot' && !!a.hosts?.length;

/**
 * Looks up the snapshot of every restore step of the actions `which` selects (default: every
 * create and rerun), memoising equal queries. A repository that cannot be read leaves its steps
 * `unresolved` with the reason, and one warning names it; a `latest` that matches nothing or an id the repository lacks is a warning
 * at the session (its restore would fail). Returns the plan with `snapshots` set on those actions
 * and the warnings added.
 */
export async function pinSnapshots(
  plan: Plan,
  desired: DesiredSet,
  cluster: ClusterView | undefined,
  source: SnapshotSource,
  which: (a: Action) => boolean = () => true,
): Promise<Plan> {
  const key = (ns: string | undefined, name: string) => `${ns ?? 'default'}/${name}`;
  const sessions = new Map(desired.sessions.map((m) => [key(m.object.metadata.namespace, m.object.metadata.name), m]));
  const repos = new Map(desired.repositories.map((m) => [key(m.object.metadata.namespace, m.object.metadata.name), m]));
  const memo = new Map<string, Promise<SnapshotRecord[]>>();
  const unreadable = new Map<string, { reason: string; sessions: Manifest<RestoreSession>[] }>();
  const diagnostics: Diagnostic[] = [];
  const actions: Action[] = [];
  for (const a of plan.actions) {
    const m = sessions.get(key(a.namespace, a.name));
    if (!willRestore(a) || !which(a) || !m) {
      actions.push(a);
      continue;
    }
    const ref = m.object.spec.repository;
    const repoKey = key(ref?.namespace || a.namespace, ref?.name ?? '');
    const repoManifest = repos.get(repoKey);
    const repo: RepositoryRef = {
      namespace: ref?.namespace || a.namespace,
      name: ref?.name ?? '',
      repository: repoManifest?.object ?? (ref ? cluster?.get<Repository>('Repository', ref.namespace || a.namespace, ref.name) : undefined),
    };
    const problems = new Set<string>();
    const snapshots: Record<string, SnapshotPin[]> = {};
    for (const h of a.hosts!) {
      const pins: SnapshotPin[] = [];
      for (const step of stepsOf(h)) {
        const query: SnapshotQuery =
          step.requested === 'latest' ? { host: h.sourceHost, ...(step.path ? { path: cleanSnapshotPath(step.path) } : {}) } : { id: step.requested };
        const memoKey = `${repoKey}\0${JSON.stringify(query)}`;
        let pending = memo.get(memoKey);
        if (!pending) memo.set(memoKey, (pending = source.list(repo, query)));
        try {
          const list = await pending;
          const found = 'id' in query ? findSnapshot(list, query.id) : chooseLatest(list, { host: query.host, ...(step.path ? { paths: [step.path] } : {}) });
          if (found) {
            pins.push({ ...step, snapshot: { id: found.id, shortId: found.short_id ?? found.id.slice(0, 8), time: snapshotTime(found.time) } });
          } else {
            const none =
              'id' in query
                ? `no snapshot ${query.id} in Repository ${repoKey}`
                : `no snapshot of host ${query.host}${step.path ? ` with path ${step.path}` : ''} in Repository ${repoKey}`;
            pins.push({ ...step, unresolved: none });
            problems.add(`${none}: host ${h.host} would fail to restore`);
          }
        } catch (e) {
          if (!(e instanceof SnapshotsUnavailable)) throw e;
          pins.push({ ...step, unresolved: e.message });
          const u = unreadable.get(repoKey) ?? { reason: e.message, sessions: [] };
          if (!u.sessions.includes(m)) u.sessions.push(m);
          unreadable.set(repoKey, u);
        }
      }
      snapshots[h.host] = pins;
    }
    for (const p of problems)
      diagnostics.push(diagnosticAt(m, ref ? ['spec', 'repository', 'name'] : ['spec'], 'warning', `${key(a.namespace, a.name)}: ${p}`));
    actions.push({ ...a, snapshots });
  }
  for (const [repoKey, u] of unreadable) {
    const names = u.sessions.map((s) => key(s.object.metadata.namespace, s.object.metadata.name)).join(', ');
    const message = `Repository ${repoKey}: the snapshots of ${names} not looked up: ${u.reason}`;
    // At the first session that uses it: a planned change shows warnings of the files it touches.
    diagnostics.push(diagnosticAt(u.sessions[0]!, ['spec', 'repository', 'name'], 'warning', message));
  }
  return { ...plan, actions, diagnostics: [...plan.diagnostics, ...diagnostics] };
}
