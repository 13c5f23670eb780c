// HTTP routing for the sandbox API server: discovery, OpenAPI, and the REST paths of every
// resource (collection, object, /status), translating query parameters and content types into
// ApiCore calls and errors into `Status` bodies.
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Logger } from 'restore-controller/common/log';
import type { ApiCore, DeleteOptions, WriteOptions } from './core.ts';
import { apiGroup, apiGroupList, apiResourceList, apiVersions, SERVER_VERSION } from './discovery.ts';
import { ApiError, badRequest, internal, methodNotAllowed, notFoundPath } from './errors.ts';
import { decodeProtobuf } from './protobuf.ts';
import { getScale, hasScale, writeScale } from './scale.ts';
import { openApiV2, openApiV3Index, openApiV3GroupVersion } from './openapi-docs.ts';
import type { ResourceType } from './resources.ts';
import { apiVersionOf, asListItem } from './resources.ts';
import type { Obj } from './store.ts';
import { notAcceptable, partialList, partialObject, wantsMetadata } from './metadata.ts';
import { toTable, wantsTable } from './table.ts';
import type { FieldValidation } from './validation.ts';
import { serveWatch } from './watch.ts';
import { parse as parseYaml } from 'yaml';

/** Test hooks that make the server misbehave the way real ones do. */
export interface Faults {
  /** Answer the next N watch requests with this HTTP status (e.g. 500). */
  failWatches: { count: number; code: number };
}

export interface HttpOptions {
  bookmarkIntervalMs: number;
  /** The log file of a pod's container (pods/log), when the simulator runs. */
  podLogFile?: (pod: Obj, container: string) => string;
  /** One debug line per request (`GET /api/v1/pods`), internal errors at error. */
  log?: Logger;
}

interface Target {
  resource: ResourceType;
  version: string;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

export class ApiHttpServer {
  readonly server: Server;
  readonly faults: Faults = { failWatches: { count: 0, code: 500 } };
  /** Requests served so far (a watch counts once, when it starts), for tests and benches that count them. */
  requestsServed = 0;
  /**
   * Told of each request as `METHOD /path?query`, with the request and its response (a test's tap;
   * one at a time). A promise returned holds the request until it settles, as a slow server would.
   */
  onRequest: ((line: string, req: IncomingMessage, res: ServerResponse) => void | Promise<void>) | undefined;
  private readonly watches = new Set<ServerResponse>();
  private readonly stalled = new WeakSet<ServerResponse>();
  private readonly core: ApiCore;
  private readonly options: HttpOptions;
  private address = '127.0.0.1:0';

