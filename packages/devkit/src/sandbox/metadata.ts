// Metadata-only answers, as a real API server gives them to client-go's metadata client: an
// Accept header `application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1` for an object or
// a watch, `as=PartialObjectMetadataList` for a list. The object's data (a Secret's `data`) never
// leaves the server; only `metadata` does, under kind PartialObjectMetadata.
import { ApiError } from './errors.ts';
import type { Obj } from './store.ts';

export type MetadataForm = 'object' | 'list';

/**
 * The metadata form an Accept header asks for, or undefined for whole objects. A media range
 * that names `as=PartialObjectMetadata…` with another group or version is not acceptable (406).
 */
export function wantsMetadata(accept: string | undefined): MetadataForm | undefined {
  if (!accept) return undefined;
  for (const range of accept.split(',')) {
    const [type, ...params] = range.split(';').map((p) => p.trim());
    const p = Object.fromEntries(params.map((kv) => kv.split('=').map((s) => s.trim()) as [string, string]));
    if (p['as'] !== 'PartialObjectMetadata' && p['as'] !== 'PartialObjectMetadataList') continue;
    if (type !== 'application/json' || p['g'] !== 'meta.k8s.io' || (p['v'] !== 'v1' && p['v'] !== 'v1beta1')) continue;
    return p['as'] === 'PartialObjectMetadata' ? 'object' : 'list';
  }
  return undefined;
}

/** 406, as a real server answers a list asked for as one object's metadata, or the other way round. */
export function notAcceptable(): ApiError {
  return new ApiError(
    406,
    'NotAcceptable',
    'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf',
  );
}

export function partialObject(o: Obj, version: 'v1' = 'v1'): Obj {
  return { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${version}`, metadata: o.metadata } as Obj;
}

export function partialList(items: Obj[], listMeta: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items: items.map((o) => partialObject(o)) };
}
