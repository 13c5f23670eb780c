// Host stats in a session's status (SPEC: `stats[]` upserted by hostname), pure.
import type { HostRestoreStats, RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { recordedHostStat } from './record.ts';

export function hostStat(status: RestoreSessionStatus | undefined, host: string): HostRestoreStats | undefined {
  return status?.stats?.find((s) => s.hostname === host);
}

/**
 * The host's final stat as its agent wrote it: the status's, else the session's record (a stat
 * edited or removed by hand, record.ts), or undefined while it has none.
 */
export function finishedHostStat(session: Pick<RestoreSession, 'metadata' | 'status'>, host: string): HostRestoreStats | undefined {
  for (const stat of [recordedHostStat(session, host), hostStat(session.status, host)]) {
    if (stat?.phase === 'Succeeded' || stat?.phase === 'Failed') return stat;
  }
  return undefined;
}

/** True when the host already finished (Succeeded or Failed), in its status or its record: a restarted pod must not restore again. */
export function hostFinished(session: Pick<RestoreSession, 'metadata' | 'status'>, host: string): boolean {
  return finishedHostStat(session, host) !== undefined;
}

/** The status with `stat` upserted by hostname (fields of the new stat replace the old ones). */
export function withHostStat(status: RestoreSessionStatus | undefined, stat: HostRestoreStats): RestoreSessionStatus {
  const stats = [...(status?.stats ?? [])];
  const i = stats.findIndex((s) => s.hostname === stat.hostname);
  if (i >= 0) stats[i] = stat;
  else stats.push(stat);
  return { ...status, stats };
}
