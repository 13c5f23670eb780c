// The daemon's view of the ledger (DESIGN §2), pure: executions by content id, what a Plan adds
// to them (Accepted, Interrupted) and what the cluster reports (phases, start and end times).
import type { RestoreSession } from '../api/restoresession.ts';
import { CONTENT_ID_ANNOTATION, RERUN_ANNOTATION } from '../api/meta.ts';
import { isFinalPhase } from '../api/restoresession.ts';
import type { Plan } from '../plan/types.ts';
import { trustedPhase } from '../session/record.ts';
import type { LedgerView } from '../plan/plan.ts';
import type { Ledger } from '../status/ledger.ts';
import type { Execution } from '../status/types.ts';
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
