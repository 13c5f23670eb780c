// Server-side printing: the meta.k8s.io/v1 Table that `kubectl get` asks for, with the columns a
// real server prints for built-in kinds and a CRD's additionalPrinterColumns for custom resources.
import type { PrinterColumn } from 'restore-controller/api/crds';
import type { ResourceType } from './resources.ts';
import type { Obj } from './store.ts';

interface Column {
  name: string;
  type: string;
  format?: string;
  priority?: number;
  description?: string;
  cell: (o: Obj) => unknown;
}

/** Kubernetes' HumanDuration: 45s, 5m10s, 3h, 2d5h, 400d. */
export function humanDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 === 0 ? `${m}m` : `${m}m${s % 60}s`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 8) return m % 60 === 0 ? `${h}h` : `${h}h${m % 60}m`;
  if (h < 48) return `${h}h`;
  const d = Math.floor(h / 24);
  if (h < 24 * 8) return h % 24 === 0 ? `${d}d` : `${d}d${h % 24}h`;
  if (d < 365 * 2) return `${d}d`;
  return `${Math.floor(d / 365)}y`;
}

function age(ts: unknown): string {
  if (typeof ts !== 'string') return '<unknown>';
  return humanDuration(Date.now() - Date.parse(ts));
}

const NAME: Column = { name: 'Name', type: 'string', format: 'name', description: 'Name must be unique within a namespace.', cell: (o) => o.metadata.name };
const AGE: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o) => age(o.metadata.creationTimestamp),
};

function podStatusReason(p: Obj): string {
  if (p.metadata.deletionTimestamp) return 'Terminating';
  const st = p.status ?? {};
  let reason: string = st.reason ?? st.phase ?? 'Pending';
  const inits: any[] = st.initContainerStatuses ?? [];
  for (let i = 0; i < inits.length; i++) {
    const c = inits[i];
    if (c.state?.terminated?.exitCode === 0) continue;
    if (c.state?.terminated) return c.state.terminated.reason ? `Init:${c.state.terminated.reason}` : `Init:ExitCode:${c.state.terminated.exitCode}`;
    if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') return `Init:${c.state.waiting.reason}`;
    return `Init:${i}/${(p.spec?.initContainers ?? []).length}`;
  }
  for (const c of st.containerStatuses ?? []) {
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
  }
  return reason;
}

