// VolumeSnapshots for the kube-apiserver engine: the `snapshot.storage.k8s.io/v1` CRDs
// (VolumeSnapshotClass, VolumeSnapshot, VolumeSnapshotContent; their names, scopes, short names,
// status subresources and printer columns as the external-snapshotter's, with simplified schemas
// that check the required fields and keep the rest) and a snapshot controller doing the work of the
// snapshot-controller and a CSI snapshotter together, with the admin credentials:
//
// - a VolumeSnapshot of `spec.source.persistentVolumeClaimName`, once the claim is Bound, copies
//   the claim's folder to DIR/snapshots/<namespace>/<name>/ (the embedded layout), gets a
//   VolumeSnapshotContent `snapcontent-<uid>` and status readyToUse, creationTime, restoreSize,
//   boundVolumeSnapshotContentName; until then readyToUse false with an error message;
// - a deleted VolumeSnapshot's folder and content go too.
// Claims with a VolumeSnapshot dataSource are the provisioner's (provisioner.ts).
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ApiError } from './rest.ts';
import type { Obj, Rest } from './rest.ts';

export const SNAPSHOT_DRIVER = 'sandbox.restore.gitops/local-path';

const open = { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };

function crd(
  kind: string,
  plural: string,
  scope: 'Namespaced' | 'Cluster',
  shortNames: string[],
  spec: Record<string, unknown> | undefined,
  columns: Array<{ name: string; jsonPath: string; type?: string }>,
  topLevel: Record<string, unknown> = {},
): Obj {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    // *.k8s.io groups need the approval annotation (the upstream CRDs carry it too).
    metadata: {
      name: `${plural}.snapshot.storage.k8s.io`,
      annotations: {
        'api-approved.kubernetes.io': 'https://github.com/kubernetes-csi/external-snapshotter/pull/814',
        'restore.gitops/simplified-from': 'kubernetes-csi/external-snapshotter client/config/crd',
      },
    },
    spec: {
      group: 'snapshot.storage.k8s.io',
      scope,
      names: { kind, listKind: `${kind}List`, plural, singular: kind.toLowerCase(), shortNames },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          ...(spec ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: [...columns.map((c) => ({ type: 'string', ...c })), { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                ...(spec ? { spec, status: open } : {}),
                ...topLevel,
              },
              ...(spec ? { required: ['spec'] } : {}),
            },
          },
        },
      ],
    },
  };
}

export const SNAPSHOT_CRDS: Obj[] = [
  crd(
    'VolumeSnapshotClass',
    'volumesnapshotclasses',
    'Cluster',
    ['vsclass', 'vsclasses'],
    undefined,
    [
      { name: 'Driver', jsonPath: '.driver' },
      { name: 'DeletionPolicy', jsonPath: '.deletionPolicy' },
    ],
    {
      driver: { type: 'string' },
      deletionPolicy: { type: 'string', enum: ['Delete', 'Retain'] },
      parameters: { type: 'object', additionalProperties: { type: 'string' } },
    },
  ),
  crd(
    'VolumeSnapshot',
    'volumesnapshots',
    'Namespaced',
    ['vs'],
    {
      type: 'object',
      required: ['source'],
      'x-kubernetes-preserve-unknown-fields': true,
      properties: {
        source: { type: 'object', properties: { persistentVolumeClaimName: { type: 'string' }, volumeSnapshotContentName: { type: 'string' } } },
        volumeSnapshotClassName: { type: 'string' },
      },
    },
    [
      { name: 'ReadyToUse', jsonPath: '.status.readyToUse', type: 'boolean' },
      { name: 'SourcePVC', jsonPath: '.spec.source.persistentVolumeClaimName' },
      { name: 'RestoreSize', jsonPath: '.status.restoreSize' },
      { name: 'SnapshotContent', jsonPath: '.status.boundVolumeSnapshotContentName' },
    ],
  ),
  crd(
    'VolumeSnapshotContent',
    'volumesnapshotcontents',
    'Cluster',
    ['vsc', 'vscs'],
    {
      type: 'object',
      required: ['deletionPolicy', 'driver', 'source', 'volumeSnapshotRef'],
      'x-kubernetes-preserve-unknown-fields': true,
      properties: { deletionPolicy: { type: 'string', enum: ['Delete', 'Retain'] }, driver: { type: 'string' }, source: open, volumeSnapshotRef: open },
    },
    [
      { name: 'ReadyToUse', jsonPath: '.status.readyToUse', type: 'boolean' },
      { name: 'DeletionPolicy', jsonPath: '.spec.deletionPolicy' },
      { name: 'Driver', jsonPath: '.spec.driver' },
      { name: 'VolumeSnapshot', jsonPath: '.spec.volumeSnapshotRef.name' },
    ],
  ),
];

const now = (): string => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

export interface SnapshotControllerOptions {
  rest: Rest;
  volumes: string;
  snapshots: string;
  onError?: (message: string) => void;
}

export class SnapshotController {
  private readonly o: SnapshotControllerOptions;
  private readonly stops: Array<() => void> = [];
  private readonly busy = new Set<string>();
  private retry: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, Obj>();

  constructor(options: SnapshotControllerOptions) {
    this.o = options;
  }

