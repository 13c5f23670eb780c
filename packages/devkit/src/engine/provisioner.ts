// A local-path provisioner for the kube-apiserver engine, working as an external provisioner does
// (sig-storage-lib-external-provisioner): the kube-controller-manager's PV controller binds, we
// only make and remove PersistentVolumes.
//
// - StorageClasses (made at start when missing): `standard`, the default, WaitForFirstConsumer;
//   `immediate`, Immediate. Both provisioner `sandbox.restore.gitops/local-path`, reclaim Delete.
// - A claim of one of our classes with no volume, Immediate or with the scheduler's
//   `volume.kubernetes.io/selected-node`, gets a PV `pvc-<claim uid>`: hostPath
//   DIR/volumes/<namespace>/<claim>/ (the embedded sandbox's layout), claimRef to the claim,
//   capacity and access modes of the claim, node affinity to the selected node when there is one.
// - A claim with a dataSource starts as a copy: of the VolumeSnapshot's folder once it is
//   readyToUse (DIR/snapshots/<namespace>/<name>/, snapshots.ts), or of a Bound claim's (a clone).
// - A Released PV of ours with reclaim policy Delete: its folder is removed (unless another PV
//   uses the same path, a claim of the same name made again) and the PV deleted.
// It acts with the admin credentials (a real provisioner has a ServiceAccount of its own).
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from './rest.ts';
import type { Obj, Rest } from './rest.ts';

export const PROVISIONER = 'sandbox.restore.gitops/local-path';
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';

export const STORAGE_CLASSES = [
  { name: 'standard', mode: 'WaitForFirstConsumer', isDefault: true },
  { name: 'immediate', mode: 'Immediate', isDefault: false },
];

export interface ProvisionerOptions {
  rest: Rest;
  /** DIR/volumes */
  volumes: string;
  /** DIR/snapshots (the snapshot controller's copies, for claims with a VolumeSnapshot dataSource) */
  snapshots: string;
  onError?: (message: string) => void;
}

export class LocalPathProvisioner {
  private readonly o: ProvisionerOptions;
  private readonly classes = new Map<string, Obj>();
  private readonly claims = new Map<string, Obj>();
  private readonly pvs = new Map<string, Obj>();
  private readonly stops: Array<() => void> = [];
  private readonly busy = new Set<string>();
  /** Claims whose dataSource is not ready yet. */
  private readonly waiting = new Set<string>();
  private retry: NodeJS.Timeout | undefined;

  constructor(options: ProvisionerOptions) {
    this.o = options;
  }

  private error(m: string): void {
    this.o.onError?.(`local-path provisioner: ${m}`);
  }

