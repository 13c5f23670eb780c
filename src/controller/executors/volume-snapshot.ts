// The VolumeSnapshotter executor: one PVC per template and ordinal with the VolumeSnapshot as
// its dataSource; the host (named by the PVC) succeeds when the PVC is bound.
import type { HostRestoreStats } from '../../api/restoresession.ts';
import { hostStat } from '../../session/host-stats.ts';
import { SESSION_LABEL, claimFromTemplate } from '../claims.ts';
import { CONDITION, REASON } from '../../session/conditions.ts';
import type { ExecutorContext, ExecutorState } from './types.ts';

export async function ensureSnapshotClaims(ctx: Omit<ExecutorContext, 'repository'>): Promise<ExecutorState> {
  const { cluster, session } = ctx;
  const ns = session.metadata.namespace!;
  const templates = session.spec.target?.volumeClaimTemplates ?? [];
  const replicas = session.spec.target?.replicas ?? 1;
  const stats: HostRestoreStats[] = [];
  let total = 0;
  for (let i = 0; i < replicas; i++) {
    for (const t of templates) {
      total++;
      const claim = claimFromTemplate(session, t, i);
      const host = claim.metadata.name;
      const done = hostStat(session.status, host)?.phase;
      if (done === 'Succeeded' || done === 'Failed') continue;
      const snapshot = (claim['spec'] as { dataSource?: { name: string } }).dataSource?.name ?? '';
      const existing = await cluster.claim(ns, host);
      if (existing && existing.metadata?.labels?.[SESSION_LABEL] !== session.metadata.name) {
        stats.push({
          hostname: host,
          phase: 'Failed',
          error: `PVC ${host} already exists and was not created by this restore: delete it or choose another name`,
        });
        continue;
      }
      if (!existing) {
        if (!(await cluster.volumeSnapshotExists(ns, snapshot))) {
          stats.push({ hostname: host, phase: 'Failed', error: `VolumeSnapshot ${ns}/${snapshot} does not exist` });
          continue;
        }
        await cluster.createClaim(claim);
        continue;
      }
      if (existing.status?.phase === 'Bound') {
        stats.push({ hostname: host, phase: 'Succeeded', duration: '0s' });
        continue;
      }
      // As Stash: a missing StorageClass fails the host; one that binds on first use cannot be
      // checked from here, so the host is Unknown (the PVC binds when a workload mounts it).
      const className = existing.spec?.storageClassName;
      if (!className) continue;
      const binding = await cluster.storageClassBinding(className);
      if (binding === undefined) stats.push({ hostname: host, phase: 'Failed', error: `failed to restore. Reason: StorageClass ${className} not found.` });
      else if (binding === 'WaitForFirstConsumer')
        stats.push({
          hostname: host,
          phase: 'Unknown',
          error: `Stash is unable to verify whether the volume has been initialized from snapshot data or not. Reason: volume binding mode is WaitForFirstConsumer (StorageClass ${className}): the PVC binds when a pod uses it.`,
        });
    }
  }
  return {
    targetFound: true,
    totalHosts: total,
    stats,
    conditions: [
      {
        type: CONDITION.RestoreExecutorEnsured,
        status: 'True',
        reason: REASON.VolumeSnapshotRestoreEnsured,
        message: `${total} PVC(s) from VolumeSnapshots requested`,
      },
    ],
  };
}
