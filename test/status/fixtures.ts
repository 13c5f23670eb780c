// Snapshots for the StatusWriter tests.
import type { RestoreSessionStatus } from '../../src/api/restoresession.ts';
import type { ManagedSession, StatusSnapshot } from '../../src/status/index.ts';

export const SOURCE_COMMIT = '1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d';

export function session(
  name: string,
  phase: RestoreSessionStatus['phase'] | undefined,
  opts: { namespace?: string; done?: number; total?: number; contentId?: string } = {},
): ManagedSession {
  const total = opts.total ?? 5;
  const done = opts.done ?? (phase === 'Succeeded' ? total : 0);
  const contentId = opts.contentId ?? `cid-${name}`;
  const s: ManagedSession = {
    namespace: opts.namespace ?? 'demo',
    name,
    source: { url: 'https://git.example.com/ops/restores.git', branch: 'main', commit: SOURCE_COMMIT, file: `clusters/prod/${name}.yaml` },
    contentId,
    executions: [
      {
        contentId,
        phase: phase ?? 'Accepted',
        acceptedAt: '2026-11-29T03:00:00Z',
        sourceCommit: SOURCE_COMMIT,
        ...(phase && phase !== 'Pending' ? { startedAt: '2026-11-29T03:00:05Z' } : {}),
        ...(phase === 'Succeeded' || phase === 'Failed' ? { finishedAt: '2026-11-29T03:02:46Z' } : {}),
      },
    ],
  };
  if (phase) {
    s.status = {
      phase,
      totalHosts: total,
      ...(phase === 'Succeeded' ? { sessionDuration: '2m41s' } : {}),
      stats: Array.from({ length: done }, (_, i) => ({ hostname: `host-${i}`, phase: 'Succeeded' as const, duration: '30s' })),
    };
  }
  return s;
}

export function snapshot(cluster: string, sessions: ManagedSession[]): StatusSnapshot {
  return { cluster, source: { url: 'https://git.example.com/ops/restores.git', branch: 'main', commit: SOURCE_COMMIT }, sessions };
}
