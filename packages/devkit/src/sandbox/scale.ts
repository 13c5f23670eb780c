// The /scale subresource of Deployments and StatefulSets (autoscaling/v1 Scale), which
// `kubectl scale` patches.
import type { ApiCore, WriteOptions } from './core.ts';
import { PATCH_TYPES } from './core.ts';
import { badRequest, conflict, notFoundPath } from './errors.ts';
import { jsonPatch, mergePatch, strategicMerge } from './patch.ts';
import type { ResourceType } from './resources.ts';
import type { Obj } from './store.ts';

export function hasScale(r: ResourceType): boolean {
  return r.group === 'apps' && (r.plural === 'deployments' || r.plural === 'statefulsets');
}

function selectorString(sel: { matchLabels?: Record<string, string> } | undefined): string {
  return Object.entries(sel?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

export function scaleOf(obj: Obj): Obj {
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: obj.spec?.replicas ?? 1 },
    status: { replicas: obj.status?.replicas ?? 0, selector: selectorString(obj.spec?.selector) },
  };
}

export function getScale(core: ApiCore, r: ResourceType, ns: string | undefined, name: string): Obj {
  if (!hasScale(r)) throw notFoundPath(`${r.plural}/${name}/scale`);
  return scaleOf(core.get(r, ns, name));
}

/** Writes `spec.replicas` from a Scale (PUT) or a patch of the Scale (PATCH). */
export function writeScale(
  core: ApiCore,
  r: ResourceType,
  version: string,
  ns: string | undefined,
  name: string,
  body: { scale?: Obj; patch?: { contentType: string; raw: string } },
  opts: WriteOptions,
): Obj {
  if (!hasScale(r)) throw notFoundPath(`${r.plural}/${name}/scale`);
  const obj = core.get(r, ns, name);
  let scale = scaleOf(obj);
  if (body.scale) scale = body.scale;
  else if (body.patch) {
    const type = body.patch.contentType.split(';')[0]!.trim();
    let p: unknown;
    try {
      p = JSON.parse(body.patch.raw);
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    scale = type === PATCH_TYPES.json ? jsonPatch(scale, p) : type === PATCH_TYPES.strategic ? strategicMerge(scale, p) : mergePatch(scale, p);
  }
  const rv = scale.metadata?.resourceVersion;
  if (rv && rv !== obj.metadata.resourceVersion) throw conflict(r, name);
  const replicas = scale.spec?.replicas;
  if (!Number.isInteger(replicas) || replicas < 0) throw badRequest(`spec.replicas must be a non-negative integer; got ${JSON.stringify(replicas)}`);
  const out = core.update(r, version, ns, name, { ...obj, spec: { ...obj.spec, replicas } }, { ...opts, subresource: undefined } as WriteOptions).object;
  return scaleOf(out);
}
