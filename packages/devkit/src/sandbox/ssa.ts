// Server-side apply and field ownership (metadata.managedFields), simplified but faithful to what
// clients see: an applier owns the fields of its last applied config; fields it stops applying are
// removed unless another manager owns them; applying a field another manager set to a different
// value is a 409 conflict unless `force`.
import { ApiError } from './errors.ts';
import { MERGE_KEYS, strategicMerge } from './patch.ts';
import type { Obj } from './store.ts';

const SEP = '\u0000';

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function keySeg(key: string, item: Record<string, any>): string {
  return `k:${JSON.stringify({ [key]: item[key] })}`;
}

function collect(value: unknown, prefix: string[], field: string, out: Set<string>): void {
  if (isObject(value) && Object.keys(value).length > 0) {
    for (const [k, v] of Object.entries(value)) collect(v, [...prefix, `f:${k}`], k, out);
    return;
  }
  const key = MERGE_KEYS[field];
  if (Array.isArray(value) && key && value.length > 0 && value.every((x) => isObject(x) && x[key] !== undefined)) {
    for (const item of value) {
      const at = [...prefix, keySeg(key, item)];
      out.add([...at, '.'].join(SEP));
      for (const [k, v] of Object.entries(item)) collect(v, [...at, `f:${k}`], k, out);
    }
    return;
  }
  out.add(prefix.join(SEP));
}

/** The fields an object sets, as paths (metadata limited to labels, annotations, finalizers, ownerReferences). */
export function fieldSet(obj: Obj, includeStatus = false): Set<string> {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'status' && !includeStatus) continue;
    if (k === 'metadata') {
      for (const mk of ['labels', 'annotations', 'finalizers', 'ownerReferences']) {
        if (v?.[mk] !== undefined) collect(v[mk], ['f:metadata', `f:${mk}`], mk, out);
      }
      continue;
    }
    collect(v, [`f:${k}`], k, out);
  }
  return out;
}

export function toFieldsV1(set: Set<string>): Record<string, any> {
  const root: Record<string, any> = {};
  for (const p of set) {
    let cur = root;
    for (const seg of p.split(SEP)) cur = cur[seg] ??= {};
  }
  return root;
}

export function fromFieldsV1(tree: Record<string, any> | undefined): Set<string> {
  const out = new Set<string>();
  const walk = (node: Record<string, any>, prefix: string[]): void => {
    const keys = Object.keys(node);
    if (keys.length === 0 && prefix.length) out.add(prefix.join(SEP));
    for (const k of keys) walk(node[k] ?? {}, [...prefix, k]);
  };
  if (tree) walk(tree, []);
  return out;
}

function valueAt(obj: any, path: string): unknown {
  let cur = obj;
  for (const seg of path.split(SEP)) {
    if (seg === '.') return cur;
    if (seg.startsWith('f:')) cur = cur?.[seg.slice(2)];
    else if (seg.startsWith('k:')) {
      const [[k, v]] = Object.entries(JSON.parse(seg.slice(2)) as Record<string, unknown>) as [[string, unknown]];
      cur = Array.isArray(cur) ? cur.find((x) => isObject(x) && x[k] === v) : undefined;
    }
    if (cur === undefined) return undefined;
  }
  return cur;
}

function removePath(obj: any, path: string): void {
  const segs = path.split(SEP);
  const parents: any[] = [];
  let cur = obj;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i]!;
    const last = i === segs.length - 1 || segs[i + 1] === '.';
    if (seg.startsWith('f:')) {
      if (!isObject(cur)) return;
      if (last) {
        delete cur[seg.slice(2)];
        break;
      }
      parents.push([cur, seg.slice(2)]);
      cur = cur[seg.slice(2)];
    } else if (seg.startsWith('k:')) {
      if (!Array.isArray(cur)) return;
      const [[k, v]] = Object.entries(JSON.parse(seg.slice(2)) as Record<string, unknown>) as [[string, unknown]];
      const idx = cur.findIndex((x) => isObject(x) && x[k] === v);
      if (idx < 0) return;
      if (last) {
        cur.splice(idx, 1);
        break;
      }
      cur = cur[idx];
    }
  }
  // Drop maps and lists the removal left empty.
  for (let i = parents.length - 1; i >= 0; i--) {
    const [parent, key] = parents[i] as [any, string];
    const v = parent[key];
    if ((isObject(v) && Object.keys(v).length === 0) || (Array.isArray(v) && v.length === 0)) delete parent[key];
    else break;
  }
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Record<string, any>;
  subresource?: string;
}

function entries(obj: Obj | undefined): ManagedFieldsEntry[] {
  return (obj?.metadata?.managedFields as ManagedFieldsEntry[] | undefined) ?? [];
}

