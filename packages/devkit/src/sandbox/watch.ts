// Watch streams: replay from a resourceVersion (410 Expired when it is older than the kept
// history), then follow live changes, with selector transitions (an object that starts or stops
// matching is ADDED/DELETED), BOOKMARK events when asked, and Table-formatted events for kubectl.
import type { ServerResponse } from 'node:http';
import type { ApiCore } from './core.ts';
import { resourceKey } from './resources.ts';
import type { ResourceType } from './resources.ts';
import { fieldMatcher, labelMatcher } from './selectors.ts';
import type { Obj, StoreEvent } from './store.ts';
import { partialObject } from './metadata.ts';
import { toTable } from './table.ts';

export interface WatchRequest {
  resource: ResourceType;
  version: string;
  namespace: string | undefined;
  name?: string;
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds?: number;
  table: boolean;
  /** Events carry PartialObjectMetadata (metadata only), as `Accept: …;as=PartialObjectMetadata` asks. */
  metadataOnly?: boolean;
  includeObject?: string;
}

export interface WatchOptions {
  /** How often BOOKMARK events go out to watches that asked for them. */
  bookmarkIntervalMs: number;
  /** True for a connection made to go silent (a half-open TCP connection, for tests). */
  stalled?: (res: ServerResponse) => boolean;
}

type WireType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export function serveWatch(core: ApiCore, res: ServerResponse, w: WatchRequest, opts: WatchOptions, open: Set<ServerResponse>): void {
  const key = resourceKey(w.resource);
  const byLabel = labelMatcher(w.labelSelector);
  const byField = fieldMatcher(w.fieldSelector);
  const inScope = (o: Obj): boolean =>
    (!w.resource.namespaced || w.namespace === undefined || o.metadata.namespace === w.namespace) && (w.name === undefined || o.metadata.name === w.name);
  const matches = (o: Obj | undefined): boolean => Boolean(o && inScope(o) && byLabel(o) && byField(o));

  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
  res.flushHeaders();
  let first = true;
  const send = (type: WireType, object: Obj): void => {
    if (opts.stalled?.(res)) return;
    let payload: unknown = type === 'BOOKMARK' || type === 'ERROR' ? object : core.present(w.resource, object, w.version);
    if (w.metadataOnly && type !== 'ERROR') payload = partialObject(payload as Obj);
    if (w.table && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      payload = toTable(w.resource, [payload as Obj], w.includeObject ?? 'Metadata', { resourceVersion: object.metadata.resourceVersion }, first);
      first = false;
    }
    res.write(`${JSON.stringify({ type, object: payload })}\n`);
  };
  const bookmark = (annotations?: Record<string, string>): void => {
    send('BOOKMARK', {
      kind: w.resource.kind,
      apiVersion: core.present(w.resource, { metadata: {} } as Obj, w.version).apiVersion,
      metadata: { resourceVersion: String(core.store.resourceVersion), ...(annotations ? { annotations } : {}) },
    } as Obj);
  };

  const rv = w.resourceVersion;
  if (rv === undefined || rv === '' || rv === '0' || w.sendInitialEvents) {
    for (const o of core.store.list(key, w.resource.namespaced ? w.namespace : undefined)) if (matches(o)) send('ADDED', o);
    if (w.sendInitialEvents && w.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    const since = Number(rv);
    const replay = Number.isFinite(since) ? core.store.eventsSince(since) : undefined;
    if (!replay) {
      const oldest = core.store.oldestResourceVersion;
      send('ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `too old resource version: ${rv} (${oldest})`,
        reason: 'Expired',
        code: 410,
      } as unknown as Obj);
      res.end();
      return;
    }
    for (const e of replay) deliver(e);
  }

  function deliver(e: StoreEvent): void {
    if (e.resource !== key) return;
    const now = matches(e.object);
    const before = e.previous ? matches(e.previous) : false;
    if (e.type === 'ADDED' && now) send('ADDED', e.object);
    else if (e.type === 'MODIFIED') {
      if (now && before) send('MODIFIED', e.object);
      else if (now) send('ADDED', e.object);
      else if (before) send('DELETED', e.object);
    } else if (e.type === 'DELETED' && (before || now)) send('DELETED', e.object);
  }

  core.store.on('event', deliver);
  open.add(res);
  const timers: NodeJS.Timeout[] = [];
  if (w.allowBookmarks) timers.push(setInterval(() => bookmark(), opts.bookmarkIntervalMs));
  if (w.timeoutSeconds && w.timeoutSeconds > 0) timers.push(setTimeout(() => res.end(), w.timeoutSeconds * 1000));
  const cleanup = (): void => {
    core.store.off('event', deliver);
    open.delete(res);
    for (const t of timers) clearTimeout(t);
  };
  res.on('close', cleanup);
  res.on('finish', cleanup);
}