  async start(): Promise<void> {
    for (const sc of STORAGE_CLASSES) {
      try {
        await this.o.rest.post('/apis/storage.k8s.io/v1/storageclasses', {
          apiVersion: 'storage.k8s.io/v1',
          kind: 'StorageClass',
          metadata: { name: sc.name, ...(sc.isDefault ? { annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } } : {}) },
          provisioner: PROVISIONER,
          reclaimPolicy: 'Delete',
          volumeBindingMode: sc.mode,
          allowVolumeExpansion: false,
        });
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 409)) throw e;
      }
    }
    await Promise.all([
      new Promise<void>((done) =>
        this.stops.push(
          this.o.rest.informer(
            '/apis/storage.k8s.io/v1/storageclasses',
            {},
            (e) => {
              if (e.type === 'DELETED') this.classes.delete(e.object.metadata.name);
              else this.classes.set(e.object.metadata.name, e.object);
              for (const c of this.claims.values()) this.kick(c);
            },
            (err) => this.error(`watch storageclasses: ${err.message}`),
            () => done(),
          ),
        ),
      ),
      new Promise<void>((done) =>
        this.stops.push(
          this.o.rest.informer(
            '/api/v1/persistentvolumes',
            {},
            (e) => {
              if (e.type === 'DELETED') this.pvs.delete(e.object.metadata.name);
              else {
                this.pvs.set(e.object.metadata.name, e.object);
                void this.reclaim(e.object);
              }
            },
            (err) => this.error(`watch persistentvolumes: ${err.message}`),
            () => done(),
          ),
        ),
      ),
    ]);
    await new Promise<void>((done) =>
      this.stops.push(
        this.o.rest.informer(
          '/api/v1/persistentvolumeclaims',
          {},
          (e) => {
            const key = `${e.object.metadata.namespace}/${e.object.metadata.name}`;
            if (e.type === 'DELETED') this.claims.delete(key);
            else {
              this.claims.set(key, e.object);
              this.kick(e.object);
            }
          },
          (err) => this.error(`watch persistentvolumeclaims: ${err.message}`),
          () => done(),
        ),
      ),
    );
    this.retry = setInterval(() => {
      for (const key of this.waiting) {
        const c = this.claims.get(key);
        if (c) this.kick(c);
        else this.waiting.delete(key);
      }
    }, 1000);
    this.retry.unref();
  }

  stop(): void {
    if (this.retry) clearInterval(this.retry);
    for (const s of this.stops.splice(0)) s();
  }

  private kick(pvc: Obj): void {
    void this.provision(pvc).catch((e: Error) => this.error(`claim ${pvc.metadata.namespace}/${pvc.metadata.name}: ${e.message}`));
  }

  private async provision(pvc: Obj): Promise<void> {
    if (pvc.spec?.volumeName || pvc.metadata.deletionTimestamp || pvc.status?.phase === 'Bound') return;
    const sc = this.classes.get(pvc.spec?.storageClassName ?? '');
    if (!sc || sc.provisioner !== PROVISIONER) return;
    const node = pvc.metadata.annotations?.[SELECTED_NODE] as string | undefined;
    if (sc.volumeBindingMode === 'WaitForFirstConsumer' && !node) return;
    const name = `pvc-${pvc.metadata.uid}`;
    if (this.pvs.has(name) || this.busy.has(name)) return;
    const source = pvc.spec?.dataSourceRef ?? pvc.spec?.dataSource;
    let from: string | undefined;
    if (source) {
      from = await this.sourceDir(pvc.metadata.namespace, source);
      const key = `${pvc.metadata.namespace}/${pvc.metadata.name}`;
      if (!from) {
        this.waiting.add(key); // looked at again every second
        return;
      }
      this.waiting.delete(key);
    }
    this.busy.add(name);
    try {
      const path = join(this.o.volumes, pvc.metadata.namespace, pvc.metadata.name);
      if (from) {
        rmSync(path, { recursive: true, force: true });
        mkdirSync(join(path, '..'), { recursive: true });
        cpSync(from, path, { recursive: true });
      }
      mkdirSync(path, { recursive: true });
      await this.o.rest
        .post('/api/v1/persistentvolumes', {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER, ...(node ? { [SELECTED_NODE]: node } : {}) } },
          spec: {
            capacity: { storage: pvc.spec?.resources?.requests?.storage ?? '1Gi' },
            accessModes: pvc.spec?.accessModes ?? ['ReadWriteOnce'],
            ...(pvc.spec?.volumeMode ? { volumeMode: pvc.spec.volumeMode } : {}),
            persistentVolumeReclaimPolicy: sc.reclaimPolicy ?? 'Delete',
            storageClassName: sc.metadata.name,
            claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace: pvc.metadata.namespace, name: pvc.metadata.name, uid: pvc.metadata.uid },
            hostPath: { path, type: 'DirectoryOrCreate' },
            ...(node
              ? {
                  nodeAffinity: {
                    required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }] }] },
                  },
                }
              : {}),
          },
        })
        .catch((e: unknown) => {
          if (!(e instanceof ApiError && e.status === 409)) throw e;
        });
    } finally {
      this.busy.delete(name);
    }
  }

  /** The folder a claim's dataSource starts it from, or undefined while it is not ready. */
  private async sourceDir(ns: string, source: { kind?: string; name?: string; apiGroup?: string }): Promise<string | undefined> {
    if (source.kind === 'VolumeSnapshot' && source.apiGroup === 'snapshot.storage.k8s.io') {
      const vs = await this.o.rest.tryGet(`/apis/snapshot.storage.k8s.io/v1/namespaces/${ns}/volumesnapshots/${source.name}`).catch(() => undefined);
      const dir = join(this.o.snapshots, ns, source.name ?? '');
      return vs?.status?.readyToUse === true && existsSync(dir) ? dir : undefined;
    }
    if (source.kind === 'PersistentVolumeClaim' && !source.apiGroup) {
      const claim = this.claims.get(`${ns}/${source.name}`);
      const pv = claim?.status?.phase === 'Bound' ? this.pvs.get(claim.spec.volumeName) : undefined;
      return pv?.spec?.hostPath?.path ?? pv?.spec?.local?.path;
    }
    return undefined;
  }

  private async reclaim(pv: Obj): Promise<void> {
    if (pv.metadata.annotations?.['pv.kubernetes.io/provisioned-by'] !== PROVISIONER) return;
    if (pv.status?.phase !== 'Released' || pv.spec?.persistentVolumeReclaimPolicy !== 'Delete' || pv.metadata.deletionTimestamp) return;
    const path = pv.spec?.hostPath?.path as string | undefined;
    try {
      const shared = [...this.pvs.values()].some((o) => o.metadata.name !== pv.metadata.name && o.spec?.hostPath?.path === path);
      if (path && !shared && path.startsWith(this.o.volumes)) rmSync(path, { recursive: true, force: true });
      await this.o.rest.delete(`/api/v1/persistentvolumes/${pv.metadata.name}`);
    } catch (e) {
      this.error(`reclaim ${pv.metadata.name}: ${(e as Error).message}`);
    }
  }
}
