// Metadata-only reads (client-go's metadata client): a list or watch answered as
// PartialObjectMetadata, so the controller can know that a Secret exists without its data ever
// crossing the wire or sitting in its memory. client-node 1.4 has no metadata client: the list is
// one request through the kubeconfig's authentication (so the rate limit and connection pool
// apply), the watch is client-node's Watch with the Accept header added.
import * as k8s from '@kubernetes/client-node';
import type { KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';

export const METADATA_LIST_ACCEPT = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';
export const METADATA_ACCEPT = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';

/** GET one object's metadata (PartialObjectMetadata); a 404 throws as the typed clients do. */
export async function getMetadata(kc: k8s.KubeConfig, path: string): Promise<KubernetesObject> {
  return (await metadataRequest(kc, path, METADATA_ACCEPT, {})) as KubernetesObject;
}

/** LIST `path` as PartialObjectMetadataList: every item is `{kind: PartialObjectMetadata, metadata}`. */
export async function listMetadata(kc: k8s.KubeConfig, path: string, query: MetadataQuery = {}): Promise<KubernetesListObject<KubernetesObject>> {
  return (await metadataRequest(kc, path, METADATA_LIST_ACCEPT, query)) as KubernetesListObject<KubernetesObject>;
}

/** A list's selector and page (the names client-node's list calls take). */
interface MetadataQuery {
  labelSelector?: string;
  limit?: number;
  _continue?: string;
}

async function metadataRequest(kc: k8s.KubeConfig, path: string, accept: string, query: MetadataQuery): Promise<unknown> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('the kubeconfig has no current cluster');
  const url = new URL(server.replace(/\/+$/, '') + path);
  if (query.labelSelector) url.searchParams.set('labelSelector', query.labelSelector);
  if (query.limit) url.searchParams.set('limit', String(query.limit));
  if (query._continue) url.searchParams.set('continue', query._continue);
  const ctx = new k8s.RequestContext(url.toString(), k8s.HttpMethod.GET);
  ctx.setHeaderParam('Accept', accept);
  await kc.applySecurityAuthentication(ctx);
  const res = await new k8s.IsomorphicFetchHttpLibrary().send(ctx).toPromise();
  const body = await res.body.text();
  // The same exception as the typed clients throw, so apiErrorInfo, isNotFound… read it alike.
  if (res.httpStatusCode >= 400) throw new k8s.ApiException(res.httpStatusCode, `GET ${path} (metadata)`, body, res.headers);
  return JSON.parse(body) as unknown;
}

/** client-node's Watch, asking for PartialObjectMetadata events. */
export function metadataWatch(kc: k8s.KubeConfig): k8s.Watch {
  const view = Object.create(kc) as k8s.KubeConfig;
  const apply = kc.applyToFetchOptions;
  view.applyToFetchOptions = async (opts) => {
    const init = await apply.call(kc, opts);
    (init.headers as unknown as Headers).set('Accept', METADATA_ACCEPT);
    return init;
  };
  return new k8s.Watch(view);
}
