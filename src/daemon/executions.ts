// The daemon's view of the ledger (DESIGN §2), pure: executions by content id, what a Plan adds
// to them (Accepted, Interrupted, the snapshots pinned at accept time) and what the cluster
// reports (phases, start and end times).
import type { RestoreSession } from '../api/restoresession.ts';
import { CONTENT_ID_ANNOTATION, RERUN_ANNOTATION, SNAPSHOTS_ANNOTATION } from '../api/meta.ts';
import { formatSnapshotPins } from '../api/snapshot-pins.ts';
import type { SnapshotPins } from '../api/snapshot-pins.ts';
import type { DesiredSet } from '../manifests/desired.ts';
import { isFinalPhase } from '../api/restoresession.ts';
import type { Action, Plan } from '../plan/types.ts';
import { trustedPhase } from '../session/record.ts';
import type { LedgerView } from '../plan/plan.ts';
import type { Ledger } from '../status/ledger.ts';
import type { Execution, PinnedStep } from '../status/types.ts';
import { FINAL_EXECUTION_PHASES } from '../status/types.ts';

export interface TrackedExecution {
  namespace: string;
  name: string;
  execution: Execution;
}

export type Executions = Map<string, TrackedExecution>;

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The executions the status branch records for one cluster: what a daemon starts from. */
export function executionsFromLedger(ledger: Pick<Ledger, 'executions'>, cluster: string): Executions {
  const out: Executions = new Map();
  for (const [id, { execution, session }] of ledger.executions) {
    if (session.cluster === cluster) out.set(id, { namespace: session.namespace, name: session.name, execution });
  }
  return out;
}

export function ledgerView(executions: Executions): LedgerView {
  return new Map([...executions].map(([id, t]) => [id, { phase: t.execution.phase, finishedAt: t.execution.finishedAt }]));
}

/** Records the plan's new executions (`Accepted`) and vanished ones (`Interrupted`). Returns whether anything changed. */
export function recordPlan(executions: Executions, plan: Plan, sourceCommit: string | null, now: Date): boolean {
  let changed = false;
  for (const a of plan.actions) {
    if (a.kind !== 'RestoreSession') continue;
    const known = executions.get(a.contentId);
    if (a.action === 'create' && !known) {
      executions.set(a.contentId, {
        namespace: a.namespace,
        name: a.name,
        execution: {
          contentId: a.contentId,
          phase: 'Accepted',
          acceptedAt: iso(now),
          ...(sourceCommit ? { sourceCommit } : {}),
          annotations: a.rerun !== undefined ? { [RERUN_ANNOTATION]: a.rerun } : {},
        },
      });
      changed = true;
    } else if (a.interrupted && known && !FINAL_EXECUTION_PHASES.includes(known.execution.phase)) {
      known.execution = { ...known.execution, phase: 'Interrupted', finishedAt: iso(now) };
      changed = true;
    }
  }
  return changed;
}

/** Follows the live sessions: each execution takes its CR's trusted phase (session/record.ts), with start and finish times. */
export function followCluster(executions: Executions, live: RestoreSession[], now: Date): boolean {
  let changed = false;
  for (const s of live) {
    const id = s.metadata.annotations?.[CONTENT_ID_ANNOTATION];
    const t = id ? executions.get(id) : undefined;
    if (!t || FINAL_EXECUTION_PHASES.includes(t.execution.phase)) continue;
    // The phase the controller's record supports: a final phase set by hand is not copied (issue 17).
    const phase = trustedPhase(s) ?? 'Pending';
    const e = { ...t.execution };
    if (e.phase === phase) continue;
    e.phase = phase;
    if (phase !== 'Pending' && !e.startedAt) e.startedAt = iso(now);
    if (isFinalPhase(phase)) e.finishedAt = iso(now);
    t.execution = e;
    changed = true;
  }
  return changed;
}

/** An action's looked-up snapshots (plan) as the execution records them: host → steps. */
export function pinnedSteps(snapshots: NonNullable<Action['snapshots']>): Record<string, PinnedStep[]> {
  const out: Record<string, PinnedStep[]> = {};
  for (const [host, pins] of Object.entries(snapshots)) {
    out[host] = pins.map((p) => ({
      requested: p.requested,
      ...(p.path !== undefined ? { path: p.path } : {}),
      ...(p.snapshot ? { id: p.snapshot.id, time: p.snapshot.time } : {}),
      ...(!p.snapshot && p.unresolved ? { unresolved: p.unresolved } : {}),
    }));
  }
  return out;
}

/** Content ids of the executions accepted but not pinned yet, that this plan creates: the ones to pin now. */
export function toPin(executions: Executions, plan: Plan): Set<string> {
  const ids = new Set<string>();
  for (const a of plan.actions) {
    const t = a.kind === 'RestoreSession' && a.action === 'create' ? executions.get(a.contentId) : undefined;
    if (t && t.execution.phase === 'Accepted' && !t.execution.snapshots) ids.add(a.contentId);
  }
  return ids;
}

/**
 * Records on each execution accepted this cycle the snapshots its hosts restore (issue 15: before
 * any host restores), from a plan whose actions were looked up (pinSnapshots). Once recorded, a
 * pin is never looked up again. Returns whether anything changed.
 */
export function recordPins(executions: Executions, pinned: Plan, ids: ReadonlySet<string>): boolean {
  let changed = false;
  for (const a of pinned.actions) {
    const t = ids.has(a.contentId) ? executions.get(a.contentId) : undefined;
    if (!t || !a.snapshots || t.execution.snapshots) continue;
    t.execution = { ...t.execution, snapshots: pinnedSteps(a.snapshots) };
    changed = true;
  }
  return changed;
}

/** The `restore.gitops/snapshots` value of an execution: its resolved pins, or undefined when none is. */
export function pinAnnotation(execution: Execution): string | undefined {
  const pins: SnapshotPins = {};
  for (const [host, steps] of Object.entries(execution.snapshots ?? {})) {
    // a host is pinned whole or not at all: the agent pins the rest itself
    if (!steps.length || steps.some((s) => !s.id)) continue;
    pins[host] = steps.map((s) => ({
      requested: s.requested,
      ...(s.path !== undefined ? { path: s.path } : {}),
      id: s.id!,
      ...(s.time ? { time: s.time } : {}),
    }));
  }
  return Object.keys(pins).length ? formatSnapshotPins(pins) : undefined;
}

/**
 * The desired set with each session the plan creates carrying its execution's pins as the
 * `restore.gitops/snapshots` annotation (the agent restores exactly those). The manifest's own
 * fields, Stash's `rules[].snapshots` included, stay as written.
 */
export function withPinAnnotations(desired: DesiredSet, plan: Plan, executions: Executions): DesiredSet {
  const annotation = new Map<string, string>();
  for (const a of plan.actions) {
    const e = a.kind === 'RestoreSession' && a.action === 'create' ? executions.get(a.contentId)?.execution : undefined;
    const value = e ? pinAnnotation(e) : undefined;
    if (value) annotation.set(`${a.namespace}/${a.name}`, value);
  }
  if (!annotation.size) return desired;
  return {
    ...desired,
    sessions: desired.sessions.map((m) => {
      const value = annotation.get(`${m.object.metadata.namespace ?? 'default'}/${m.object.metadata.name}`);
      if (!value) return m;
      const metadata = { ...m.object.metadata, annotations: { ...m.object.metadata.annotations, [SNAPSHOTS_ANNOTATION]: value } };
      return { ...m, object: { ...m.object, metadata } };
    }),
  };
}
