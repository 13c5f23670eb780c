// The session's record (issue 17): what the agents and the controller wrote to a session's status,
// kept by the controller in an annotation of the session, where an edit of the status (kubectl
// edit --subresource=status, a patch) does not reach it. The status is corrected from it on the
// next reconcile, and the daemon's ledger, the agents and the planner believe a final phase only
// when the record (or a status consistent with itself) says so. Pure.
//
// What it holds: each host's final stat (an agent's result), the hook conditions once decided (an
// agent's too), and, once the controller wrote a final phase, that final status whole (its stats
// are then the hosts' stats: they are not kept twice).
//
// Bounded: Kubernetes allows 256 KiB for all of an object's annotations together, and a session of
// thousands of hosts would need more. Beyond RECORD_MAX_BYTES the record keeps, instead of whole
// stats, each host's final phase (hostnames that differ only by a trailing number as ranges:
// `failover-0` … `failover-2999` is one entry), which is what says a host is done (so no pod
// restores it again) and what the session's phase follows from; a host's recorded phase is put
// back over an edit, its other fields (error, snapshot, duration) are then not kept. Should even
// that not fit, the record keeps the final status without its stats and the hook conditions.
import type { Condition } from '../api/meta.ts';
import type { HostRestoreStats, RestorePhase, RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { isFinalPhase } from '../api/restoresession.ts';
import { CONDITION } from './conditions.ts';
import { sessionPhase } from './phase.ts';
import { canonicalJson } from '../common/canonical-json.ts';

export const RECORD_ANNOTATION = 'restore.gitops/record';

/** The most the record annotation takes: half of Kubernetes' 256 KiB for all of an object's annotations, the rest left to others. */
export const RECORD_MAX_BYTES = 128 * 1024;

export interface SessionRecord {
  /** Final host stats (Succeeded, Failed, Unknown), by hostname. */
  stats: HostRestoreStats[];
  /** The agents' hook conditions once decided (True or False). */
  conditions: Condition[];
  /** The status of the controller's final write (without its stats beyond `full`). */
  final?: RestoreSessionStatus;
  /**
   * What the record could keep within RECORD_MAX_BYTES: `full` (every stat whole), `phases` (each
   * host's final phase: `stats` are `{hostname, phase}`), `summary` (no host: `stats` is empty).
   */
  kept: RecordDetail;
}

export type RecordDetail = 'full' | 'phases' | 'summary';

/** Hostnames in a compact form: a name, or `[prefix, first, last]` for prefix+first … prefix+last. */
type HostList = Array<string | [string, number, number]>;

/** The annotation's text in its compact forms. */
interface CompactRecord {
  kept: 'phases' | 'summary';
  hosts?: Partial<Record<'Succeeded' | 'Failed' | 'Unknown', HostList>>;
  conditions: Condition[];
  final?: RestoreSessionStatus;
}

const AGENT_CONDITIONS: readonly string[] = [CONDITION.PreRestoreHookExecutionSucceeded, CONDITION.PostRestoreHookExecutionSucceeded];
const FINAL_HOST = new Set<string | undefined>(['Succeeded', 'Failed', 'Unknown']);

const EMPTY: SessionRecord = { stats: [], conditions: [], kept: 'full' };

const finalStats = (stats: HostRestoreStats[] | undefined): HostRestoreStats[] =>
  Array.isArray(stats) ? stats.filter((s) => typeof s?.hostname === 'string' && FINAL_HOST.has(s.phase)) : [];

/** The session's record; an absent or unreadable annotation is an empty record. */
export function readRecord(session: Pick<RestoreSession, 'metadata'>): SessionRecord {
  const text = session.metadata.annotations?.[RECORD_ANNOTATION];
  if (!text) return EMPTY;
  try {
    const r = JSON.parse(text) as Partial<SessionRecord & CompactRecord> & { hosts?: unknown };
    const conditions = Array.isArray(r.conditions)
      ? r.conditions.filter((c) => AGENT_CONDITIONS.includes(c?.type ?? '') && (c.status === 'True' || c.status === 'False'))
      : [];
    const final = r.final && typeof r.final === 'object' && isFinalPhase(r.final.phase) ? r.final : undefined;
    if (r.kept === 'phases' || r.kept === 'summary') {
      const { stats: _, ...withoutStats } = final ?? {};
      const stats = r.kept === 'phases' ? hostPhases(r.hosts) : [];
      return { stats, conditions, kept: r.kept, ...(final ? { final: withoutStats } : {}) };
    }
    // Whole: the hosts' stats, or once final, the final status's (older records have both).
    return { stats: final ? finalStats(final.stats) : finalStats(r.stats), conditions, kept: 'full', ...(final ? { final } : {}) };
  } catch {
    return EMPTY;
  }
}

/** The annotation's text: whole when it fits in `maxBytes`, else each host's phase, else a summary. */
export function recordText(record: SessionRecord, maxBytes = RECORD_MAX_BYTES): string {
  const { final, conditions } = record;
  if (record.kept === 'full') {
    const whole = JSON.stringify(final ? { conditions, final } : { stats: record.stats, conditions });
    if (Buffer.byteLength(whole) <= maxBytes) return whole;
  }
  const { stats: finalHostStats, ...withoutStats } = final ?? {};
  // Once final (and whole), the final status's stats are the hosts' results.
  const stats = final && record.kept === 'full' ? finalStats(finalHostStats) : record.stats;
  const finalPart = final ? { final: withoutStats } : {};
  if (record.kept !== 'summary') {
    const compact: CompactRecord = { kept: 'phases', hosts: compactHosts(stats), conditions, ...finalPart };
    const text = JSON.stringify(compact);
    if (Buffer.byteLength(text) <= maxBytes) return text;
  }
  return JSON.stringify({ kept: 'summary', conditions, ...finalPart } satisfies CompactRecord);
}

/** Each host's final phase, hostnames as ranges where they end in consecutive numbers (sorted, so equal sets give equal text). */
function compactHosts(stats: HostRestoreStats[]): CompactRecord['hosts'] {
  const out: NonNullable<CompactRecord['hosts']> = {};
  for (const phase of ['Succeeded', 'Failed', 'Unknown'] as const) {
    const names = stats.filter((s) => s.phase === phase).map((s) => s.hostname);
    if (names.length) out[phase] = hostRanges(names);
  }
  return out;
}

export function hostRanges(names: string[]): HostList {
  const plain: string[] = [];
  const numbered = new Map<string, number[]>();
  for (const name of new Set(names)) {
    // A trailing number without a leading zero, so that the name is exactly prefix + String(n).
    const m = /^(.*?)(0|[1-9]\d{0,14})$/.exec(name);
    if (!m) plain.push(name);
    else {
      const list = numbered.get(m[1]!);
      if (list) list.push(Number(m[2]));
      else numbered.set(m[1]!, [Number(m[2])]);
    }
  }
  const out: HostList = plain.sort();
  for (const prefix of [...numbered.keys()].sort()) {
    const ns = numbered.get(prefix)!.sort((a, b) => a - b);
    for (let i = 0; i < ns.length; ) {
      let j = i;
      while (j + 1 < ns.length && ns[j + 1] === ns[j]! + 1) j++;
      if (j - i >= 2) out.push([prefix, ns[i]!, ns[j]!]);
      else for (let k = i; k <= j; k++) out.push(`${prefix}${ns[k]}`);
      i = j + 1;
    }
  }
  return out;
}

/** The recorded `{hostname, phase}` of a compact record's hosts (what does not read as a host list is left out). */
function hostPhases(hosts: unknown): HostRestoreStats[] {
  const out: HostRestoreStats[] = [];
  if (!hosts || typeof hosts !== 'object') return out;
  for (const phase of ['Succeeded', 'Failed', 'Unknown'] as const) {
    const list = (hosts as Record<string, unknown>)[phase];
    if (!Array.isArray(list)) continue;
    for (const e of list) {
      if (typeof e === 'string') out.push({ hostname: e, phase });
      else if (Array.isArray(e) && typeof e[0] === 'string' && Number.isSafeInteger(e[1]) && Number.isSafeInteger(e[2]) && e[2] - e[1] <= 1_000_000)
        for (let n = e[1] as number; n <= (e[2] as number); n++) out.push({ hostname: `${e[0]}${n}`, phase });
    }
  }
  return out;
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
  // A compact record keeps its form (the hosts only grow); a summary no longer tracks hosts.
  const stats = [...record.stats];
  const seen = new Set(stats.map((s) => s.hostname));
  for (const s of status?.stats ?? []) {
    if (!FINAL_HOST.has(s.phase) || seen.has(s.hostname)) continue;
    seen.add(s.hostname);
    stats.push(s);
  }
  const conditions = [...record.conditions];
  for (const c of status?.conditions ?? []) {
    if (!AGENT_CONDITIONS.includes(c.type ?? '') || (c.status !== 'True' && c.status !== 'False') || conditions.some((r) => r.type === c.type)) continue;
    conditions.push(c);
  }
  const final = isFinalPhase(status?.phase) && phaseFollows(status, spec) ? { final: status! } : {};
  return { stats: record.kept === 'summary' ? [] : stats, conditions, kept: record.kept, ...final };
}

/**
 * The status's stats with the recorded ones over them: a whole record's stat replaces the host's; a
 * compact record's `{hostname, phase}` replaces it only when the phase differs (the rest of it is
 * not recorded); recorded hosts missing from the status are added.
 */
function withRecordedStats(stats: HostRestoreStats[] | undefined, record: SessionRecord): HostRestoreStats[] | undefined {
  if (!record.stats.length) return stats;
  const out = [...(stats ?? [])];
  const at = new Map(out.map((s, i) => [s.hostname, i]));
  for (const r of record.stats) {
    const i = at.get(r.hostname);
    if (i === undefined) {
      at.set(r.hostname, out.length);
      out.push(r);
    } else if (record.kept === 'full' || out[i]!.phase !== r.phase) out[i] = r;
  }
  return out;
}

/**
 * The status corrected from the record: recorded stats and hook conditions replace what the status
 * says of them (an edit, or a status removed), and a final phase that does not follow from the
 * status (a phase set by hand) is taken away with its duration and completion, for the controller to
 * compute again. A record with a final status is that status (a compact one: with the status's
 * stats corrected from the recorded phases).
 */
export function correctedStatus(
  status: RestoreSessionStatus | undefined,
  record: SessionRecord,
  spec: Pick<RestoreSession['spec'], 'hooks'>,
): RestoreSessionStatus {
  if (record.final) {
    if (record.kept === 'full') return record.final;
    const stats = withRecordedStats(status?.stats, record);
    return { ...record.final, ...(stats ? { stats } : {}) };
  }
  const out: RestoreSessionStatus = { ...status };
  const stats = withRecordedStats(out.stats, record);
  if (stats) out.stats = stats;
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
