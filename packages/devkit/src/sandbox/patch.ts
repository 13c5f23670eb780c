// The three patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and Kubernetes
// strategic merge patch for built-in kinds, whose lists of named things merge by key.
import { ApiError, badRequest } from './errors.ts';

type Json = any;

function isObject(v: unknown): v is Record<string, Json> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

function unescapeSegment(seg: string): string {
  return seg.replace(/~1/g, '/').replace(/~0/g, '~');
}

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw badRequest(`invalid JSON pointer "${path}"`);
  return path.slice(1).split('/').map(unescapeSegment);
}

function parentOf(doc: Json, segs: string[], path: string): [Json, string] {
  let cur = doc;
  for (const s of segs.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(s)] : cur?.[s];
    if (cur === undefined || cur === null || typeof cur !== 'object') throw patchError(`doc is missing path: "${path}"`);
  }
  return [cur, segs[segs.length - 1]!];
}

function patchError(message: string): ApiError {
  return new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: ${message}`);
}

function getAt(doc: Json, path: string): Json {
  let cur = doc;
  for (const s of pointer(path)) {
    cur = Array.isArray(cur) ? cur[Number(s)] : cur?.[s];
    if (cur === undefined) throw patchError(`doc is missing path: "${path}"`);
  }
  return cur;
}

function removeAt(doc: Json, path: string): Json {
  const segs = pointer(path);
  const [parent, last] = parentOf(doc, segs, path);
  if (Array.isArray(parent)) {
    const i = Number(last);
    if (!(i >= 0 && i < parent.length)) throw patchError(`unable to remove nonexistent key: ${last}: missing value`);
    return parent.splice(i, 1)[0];
  }
  if (!(last in parent)) throw patchError(`unable to remove nonexistent key: ${last}: missing value`);
  const v = parent[last];
  delete parent[last];
  return v;
}

function addAt(doc: Json, path: string, value: Json, replace: boolean): Json {
  const segs = pointer(path);
  if (segs.length === 0) return value;
  const [parent, last] = parentOf(doc, segs, path);
  if (Array.isArray(parent)) {
    const i = last === '-' ? parent.length : Number(last);
    if (!(i >= 0 && i <= parent.length)) throw patchError(`index out of bounds: ${last}`);
    if (replace) {
      if (i >= parent.length) throw patchError(`index out of bounds: ${last}`);
      parent[i] = value;
    } else parent.splice(i, 0, value);
  } else {
    if (replace && !(last in parent)) throw patchError(`replace operation does not apply: doc is missing key: ${path}: missing value`);
    parent[last] = value;
  }
  return doc;
}

export function jsonPatch(target: Json, ops: Json): Json {
  if (!Array.isArray(ops)) throw badRequest('a JSON patch must be a list of operations');
  let doc = structuredClone(target);
  for (const op of ops) {
    switch (op.op) {
      case 'add':
        doc = addAt(doc, op.path, structuredClone(op.value), false);
        break;
      case 'replace':
        doc = addAt(doc, op.path, structuredClone(op.value), true);
        break;
      case 'remove':
        removeAt(doc, op.path);
        break;
      case 'move': {
        const v = removeAt(doc, op.from);
        doc = addAt(doc, op.path, v, false);
        break;
      }
      case 'copy':
        doc = addAt(doc, op.path, structuredClone(getAt(doc, op.from)), false);
        break;
      case 'test':
        if (JSON.stringify(getAt(doc, op.path)) !== JSON.stringify(op.value)) throw patchError(`testing value ${op.path} failed`);
        break;
      default:
        throw badRequest(`unexpected JSON patch operation "${op.op}"`);
    }
  }
  return doc;
}

/** Merge keys of the built-in kinds' lists, by field name (the patchMergeKey tags in k8s.io/api). */
export const MERGE_KEYS: Record<string, string> = {
  containers: 'name',
  initContainers: 'name',
  ephemeralContainers: 'name',
  volumes: 'name',
  env: 'name',
  volumeMounts: 'mountPath',
  volumeDevices: 'devicePath',
  ports: 'containerPort',
  imagePullSecrets: 'name',
  ownerReferences: 'uid',
  conditions: 'type',
  hostAliases: 'ip',
  topologySpreadConstraints: 'topologyKey',
};

/** Lists of scalars that strategic merge treats as sets (patchStrategy:merge). */
const MERGED_SCALAR_LISTS = new Set(['finalizers']);

export function strategicMerge(target: Json, patch: Json, field = ''): Json {
  if (!isObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _, ...rest } = patch;
    return structuredClone(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const out: Record<string, Json> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$setElementOrder/') || k === '$retainKeys') continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const name = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(out[name])) out[name] = out[name].filter((x: Json) => !(v as Json[]).includes(x));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (Array.isArray(v)) out[k] = mergeList(out[k], v, k);
    else {
      const merged = strategicMerge(out[k], v, k);
      if (merged === undefined) delete out[k];
      else out[k] = merged;
    }
  }
  void field;
  return out;
}

function mergeList(target: Json, patch: Json[], field: string): Json[] {
  const key = MERGE_KEYS[field];
  const base: Json[] = Array.isArray(target) ? [...target] : [];
  if (MERGED_SCALAR_LISTS.has(field)) {
    for (const x of patch) if (!base.includes(x)) base.push(x);
    return base;
  }
  if (!key || !patch.every(isObject)) {
    return patch.filter((x) => !(isObject(x) && x.$patch)).map((x) => structuredClone(x));
  }
  if (patch.some((x) => x.$patch === 'replace')) return patch.filter((x) => x.$patch !== 'replace').map((x) => structuredClone(x));
  for (const item of patch) {
    const i = base.findIndex((b) => isObject(b) && b[key] === item[key]);
    if (item.$patch === 'delete') {
      if (i >= 0) base.splice(i, 1);
      continue;
    }
    if (i >= 0) base[i] = strategicMerge(base[i], item, field);
    else base.push(strategicMerge({}, item, field));
  }
  return base;
}