function jsonPathValue(o: Obj, path: string): unknown {
  let cur: any = o;
  for (const seg of path
    .replace(/^\./, '')
    .split('.')
    .filter((s) => s !== '')) {
    const m = /^([^[]*)\[(\d+)\]$/.exec(seg);
    if (m) cur = cur?.[m[1]!]?.[Number(m[2])];
    else cur = cur?.[seg];
  }
  return cur;
}

function builtinColumns(r: ResourceType): Column[] {
  switch (`${r.group}/${r.plural}`) {
    case '/pods':
      return [
        NAME,
        {
          name: 'Ready',
          type: 'string',
          cell: (o) => `${(o.status?.containerStatuses ?? []).filter((c: any) => c.ready).length}/${(o.spec?.containers ?? []).length}`,
        },
        { name: 'Status', type: 'string', cell: podStatusReason },
        {
          name: 'Restarts',
          type: 'string',
          cell: (o) =>
            String(
              (o.status?.containerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0) +
                (o.status?.initContainerStatuses ?? []).reduce((n: number, c: any) => n + (c.restartCount ?? 0), 0),
            ),
        },
        AGE,
        { name: 'IP', type: 'string', priority: 1, cell: (o) => o.status?.podIP ?? '<none>' },
        { name: 'Node', type: 'string', priority: 1, cell: (o) => o.spec?.nodeName ?? '<none>' },
      ];
    case '/namespaces':
      return [NAME, { name: 'Status', type: 'string', cell: (o) => o.status?.phase ?? '' }, AGE];
    case '/nodes':
      return [
        NAME,
        { name: 'Status', type: 'string', cell: () => 'Ready' },
        { name: 'Roles', type: 'string', cell: () => '<none>' },
        AGE,
        { name: 'Version', type: 'string', cell: (o) => o.status?.nodeInfo?.kubeletVersion ?? '' },
      ];
    case '/persistentvolumeclaims':
      return [
        NAME,
        { name: 'Status', type: 'string', cell: (o) => o.status?.phase ?? '' },
        { name: 'Volume', type: 'string', cell: (o) => o.spec?.volumeName ?? '' },
        { name: 'Capacity', type: 'string', cell: (o) => o.status?.capacity?.storage ?? '' },
        {
          name: 'Access Modes',
          type: 'string',
          cell: (o) =>
            (o.status?.accessModes ?? [])
              .map(
                (m: string) =>
                  (({ ReadWriteOnce: 'RWO', ReadOnlyMany: 'ROX', ReadWriteMany: 'RWX', ReadWriteOncePod: 'RWOP' }) as Record<string, string>)[m] ?? m,
              )
              .join(','),
        },
        { name: 'StorageClass', type: 'string', cell: (o) => o.spec?.storageClassName ?? '<unset>' },
        AGE,
      ];
    case 'apps/deployments':
      return [
        NAME,
        { name: 'Ready', type: 'string', cell: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}` },
        { name: 'Up-to-date', type: 'integer', cell: (o) => o.status?.updatedReplicas ?? 0 },
        { name: 'Available', type: 'integer', cell: (o) => o.status?.availableReplicas ?? 0 },
        AGE,
      ];
    case 'apps/statefulsets':
      return [NAME, { name: 'Ready', type: 'string', cell: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}` }, AGE];
    case 'apps/daemonsets':
      return [
        NAME,
        { name: 'Desired', type: 'integer', cell: (o) => o.status?.desiredNumberScheduled ?? 0 },
        { name: 'Current', type: 'integer', cell: (o) => o.status?.currentNumberScheduled ?? 0 },
        { name: 'Ready', type: 'integer', cell: (o) => o.status?.numberReady ?? 0 },
        { name: 'Up-to-date', type: 'integer', cell: (o) => o.status?.updatedNumberScheduled ?? 0 },
        { name: 'Available', type: 'integer', cell: (o) => o.status?.numberAvailable ?? 0 },
        {
          name: 'Node Selector',
          type: 'string',
          cell: (o) =>
            Object.entries(o.spec?.template?.spec?.nodeSelector ?? {})
              .map(([k, v]) => `${k}=${v}`)
              .join(',') || '<none>',
        },
        AGE,
      ];
    case 'batch/jobs':
      return [
        NAME,
        {
          name: 'Status',
          type: 'string',
          cell: (o) => (o.status?.conditions ?? []).find((c: any) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True')?.type ?? 'Running',
        },
        { name: 'Completions', type: 'string', cell: (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}` },
        {
          name: 'Duration',
          type: 'string',
          cell: (o) =>
            o.status?.startTime
              ? humanDuration((o.status.completionTime ? Date.parse(o.status.completionTime) : Date.now()) - Date.parse(o.status.startTime))
              : '',
        },
        AGE,
      ];
    case '/secrets':
      return [
        NAME,
        { name: 'Type', type: 'string', cell: (o) => o.type ?? '' },
        { name: 'Data', type: 'integer', cell: (o) => Object.keys(o.data ?? {}).length },
        AGE,
      ];
    case '/configmaps':
      return [NAME, { name: 'Data', type: 'integer', cell: (o) => Object.keys(o.data ?? {}).length + Object.keys(o.binaryData ?? {}).length }, AGE];
    case '/events':
      return [
        { name: 'Last Seen', type: 'string', cell: (o) => age(o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp) },
        { name: 'Type', type: 'string', cell: (o) => o.type ?? '' },
        { name: 'Reason', type: 'string', cell: (o) => o.reason ?? '' },
        { name: 'Object', type: 'string', cell: (o) => `${String(o.involvedObject?.kind ?? '').toLowerCase()}/${o.involvedObject?.name ?? ''}` },
        { name: 'Message', type: 'string', cell: (o) => o.message ?? '' },
      ];
    case 'coordination.k8s.io/leases':
      return [NAME, { name: 'Holder', type: 'string', cell: (o) => o.spec?.holderIdentity ?? '' }, AGE];
    case 'storage.k8s.io/storageclasses':
      return [NAME, { name: 'Provisioner', type: 'string', cell: (o) => o.provisioner ?? '' }, AGE];
    case 'apiextensions.k8s.io/customresourcedefinitions':
      return [NAME, { name: 'Created At', type: 'date', cell: (o) => o.metadata.creationTimestamp }];
    default:
      return [NAME, AGE];
  }
}

function customColumns(cols: PrinterColumn[]): Column[] {
  return [
    NAME,
    ...cols.map((c) => ({
      name: c.name,
      type: c.type,
      priority: c.priority ?? 0,
      cell: (o: Obj) => {
        const v = jsonPathValue(o, c.jsonPath);
        if (v === undefined || v === null) return null;
        if (c.type === 'date') return age(v);
        return v;
      },
    })),
  ];
}

export function columnsFor(r: ResourceType): Column[] {
  return r.builtin ? builtinColumns(r) : customColumns(r.printerColumns ?? []);
}

function partial(o: Obj): Obj {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

/** A Table of objects; `includeObject` is `None`, `Metadata` (default) or `Object`. */
export function toTable(
  r: ResourceType,
  objects: Obj[],
  includeObject = 'Metadata',
  listMeta: Record<string, unknown> = {},
  withHeaders = true,
): Record<string, unknown> {
  const cols = columnsFor(r);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: withHeaders
      ? cols.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 }))
      : [],
    rows: objects.map((o) => ({
      cells: cols.map((c) => c.cell(o) ?? null),
      object: includeObject === 'None' ? undefined : includeObject === 'Object' ? o : partial(o),
    })),
  };
}

/** Whether an Accept header asks for a Table. */
export function wantsTable(accept: string | undefined): boolean {
  return Boolean(accept && /as=Table/.test(accept));
}
