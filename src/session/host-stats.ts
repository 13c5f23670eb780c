// Host stats in a session's status (SPEC: `stats[]` upserted by hostname), pure.
import type { HostRestoreStats, RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';

export function hostStat(status: RestoreSessionStatus | undefined, host: string): HostRestoreStats | undefined {
  return status?.stats?.find((s) => s.hostname === host);
}

/** True when the host already finished (Succeeded or Failed): a restarted pod must not restore again. */
export function hostFinished(session: RestoreSession, host: string): boolean {
  const phase = hostStat(session.status, host)?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** The status with `stat` upserted by hostname (fields of the new stat replace the old ones). */
export function withHostStat(status: RestoreSessionStatus | undefined, stat: HostRestoreStats): RestoreSessionStatus {
  const stats = [...(status?.stats ?? [])];
  const i = stats.findIndex((s) => s.hostname === stat.hostname);
  if (i >= 0) stats[i] = stat;
  else stats.push(stat);
  return { ...status, stats };
}