  constructor(core: ApiCore, options: HttpOptions) {
    this.core = core;
    this.options = options;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) => this.fail(res, e));
    });
    this.server.keepAliveTimeout = 60_000;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    const a = this.server.address();
    const actual = typeof a === 'object' && a ? a.port : port;
    this.address = `${host}:${actual}`;
    return actual;
  }

  /** Cuts every open watch connection, as a network failure or server restart would. */
  dropWatches(): void {
    for (const res of this.watches) res.socket?.destroy();
    this.watches.clear();
  }

  /** Makes every open watch go silent without closing, like a half-open connection. */
  stallWatches(): void {
    for (const res of this.watches) this.stalled.add(res);
  }

  /** Ends every open watch normally (the server's watch timeout). */
  endWatches(): void {
    for (const res of this.watches) res.end();
    this.watches.clear();
  }

  /**
   * An outage, as an API server restart or failover looks from a client: stops listening and cuts
   * every open connection, so new requests fail with ECONNREFUSED until acceptConnections().
   */
  async refuseConnections(): Promise<void> {
    if (!this.server.listening) return;
    this.options.log?.warn('fault: refusing connections', { address: this.address });
    this.dropWatches();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  /** Ends refuseConnections(): listens again on the same address. */
  async acceptConnections(): Promise<void> {
    if (this.server.listening) return;
    const i = this.address.lastIndexOf(':');
    await this.listen(Number(this.address.slice(i + 1)), this.address.slice(0, i));
    this.options.log?.warn('fault: accepting connections again', { address: this.address });
  }

  async close(): Promise<void> {
    this.dropWatches();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private send(res: ServerResponse, code: number, body: unknown, warnings: string[] = []): void {
    const text = JSON.stringify(body);
    const headers: Record<string, string | string[]> = {
      'Content-Type': 'application/json',
      'Content-Length': String(Buffer.byteLength(text)),
      'Cache-Control': 'no-cache, private',
    };
    if (warnings.length) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    res.writeHead(code, headers);
    res.end(text);
  }

  private fail(res: ServerResponse, e: unknown): void {
    const err = e instanceof ApiError ? e : internal((e as Error)?.message ?? String(e));
    if (!(e instanceof ApiError)) this.options.log?.error('internal error', { error: (e as Error)?.stack ?? String(e) });
    if (res.headersSent) {
      res.end();
      return;
    }
    this.send(res, err.status, err.toStatus());
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const q = url.searchParams;
    const method = req.method ?? 'GET';
    this.options.log?.debug(`${method} ${req.url}`);
    this.requestsServed++;
    await this.onRequest?.(`${method} ${req.url}`, req, res);

    if (method === 'GET') {
      if (path === '/version') return this.send(res, 200, SERVER_VERSION);
      if (path === '/healthz' || path === '/readyz' || path === '/livez') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return void res.end('ok');
      }
      if (path === '/api') return this.send(res, 200, apiVersions(this.address));
      if (path === '/apis') return this.send(res, 200, apiGroupList(this.core.resources));
      if (path === '/openapi/v2') return this.send(res, 200, openApiV2(this.core.resources));
      if (path === '/openapi/v3') return this.send(res, 200, openApiV3Index(this.core.resources));
      if (path.startsWith('/openapi/v3/')) {
        const doc = openApiV3GroupVersion(this.core.resources, path.slice('/openapi/v3/'.length));
        if (doc) return this.send(res, 200, doc);
        throw notFoundPath(path);
      }
    }

    const m = /^\/(?:api\/(v1)|apis\/([^/]+)(?:\/([^/]+))?)(?:\/(.*))?$/.exec(path);
    if (!m) throw notFoundPath(path);
    const group = m[1] ? '' : m[2]!;
    const version = m[1] ?? m[3];
    const rest = (m[4] ?? '')
      .split('/')
      .filter((s) => s !== '')
      .map(decodeURIComponent);
    if (!version) {
      const doc = apiGroup(this.core.resources, group);
      if (!doc || method !== 'GET') throw notFoundPath(path);
      return this.send(res, 200, doc);
    }
    if (rest.length === 0) {
      const doc = apiResourceList(this.core.resources, group, version);
      if (!doc || method !== 'GET') throw notFoundPath(path);
      return this.send(res, 200, doc);
    }
    const target = this.target(group, version, rest, path);
    return this.serveResource(req, res, method, target, q);
  }

  private target(group: string, version: string, rest: string[], path: string): Target {
    const lookup = (plural: string): ResourceType | undefined => this.core.resources.lookup(group, version, plural);
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      const r = lookup(rest[2]!);
      if (r?.namespaced) return { resource: r, version, namespace: rest[1], name: rest[3], subresource: rest[4] };
    }
    const r = lookup(rest[0]!);
    // A namespaced resource is reached without a namespace only as a whole collection (list, watch).
    if (!r || (r.namespaced && rest.length > 1)) throw notFoundPath(path);
    if (rest.length > 3) throw notFoundPath(path);
    return { resource: r, version, namespace: undefined, name: rest[1], subresource: rest[2] };
  }

  private async serveScale(req: IncomingMessage, res: ServerResponse, method: string, t: Target, q: URLSearchParams): Promise<void> {
    const { resource: r, version, namespace: ns, name } = t;
    const opts = this.writeOptions(q, { ...t, subresource: undefined });
    if (method === 'GET') return this.send(res, 200, getScale(this.core, r, ns, name!));
    if (method === 'PUT') return this.send(res, 200, writeScale(this.core, r, version, ns, name!, { scale: (await this.jsonBody(req)) as Obj }, opts));
    if (method === 'PATCH')
      return this.send(
        res,
        200,
        writeScale(this.core, r, version, ns, name!, { patch: { contentType: req.headers['content-type'] ?? '', raw: await this.body(req) } }, opts),
      );
    throw methodNotAllowed();
  }

  /** pods/{name}/log: a container's output (real for agent containers, empty for simulated ones). */
  private serveLog(_req: IncomingMessage, res: ServerResponse, t: Target, q: URLSearchParams): void {
    const pod = this.core.get(t.resource, t.namespace, t.name!);
    const all = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c: { name: string }) => c.name);
    const container = q.get('container') ?? (pod.spec?.containers?.length === 1 ? pod.spec.containers[0].name : undefined);
    if (!container)
      throw badRequest(
        `a container name must be specified for pod ${t.name}, choose one of: [${(pod.spec?.containers ?? []).map((c: { name: string }) => c.name).join(' ')}]`,
      );
    if (!all.includes(container)) throw badRequest(`container ${container} is not valid for pod ${t.name}`);
    const file = this.options.podLogFile?.(pod, container);
    const read = (from: number): Buffer => {
      if (!file || !existsSync(file)) return Buffer.alloc(0);
      const buf = readFileSync(file);
      return buf.subarray(from);
    };
    let text = read(0);
    const tail = q.get('tailLines');
    if (tail)
      text = Buffer.from(
        text
          .toString('utf8')
          .split('\n')
          .filter((l, i, a) => i < a.length - 1 || l !== '')
          .slice(-Number(tail))
          .map((l) => `${l}\n`)
          .join(''),
      );
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    res.write(text);
    if (q.get('follow') !== 'true') return void res.end();
    let offset = read(0).length;
    const timer = setInterval(() => {
      const more = read(offset);
      offset += more.length;
      if (more.length) res.write(more);
      const live = this.core.tryGet(t.resource, t.namespace, t.name!);
      if (!live || live.metadata.uid !== pod.metadata.uid || live.status?.phase === 'Succeeded' || live.status?.phase === 'Failed') {
        clearInterval(timer);
        res.end();
      }
    }, 200);
    res.on('close', () => clearInterval(timer));
  }

  private async rawBody(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private async body(req: IncomingMessage): Promise<string> {
    return (await this.rawBody(req)).toString('utf8');
  }

  private async jsonBody(req: IncomingMessage): Promise<any> {
    const type = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim();
    if (type === 'application/vnd.kubernetes.protobuf') {
      const raw = await this.rawBody(req);
      return raw.length ? decodeProtobuf(raw) : undefined;
    }
    const text = await this.body(req);
    if (!text.trim()) return undefined;
    if (type.includes('protobuf') || type.includes('cbor'))
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got ${type})`,
      );
    try {
      return type.includes('yaml') ? parseYaml(text) : JSON.parse(text);
    } catch (e) {
      throw badRequest(`error decoding request body: ${(e as Error).message}`);
    }
  }

  private writeOptions(q: URLSearchParams, t: Target): WriteOptions {
    const fv = q.get('fieldValidation');
    if (fv && !['Strict', 'Warn', 'Ignore'].includes(fv)) throw badRequest(`fieldValidation must be one of Ignore, Warn or Strict; got ${JSON.stringify(fv)}`);
    const dry = q.getAll('dryRun');
    if (dry.some((d) => d !== 'All')) throw badRequest(`dryRun: Unsupported value: ${JSON.stringify(dry[0])}: supported values: "All"`);
    return {
      dryRun: dry.includes('All'),
      ...(q.get('fieldManager') ? { fieldManager: q.get('fieldManager')! } : {}),
      ...(fv ? { fieldValidation: fv as FieldValidation } : {}),
      ...(t.subresource ? { subresource: t.subresource } : {}),
      force: q.get('force') === 'true',
    };
  }

  private async serveResource(req: IncomingMessage, res: ServerResponse, method: string, t: Target, q: URLSearchParams): Promise<void> {
    const { resource: r, version, namespace: ns, name } = t;
    if (t.subresource === 'log' && r.plural === 'pods' && !r.group && method === 'GET') return this.serveLog(req, res, t, q);
    if (t.subresource === 'scale' && hasScale(r)) return this.serveScale(req, res, method, t, q);
    if (t.subresource && t.subresource !== 'status') throw notFoundPath(req.url ?? '');
    const accept = req.headers.accept;
    const isWatch = q.get('watch') === 'true' || q.get('watch') === '1';
    // A watch or a GET of one object takes PartialObjectMetadata, a list PartialObjectMetadataList.
    const metadata = method === 'GET' ? wantsMetadata(accept) : undefined;
    if (metadata && metadata !== (name === undefined && !isWatch ? 'list' : 'object')) throw notAcceptable();

    if (method === 'GET' && (name === undefined || isWatch)) {
      if (isWatch) {
        if (this.faults.failWatches.count > 0) {
          this.faults.failWatches.count--;
          throw new ApiError(this.faults.failWatches.code, 'InternalError', 'Internal error occurred: injected watch failure');
        }
        return serveWatch(
          this.core,
          res,
          {
            resource: r,
            version,
            namespace: ns,
            ...(name !== undefined ? { name } : {}),
            ...(q.has('resourceVersion') ? { resourceVersion: q.get('resourceVersion')! } : {}),
            ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector')! } : {}),
            ...(q.get('fieldSelector') ? { fieldSelector: q.get('fieldSelector')! } : {}),
            allowBookmarks: q.get('allowWatchBookmarks') === 'true',
            sendInitialEvents: q.get('sendInitialEvents') === 'true',
            ...(q.get('timeoutSeconds') ? { timeoutSeconds: Number(q.get('timeoutSeconds')) } : {}),
            table: wantsTable(accept),
            metadataOnly: metadata === 'object',
            ...(q.get('includeObject') ? { includeObject: q.get('includeObject')! } : {}),
          },
          { bookmarkIntervalMs: this.options.bookmarkIntervalMs, stalled: (w) => this.stalled.has(w) },
          this.watches,
        );
      }
      if (r.namespaced && ns) this.core.get(this.core.mustResource('', 'namespaces'), undefined, ns);
      const limit = q.get('limit') ? Number(q.get('limit')) : undefined;
      const list = this.core.list(r, ns, {
        ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector')! } : {}),
        ...(q.get('fieldSelector') ? { fieldSelector: q.get('fieldSelector')! } : {}),
        ...(limit ? { limit } : {}),
        ...(q.get('continue') ? { continue: q.get('continue')! } : {}),
      });
      const listMeta = {
        resourceVersion: list.resourceVersion,
        ...(list.continue ? { continue: list.continue, remainingItemCount: list.remainingItemCount } : {}),
      };
      const items = list.items.map((o) => this.core.present(r, o, version));
      if (metadata === 'list') return this.send(res, 200, partialList(items, listMeta));
      if (wantsTable(accept)) return this.send(res, 200, toTable(r, items, q.get('includeObject') ?? 'Metadata', listMeta));
      return this.send(res, 200, {
        kind: r.listKind,
        apiVersion: apiVersionOf(r.group, version),
        metadata: listMeta,
        items: items.map((o) => asListItem(r, o)),
      });
    }
    if (method === 'GET') {
      const obj = this.core.present(r, this.core.get(r, ns, name!), version);
      if (metadata === 'object') return this.send(res, 200, partialObject(obj));
      if (wantsTable(accept))
        return this.send(res, 200, toTable(r, [obj], q.get('includeObject') ?? 'Metadata', { resourceVersion: obj.metadata.resourceVersion }));
      return this.send(res, 200, obj);
    }
    if (method === 'POST' && name === undefined) {
      const body = (await this.jsonBody(req)) as Obj;
      const out = this.core.create(r, version, ns, body, this.writeOptions(q, t));
      return this.send(res, 201, out.object, out.warnings);
    }
    if (method === 'PUT' && name !== undefined) {
      const body = (await this.jsonBody(req)) as Obj;
      const out = this.core.update(r, version, ns, name, body, this.writeOptions(q, t));
      return this.send(res, 200, out.object, out.warnings);
    }
    if (method === 'PATCH' && name !== undefined) {
      const raw = await this.body(req);
      const out = this.core.patch(r, version, ns, name, req.headers['content-type'] ?? '', raw, this.writeOptions(q, t));
      return this.send(res, out.created ? 201 : 200, out.object, out.warnings);
    }
    if (method === 'DELETE') {
      const body = ((await this.jsonBody(req)) ?? {}) as Record<string, any>;
      const opts: DeleteOptions = {
        dryRun: q.getAll('dryRun').includes('All') || (body.dryRun ?? []).includes('All'),
        ...(body.preconditions ? { preconditions: body.preconditions } : {}),
      };
      const grace = q.get('gracePeriodSeconds') ?? body.gracePeriodSeconds;
      if (grace !== undefined && grace !== null) opts.gracePeriodSeconds = Number(grace);
      const policy = q.get('propagationPolicy') ?? body.propagationPolicy ?? (body.orphanDependents === true ? 'Orphan' : undefined);
      if (policy) opts.propagationPolicy = policy;
      if (name === undefined) {
        const deleted = this.core.deleteCollection(
          r,
          ns,
          {
            ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector')! } : {}),
            ...(q.get('fieldSelector') ? { fieldSelector: q.get('fieldSelector')! } : {}),
          },
          opts,
        );
        return this.send(res, 200, { kind: r.listKind, apiVersion: apiVersionOf(r.group, version), metadata: {}, items: deleted.map((o) => asListItem(r, o)) });
      }
      const obj = this.core.delete(r, ns, name, opts);
      return this.send(res, 200, this.core.present(r, obj, version));
    }
    throw methodNotAllowed();
  }
}
