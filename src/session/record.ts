// The session's record (issue 17): what the agents and the controller wrote to a session's status,
// kept by the controller in an annotation of the session, where an edit of the status (kubectl
// edit --subresource=status, a patch) does not reach it. The status is corrected from it on the
// next reconcile, and the daemon's ledger, the agents and the planner believe a final phase only
// when the record (or a status consistent with itself) says so. Pure.
//
// What it holds: each host's final stat (an agent's result), the hook conditions once decided (an
// agent's too), and, once the controller wrote a final phase, that final status whole.
import type { Condition } from '../api/meta.ts';
import type { HostRestoreStats, RestorePhase, RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { isFinalPhase } from '../api/restoresession.ts';
import { CONDITION } from './conditions.ts';
import { sessionPhase } from './phase.ts';
import { canonicalJson } from '../common/canonical-json.ts';

export const RECORD_ANNOTATION = 'restore.gitops/record';

export interface SessionRecord {
  /** Final host stats (Succeeded, Failed, Unknown), by hostname. */
  stats: HostRestoreStats[];
  /** The agents' hook conditions once decided (True or False). */
  conditions: Condition[];
  /** The status of the controller's final write. */
  final?: RestoreSessionStatus;
}

const AGENT_CONDITIONS: readonly string[] = [CONDITION.PreRestoreHookExecutionSucceeded, CONDITION.PostRestoreHookExecutionSucceeded];
const FINAL_HOST = new Set<string | undefined>(['Succeeded', 'Failed', 'Unknown']);

const EMPTY: SessionRecord = { stats: [], conditions: [] };

/** The session's record; an absent or unreadable annotation is an empty record. */
export function readRecord(session: Pick<RestoreSession, 'metadata'>): SessionRecord {
  const text = session.metadata.annotations?.[RECORD_ANNOTATION];
  if (!text) return EMPTY;
  try {
    const r = JSON.parse(text) as Partial<SessionRecord>;
    return {
      stats: Array.isArray(r.stats) ? r.stats.filter((s) => typeof s?.hostname === 'string' && FINAL_HOST.has(s.phase)) : [],
      conditions: Array.isArray(r.conditions)
        ? r.conditions.filter((c) => AGENT_CONDITIONS.includes(c?.type ?? '') && (c.status === 'True' || c.status === 'False'))
        : [],
      ...(r.final && typeof r.final === 'object' && isFinalPhase(r.final.phase) ? { final: r.final } : {}),
    };
  } catch {
    return EMPTY;
  }
}

export function recordText(record: SessionRecord): string {
  return JSON.stringify({ stats: record.stats, conditions: record.conditions, ...(record.final ? { final: record.final } : {}) });
}

/** Whether the status's final phase follows from its own conditions and stats, as the controller computes it. */
export function phaseFollows(status: RestoreSessionStatus | undefined, spec: Pick<RestoreSession['spec'], 'hooks'>): boolean {
  if (!status?.phase) return false;
  return (
    sessionPhase({ conditions: status.conditions, stats: status.stats, totalHosts: status.totalHosts, postRestore: !!spec.hooks?.postRestore }) === status.phase
  );
}

/**
 * The record with what `status` adds, as written by the controller (after its status write): the
 * final stats and decided hook conditions it holds, and the whole status once its final phase
 * follows from it. A record that has a final status keeps it.
 */
export function recordWith(record: SessionRecord, status: RestoreSessionStatus | undefined, spec: Pick<RestoreSession['spec'], 'hooks'>): SessionRecord {
  if (record.final) return record;
  const stats = [...record.stats];
  for (const s of status?.stats ?? []) {
    if (!FINAL_HOST.has(s.phase) || stats.some((r) => r.hostname === s.hostname)) continue;
    stats.push(s);
  }
  const conditions = [...record.conditions];
  for (const c of status?.conditions ?? []) {
    if (!AGENT_CONDITIONS.includes(c.type ?? '') || (c.status !== 'True' && c.status !== 'False') || conditions.some((r) => r.type === c.type)) continue;
    conditions.push(c);
  }
  const final = isFinalPhase(status?.phase) && phaseFollows(status, spec) ? { final: status! } : {};
  return { stats, conditions, ...final };
}

/**
 * The status corrected from the record: recorded stats and hook conditions replace what the status
 * says of them (an edit, or a status removed), and a final phase that does not follow from the
 * status (a phase set by hand) is taken away with its duration and completion, for the controller to
 * compute again. A record with a final status is that status.
 */
export function correctedStatus(
  status: RestoreSessionStatus | undefined,
  record: SessionRecord,
  spec: Pick<RestoreSession['spec'], 'hooks'>,
): RestoreSessionStatus {
  if (record.final) return record.final;
  const out: RestoreSessionStatus = { ...status };
  if (record.stats.length) {
    const stats = [...(out.stats ?? [])];
    for (const r of record.stats) {
      const i = stats.findIndex((s) => s.hostname === r.hostname);
      if (i >= 0) stats[i] = r;
      else stats.push(r);
    }
    out.stats = stats;
  }
  if (record.conditions.length) {
    const conditions = (out.conditions ?? []).filter((c) => !record.conditions.some((r) => r.type === c.type));
    out.conditions = [...conditions, ...record.conditions];
  }
  if (isFinalPhase(out.phase) && !phaseFollows(out, spec)) {
    delete out.phase;
    delete out.sessionDuration;
    out.conditions = out.conditions?.filter((c) => c.type !== CONDITION.RestoreCompleted);
  }
  return out;
}

/** Whether the session's status is what its record says (a record without a final status: only its stats and hook conditions are compared). */
export function statusMatchesRecord(session: Pick<RestoreSession, 'metadata' | 'status' | 'spec'>): boolean {
  const record = readRecord(session);
  return canonicalJson(correctedStatus(session.status, record, session.spec)) === canonicalJson(session.status ?? {});
}

/**
 * The phase to believe of a session, for whoever reads it (the ledger, an agent deciding whether to
 * restore, the planner): the recorded final phase; else the status's phase when it follows from the
 * status; a final phase that does not (set by hand) is not final: Running until the controller says.
 */
export function trustedPhase(session: Pick<RestoreSession, 'metadata' | 'status' | 'spec'>): RestorePhase | undefined {
  const record = readRecord(session);
  if (record.final) return record.final.phase;
  const phase = session.status?.phase;
  if (!isFinalPhase(phase)) return phase;
  const corrected = correctedStatus(session.status, record, session.spec);
  return corrected.phase ?? 'Running';
}

/** The recorded final stat of a host, if any: a host whose stat was edited or removed by hand still has its agent's result. */
export function recordedHostStat(session: Pick<RestoreSession, 'metadata'>, host: string): HostRestoreStats | undefined {
  const record = readRecord(session);
  return (record.final?.stats ?? record.stats).find((s) => s.hostname === host);
}

/**
 * The session as others should read it: its status corrected from its record, with the trusted
 * phase (a final phase set by hand reads Running until the controller decides). The session itself
 * when nothing needs correcting.
 */
export function withTrustedStatus<S extends Pick<RestoreSession, 'metadata' | 'status' | 'spec'>>(session: S): S {
  if (statusMatchesRecord(session)) return session;
  const status = correctedStatus(session.status, readRecord(session), session.spec);
  return { ...session, status: { ...status, ...(status.phase ? {} : { phase: trustedPhase(session) ?? 'Running' }) } };
}
