// Storage: every PersistentVolumeClaim is a folder, DIR/volumes/<namespace>/<name>/. A claim binds
// at once (or, with a WaitForFirstConsumer StorageClass, once a pod using it is scheduled); a claim
// whose dataSource is a VolumeSnapshot starts as a copy of the snapshot, and a VolumeSnapshot is
// a copy of its source claim's folder taken when it becomes ready.
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Obj } from '../store.ts';
import type { SimContext } from './context.ts';

const MANAGER = 'persistentvolume-controller';
export const SELECTED_NODE = 'volume.kubernetes.io/selected-node';

const warned = new Set<string>();

export function volumeDir(ctx: SimContext, ns: string, claim: string): string {
  return join(ctx.dirs.volumes, ns, claim);
}

export function snapshotDir(ctx: SimContext, ns: string, name: string): string {
  return join(ctx.dirs.snapshots, ns, name);
}

function waitsForConsumer(ctx: SimContext, pvc: Obj): boolean {
  const scName = pvc.spec?.storageClassName;
  const sc = scName ? ctx.core.tryGet(ctx.r('storage.k8s.io', 'storageclasses'), undefined, scName) : undefined;
  return sc?.volumeBindingMode === 'WaitForFirstConsumer' && !pvc.metadata.annotations?.[SELECTED_NODE];
}

export function reconcilePvc(ctx: SimContext, ns: string, name: string): void {
  const r = ctx.r('', 'persistentvolumeclaims');
  const pvc = ctx.core.tryGet(r, ns, name);
  if (!pvc) return;
  const dir = volumeDir(ctx, ns, name);
  if (pvc.status?.phase === 'Bound') {
    mkdirSync(dir, { recursive: true });
    return;
  }
  if (waitsForConsumer(ctx, pvc)) return;
  const source = pvc.spec?.dataSourceRef ?? pvc.spec?.dataSource;
  if (source?.kind === 'VolumeSnapshot') {
    const vs = ctx.core.tryGet(ctx.r('snapshot.storage.k8s.io', 'volumesnapshots'), ns, source.name);
    if (vs?.status?.readyToUse !== true) {
      if (!warned.has(pvc.metadata.uid)) {
        warned.add(pvc.metadata.uid);
        ctx.event(pvc, 'Warning', 'ProvisioningFailed', `volumesnapshot "${source.name}" ${vs ? 'is not ready to use' : 'not found'}`, MANAGER);
      }
      return;
    }
    mkdirSync(join(dir, '..'), { recursive: true });
    cpSync(snapshotDir(ctx, ns, source.name), dir, { recursive: true });
  } else if (source?.kind === 'PersistentVolumeClaim') {
    const from = ctx.core.tryGet(r, ns, source.name);
    if (from?.status?.phase !== 'Bound') return;
    mkdirSync(join(dir, '..'), { recursive: true });
    cpSync(volumeDir(ctx, ns, source.name), dir, { recursive: true });
  } else {
    mkdirSync(dir, { recursive: true });
  }
  const pvName = `pvc-${pvc.metadata.uid}`;
  const storage = pvc.spec?.resources?.requests?.storage ?? '1Gi';
  ctx.create(
    ctx.r('', 'persistentvolumes'),
    {
      metadata: { name: pvName, annotations: { 'pv.kubernetes.io/provisioned-by': 'sandbox.restore.gitops' } },
      spec: {
        capacity: { storage },
        accessModes: pvc.spec.accessModes,
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: pvc.spec.storageClassName,
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: ns, name, uid: pvc.metadata.uid },
        hostPath: { path: dir },
      },
    } as Obj,
    MANAGER,
  );
  const { resourceVersion: _rv, ...metadata } = pvc.metadata;
  const bound = ctx.core.update(
    r,
    'v1',
    ns,
    name,
    {
      ...pvc,
      metadata: {
        ...metadata,
        annotations: { ...metadata.annotations, 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes' },
      },
      spec: { ...pvc.spec, volumeName: pvName },
    } as Obj,
    { fieldManager: MANAGER },
  ).object;
  ctx.writeStatus(r, bound, { phase: 'Bound', accessModes: pvc.spec.accessModes, capacity: { storage } }, MANAGER);
  ctx.core.update(
    ctx.r('', 'persistentvolumes'),
    'v1',
    undefined,
    pvName,
    { ...ctx.core.get(ctx.r('', 'persistentvolumes'), undefined, pvName), status: { phase: 'Bound' } } as Obj,
    { subresource: 'status', fieldManager: MANAGER },
  );
}

/** A deleted claim's folder and volume go too (reclaim policy Delete). */
export function releasePvc(ctx: SimContext, pvc: Obj): void {
  rmSync(volumeDir(ctx, pvc.metadata.namespace, pvc.metadata.name), { recursive: true, force: true });
  if (pvc.spec?.volumeName) ctx.delete(ctx.r('', 'persistentvolumes'), '', pvc.spec.volumeName);
}

export function reconcileSnapshot(ctx: SimContext, ns: string, name: string): void {
  const r = ctx.r('snapshot.storage.k8s.io', 'volumesnapshots');
  const vs = ctx.core.tryGet(r, ns, name);
  if (!vs || vs.status?.readyToUse === true) return;
  const claim = vs.spec?.source?.persistentVolumeClaimName;
  const pvc = claim ? ctx.core.tryGet(ctx.r('', 'persistentvolumeclaims'), ns, claim) : undefined;
  if (pvc?.status?.phase !== 'Bound') {
    ctx.writeStatus(
      r,
      vs,
      {
        readyToUse: false,
        error: {
          time: vs.status?.error?.time ?? ctx.now(),
          message: claim ? `persistentvolumeclaim "${claim}" is not bound` : 'only snapshots of a persistentVolumeClaimName are simulated',
        },
      },
      'snapshot-controller',
    );
    return;
  }
  const to = snapshotDir(ctx, ns, name);
  rmSync(to, { recursive: true, force: true });
  mkdirSync(join(to, '..'), { recursive: true });
  const from = volumeDir(ctx, ns, claim);
  if (existsSync(from)) cpSync(from, to, { recursive: true });
  else mkdirSync(to);
  ctx.writeStatus(
    r,
    vs,
    {
      readyToUse: true,
      creationTime: ctx.now(),
      restoreSize: pvc.status?.capacity?.storage ?? '1Gi',
      boundVolumeSnapshotContentName: `snapcontent-${vs.metadata.uid}`,
    },
    'snapshot-controller',
  );
}

export function releaseSnapshot(ctx: SimContext, vs: Obj): void {
  rmSync(snapshotDir(ctx, vs.metadata.namespace, vs.metadata.name), { recursive: true, force: true });
}