  static async installCrds(rest: Rest): Promise<void> {
    for (const c of SNAPSHOT_CRDS) {
      try {
        await rest.post('/apis/apiextensions.k8s.io/v1/customresourcedefinitions', c);
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 409)) throw e;
      }
    }
    for (const c of SNAPSHOT_CRDS) {
      for (let i = 0; ; i++) {
        const got = await rest.get(`/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${c.metadata.name}`);
        if (got.status?.conditions?.some((x: any) => x.type === 'Established' && x.status === 'True')) break;
        if (i > 100) throw new Error(`CRD ${c.metadata.name} not Established`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // The discovery of the new group can lag its Established condition.
    for (let i = 0; i < 50; i++) {
      if (await rest.tryGet('/apis/snapshot.storage.k8s.io/v1/volumesnapshots').catch(() => undefined)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  private error(m: string): void {
    this.o.onError?.(`snapshot controller: ${m}`);
  }

  async start(): Promise<void> {
    await new Promise<void>((done) =>
      this.stops.push(
        this.o.rest.informer(
          '/apis/snapshot.storage.k8s.io/v1/volumesnapshots',
          {},
          (e) => {
            const vs = e.object;
            const key = `${vs.metadata.namespace}/${vs.metadata.name}`;
            if (e.type === 'DELETED') {
              this.pending.delete(key);
              void this.release(vs);
              return;
            }
            if (vs.status?.readyToUse === true) {
              this.pending.delete(key);
              return;
            }
            this.pending.set(key, vs);
            void this.reconcile(vs);
          },
          (err) => this.error(`watch volumesnapshots: ${err.message}`),
          () => done(),
        ),
      ),
    );
    // Claims are not watched: snapshots waiting for their claim are looked at again every second.
    this.retry = setInterval(() => {
      for (const vs of this.pending.values()) void this.reconcile(vs);
    }, 1000);
    this.retry.unref();
  }

  stop(): void {
    if (this.retry) clearInterval(this.retry);
    for (const s of this.stops.splice(0)) s();
  }

  private async reconcile(vs: Obj): Promise<void> {
    const ns = vs.metadata.namespace as string;
    const name = vs.metadata.name as string;
    const key = `${ns}/${name}`;
    if (this.busy.has(key) || vs.metadata.deletionTimestamp) return;
    this.busy.add(key);
    try {
      const statusPath = `/apis/snapshot.storage.k8s.io/v1/namespaces/${ns}/volumesnapshots/${name}/status`;
      const claim = vs.spec?.source?.persistentVolumeClaimName as string | undefined;
      const pvc = claim ? await this.o.rest.tryGet(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${claim}`) : undefined;
      if (pvc?.status?.phase !== 'Bound') {
        const message = claim ? `persistentvolumeclaim "${claim}" is not bound` : 'only snapshots of a persistentVolumeClaimName are supported';
        if (vs.status?.error?.message !== message) {
          await this.o.rest.patch(statusPath, { status: { readyToUse: false, error: { time: now(), message } } }, true);
        }
        return;
      }
      const pv = await this.o.rest.tryGet(`/api/v1/persistentvolumes/${pvc.spec.volumeName}`);
      const from = pv?.spec?.hostPath?.path ?? pv?.spec?.local?.path ?? join(this.o.volumes, ns, claim!);
      const to = join(this.o.snapshots, ns, name);
      rmSync(to, { recursive: true, force: true });
      mkdirSync(join(to, '..'), { recursive: true });
      if (existsSync(from)) cpSync(from, to, { recursive: true });
      else mkdirSync(to);
      const content = `snapcontent-${vs.metadata.uid}`;
      const size = pvc.status?.capacity?.storage ?? '1Gi';
      await this.o.rest
        .post('/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents', {
          apiVersion: 'snapshot.storage.k8s.io/v1',
          kind: 'VolumeSnapshotContent',
          metadata: { name: content },
          spec: {
            deletionPolicy: 'Delete',
            driver: SNAPSHOT_DRIVER,
            source: { volumeHandle: pvc.spec.volumeName },
            volumeSnapshotRef: { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', namespace: ns, name, uid: vs.metadata.uid },
            ...(vs.spec?.volumeSnapshotClassName ? { volumeSnapshotClassName: vs.spec.volumeSnapshotClassName } : {}),
          },
        })
        .catch((e: unknown) => {
          if (!(e instanceof ApiError && e.status === 409)) throw e;
        });
      await this.o.rest
        .patch(
          `/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/${content}/status`,
          { status: { readyToUse: true, snapshotHandle: to, creationTime: Date.now() * 1_000_000, restoreSize: 0 } },
          true,
        )
        .catch(() => undefined);
      await this.o.rest.patch(
        statusPath,
        { status: { readyToUse: true, creationTime: now(), restoreSize: size, boundVolumeSnapshotContentName: content, error: null } },
        true,
      );
    } catch (e) {
      this.error(`${key}: ${(e as Error).message}`);
    } finally {
      this.busy.delete(key);
    }
  }

  private async release(vs: Obj): Promise<void> {
    rmSync(join(this.o.snapshots, vs.metadata.namespace, vs.metadata.name), { recursive: true, force: true });
    const content = vs.status?.boundVolumeSnapshotContentName ?? `snapcontent-${vs.metadata.uid}`;
    await this.o.rest
      .delete(`/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents/${content}`)
      .catch((e: Error) => this.error(`delete ${content}: ${e.message}`));
  }
}