function formatField(path: string): string {
  return path
    .split(SEP)
    .filter((s) => s !== '.')
    .map((s) => (s.startsWith('f:') ? `.${s.slice(2)}` : `[${s.slice(2)}]`))
    .join('');
}

/** Merges an applied config into the live object for `manager`, returning the new object with managedFields. */
export function serverSideApply(live: Obj, applied: Obj, manager: string, force: boolean, apiVersion: string, now: string, subresource?: string): Obj {
  const isStatus = subresource === 'status';
  const newSet = isStatus ? new Set([...fieldSet({ metadata: {}, status: applied.status } as Obj, true)]) : fieldSet(applied);
  const all = entries(live);
  const mine = all.find((e) => e.manager === manager && e.operation === 'Apply' && (e.subresource ?? '') === (subresource ?? ''));
  const prevSet = fromFieldsV1(mine?.fieldsV1);
  const others = all.filter((e) => e !== mine).map((e) => ({ entry: e, set: fromFieldsV1(e.fieldsV1) }));

  const conflicts: string[] = [];
  for (const o of others) {
    for (const p of newSet) {
      if (!o.set.has(p) || p.endsWith('.')) continue;
      if (JSON.stringify(valueAt(live, p)) !== JSON.stringify(valueAt(applied, p))) {
        if (force) o.set.delete(p);
        else conflicts.push(`conflict with "${o.entry.manager}"${o.entry.operation === 'Update' ? ` using ${o.entry.apiVersion}` : ''}: ${formatField(p)}`);
      }
    }
  }
  if (conflicts.length) {
    throw new ApiError(409, 'Conflict', `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? 's' : ''}: ${conflicts.join('\n')}`, {
      causes: conflicts.map((c) => ({ reason: 'FieldManagerConflict', message: c.replace(/: [^:]*$/, ''), field: c.replace(/^.*: /, '') })),
    });
  }

  const { apiVersion: _a, kind: _k, metadata: appliedMeta, ...appliedBody } = applied;
  const patch: Record<string, any> = isStatus ? { status: applied.status } : { ...appliedBody };
  if (!isStatus) {
    const meta: Record<string, any> = {};
    for (const k of ['labels', 'annotations', 'finalizers', 'ownerReferences']) if (appliedMeta?.[k] !== undefined) meta[k] = appliedMeta[k];
    patch.metadata = meta;
  }
  const merged = strategicMerge(live, patch) as Obj;
  const ownedByOthers = new Set(others.flatMap((o) => [...o.set]));
  for (const p of prevSet) if (!newSet.has(p) && !ownedByOthers.has(p)) removePath(merged, p);

  const next: ManagedFieldsEntry[] = others.filter((o) => o.set.size > 0).map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.set) }));
  next.push({
    manager,
    operation: 'Apply',
    apiVersion,
    time: now,
    fieldsType: 'FieldsV1',
    fieldsV1: toFieldsV1(newSet),
    ...(subresource ? { subresource } : {}),
  });
  merged.metadata.managedFields = next;
  return merged;
}

/** Records the fields a non-apply write changed as owned by `manager` (operation Update). */
export function recordUpdate(old: Obj | undefined, updated: Obj, manager: string, apiVersion: string, now: string, subresource?: string): void {
  const isStatus = subresource === 'status';
  const newFields = fieldSet(isStatus ? ({ metadata: {}, status: updated.status } as Obj) : updated, isStatus);
  const changed = new Set<string>();
  for (const p of newFields) {
    if (!old || JSON.stringify(valueAt(old, p)) !== JSON.stringify(valueAt(updated, p))) changed.add(p);
  }
  const all = entries(old).map((e) => ({ entry: e, set: fromFieldsV1(e.fieldsV1) }));
  if (changed.size === 0) {
    updated.metadata.managedFields = entries(old);
    return;
  }
  for (const o of all) for (const p of changed) if (o.entry.manager !== manager || o.entry.operation !== 'Update') o.set.delete(p);
  let mine = all.find((o) => o.entry.manager === manager && o.entry.operation === 'Update' && (o.entry.subresource ?? '') === (subresource ?? ''));
  if (!mine) {
    mine = {
      entry: { manager, operation: 'Update', apiVersion, time: now, fieldsType: 'FieldsV1', fieldsV1: {}, ...(subresource ? { subresource } : {}) },
      set: new Set(),
    };
    all.push(mine);
  }
  for (const p of changed) mine.set.add(p);
  mine.entry = { ...mine.entry, time: now };
  updated.metadata.managedFields = all.filter((o) => o.set.size > 0).map((o) => ({ ...o.entry, fieldsV1: toFieldsV1(o.set) }));
}
