// Planning from the status branch without cluster access (CI): the RestoreSessions the daemon has
// in the cluster, inferred from the ledger and the base revision, so the Planner decides `noop`,
// `rerun`, `blocked` and `prune` as the daemon will after the merge. Pure.
//
// The daemon plans against its live RestoreSessions (labelled managed-by, annotated with their
// content id) plus the ledger. A live session exists for a declared restore whose latest
// execution was created and not interrupted; its spec is the one the base declares, when the
// base's content id is that execution's. (The daemon never deletes the CR of a declared
// session; it prunes only removed ones.)
import { CONTENT_ID_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, RERUN_ANNOTATION, SOURCE_ANNOTATION } from '../api/meta.ts';
import type { RestorePhase, RestoreSession } from '../api/restoresession.ts';
import type { ClusterView } from '../manifests/cluster-state.ts';
import type { DesiredSet } from '../manifests/desired.ts';
import type { Diagnostic } from '../manifests/diagnostic.ts';
import { diagnosticAt } from '../manifests/load.ts';
import { contentId } from './content-id.ts';

/** What the planner needs of a status-branch session (`LedgerSession` fits). */
export interface LedgerRecord {
  namespace: string;
  name: string;
  /** Oldest first, as the status branch keeps them. */
  executions: readonly { contentId: string; phase: string; acceptedAt?: string; finishedAt?: string; annotations?: Record<string, string> }[];
  /** The live session's status as last written (absent: there was no RestoreSession then). */
  status?: { phase?: string };
  /** Where it was declared (a removed session's file, for its prune). */
  source?: { url: string; commit: string | null; file: string };
}

/** Execution phases with no RestoreSession behind them. */
const NO_SESSION = new Set(['Accepted', 'Interrupted']);

const latest = (r: LedgerRecord | undefined) => r?.executions[r.executions.length - 1];

/**
 * The live RestoreSessions the ledger implies for the sessions `base` declares, except those the
 * cluster state already holds. `head` is checked for restores the ledger knows under an older
 * content id that no base explains: then whether the daemon reruns or blocks them cannot be told,
 * and a warning says so.
 */
export function ledgerSessions(
  records: readonly LedgerRecord[],
  base: DesiredSet | undefined,
  head: DesiredSet,
  cluster: ClusterView | undefined,
): { sessions: RestoreSession[]; diagnostics: Diagnostic[] } {
  const byKey = new Map(records.map((r) => [`${r.namespace}/${r.name}`, r]));
  const sessions: RestoreSession[] = [];
  const explained = new Set<string>();
  for (const m of base?.sessions ?? []) {
    const { namespace = 'default', name } = m.object.metadata;
    const key = `${namespace}/${name}`;
    if (cluster?.get('RestoreSession', namespace, name)) continue;
    const last = latest(byKey.get(key));
    if (!last || NO_SESSION.has(last.phase) || last.contentId !== contentId(m.object)) continue;
    explained.add(key);
    sessions.push({
      ...m.object,
      metadata: {
        ...m.object.metadata,
        namespace,
        labels: { ...m.object.metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
        annotations: { ...m.object.metadata.annotations, [CONTENT_ID_ANNOTATION]: last.contentId },
      },
      status: { phase: last.phase as RestorePhase },
    });
  }
  const diagnostics: Diagnostic[] = [];
  for (const m of head.sessions) {
    const { namespace = 'default', name } = m.object.metadata;
    const key = `${namespace}/${name}`;
    const record = byKey.get(key);
    const last = latest(record);
    if (!last || explained.has(key) || cluster?.get('RestoreSession', namespace, name)) continue;
    const id = contentId(m.object);
    if (record!.executions.some((e) => e.contentId === id) || NO_SESSION.has(last.phase)) continue;
    // The execution records the rerun annotation it was declared with, and the file a live
    // status: then the session the daemon has is known well enough to decide (rerun or blocked
    // need only its content id, phase and annotation), with or without a base.
    if (last.annotations && record!.status) {
      const rerun = last.annotations[RERUN_ANNOTATION];
      const { [RERUN_ANNOTATION]: _declared, ...annotations } = m.object.metadata.annotations ?? {};
      sessions.push({
        ...m.object,
        metadata: {
          ...m.object.metadata,
          namespace,
          labels: { ...m.object.metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          annotations: { ...annotations, ...(rerun !== undefined ? { [RERUN_ANNOTATION]: rerun } : {}), [CONTENT_ID_ANNOTATION]: last.contentId },
        },
        status: { phase: (record!.status.phase ?? last.phase) as RestorePhase },
      });
      continue;
    }
    diagnostics.push(
      diagnosticAt(
        m,
        ['metadata', 'name'],
        'warning',
        `the status branch records an earlier restore ${key} (content id ${last.contentId}, ${last.phase}) that ${base ? 'the base does not declare' : 'no base was given to compare with'}: ` +
          `whether the daemon runs this one again (only restore.gitops/rerun changed) or blocks it (the spec changed) cannot be told here${base ? '' : '; plan with --base (or --base-dir) to know'}`,
      ),
    );
  }
  // A session the head does not declare (nor the base) whose file still shows a live status: the
  // daemon has its RestoreSession, and prunes it once final. Once pruned, the file loses its status.
  const declared = new Set(head.sessions.map((m) => `${m.object.metadata.namespace ?? 'default'}/${m.object.metadata.name}`));
  for (const r of records) {
    const key = `${r.namespace}/${r.name}`;
    const last = latest(r);
    if (!last || !r.status || declared.has(key) || explained.has(key) || NO_SESSION.has(last.phase) || cluster?.get('RestoreSession', r.namespace, r.name))
      continue;
    sessions.push({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: {
        name: r.name,
        namespace: r.namespace,
        labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
        annotations: {
          [CONTENT_ID_ANNOTATION]: last.contentId,
          ...(r.source?.file ? { [SOURCE_ANNOTATION]: `${r.source.url}@${r.source.commit ?? 'working-tree'}:${r.source.file}` } : {}),
        },
      },
      spec: {} as RestoreSession['spec'],
      status: { phase: (r.status.phase ?? last.phase) as RestorePhase },
    });
  }
  return { sessions, diagnostics };
}
