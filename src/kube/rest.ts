// A small client for the Kubernetes REST API over node:http(s): JSON in, JSON out, one keep-alive
// connection pool, the credentials of a kubeconfig or a pod's service account (rest-config.ts).
// It exists for the restore agent, which makes a handful of calls (read its session, Repository
// and Secret, write status, events, a Lease) and starts in every restore: loading
// @kubernetes/client-node costs it more than those calls (≈ 800 modules, 0.4–0.6 s of CPU before
// the first request; issue 16). The daemon and the controller, which watch, stay on client-node.
//
// Failures look like client-node's to the rest of the program: an HTTP answer other than 2xx is
// an ApiStatusError whose status, reason and message apiErrorInfo reads (src/kube/api-error.ts);
// a socket error is Node's own (ECONNREFUSED…), a request that takes too long a TimeoutError, so
// src/kube/retry.ts classifies them as it does client-node's.
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import type { Agent, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { RestoreError } from '../common/errors.ts';

/** The TLS side of a connection (ignored for an http:// server). */
export interface RestTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  /** false: do not verify the server's certificate (kubeconfig insecure-skip-tls-verify). */
  rejectUnauthorized?: boolean;
  /** The name to verify the certificate against, when not the server's host (tls-server-name). */
  servername?: string;
}

/** Where the API server is and how to authenticate to it. */
export interface RestConnection {
  /** https://host:port, or http:// for a server with no TLS (the sandbox); no trailing slash. */
  server: string;
  tls: RestTls;
  /**
   * The headers that authenticate the next request (Authorization, Impersonate-User). Called per
   * request, so a token file is read again when the kubelet rotates it.
   */
  headers(): Promise<OutgoingHttpHeaders> | OutgoingHttpHeaders;
  /** An agent to send through instead of the client's own keep-alive pool (a proxy's). */
  agent?: Agent;
  /** Where these settings came from, for messages (`kubeconfig /path`, `in-cluster service account`). */
  source: string;
}

export interface ApiStatusErrorData {
  /** The HTTP status code. */
  status: number;
  /** The Status object's reason (`NotFound`, `Conflict`, `AlreadyExists`), when the server sent one. */
  reason?: string;
  method: string;
  path: string;
}

/** The API server answered a request with a status other than 2xx. */
export class ApiStatusError extends RestoreError<'ApiStatus', ApiStatusErrorData> {}

export interface KubeRestOptions {
  /** A request that has not completed in this long fails with a TimeoutError (default 30 s). */
  timeoutMs?: number;
  /** An idle kept-alive connection is closed after this long (default 4 s). */
  idleSocketMs?: number;
}

const JSON_TYPE = 'application/json';
const REUSED = Symbol('reusedSocket');

/** JSON requests to one API server; `close()` frees its idle connections. */
export class KubeRest {
  readonly connection: RestConnection;
  readonly #url: URL;
  readonly #agent: Agent;
  readonly #own: boolean;
  readonly #timeoutMs: number;

  constructor(connection: RestConnection, opts: KubeRestOptions = {}) {
    this.connection = connection;
    this.#url = new URL(connection.server);
    if (this.#url.protocol !== 'https:' && this.#url.protocol !== 'http:')
      throw new TypeError(`API server ${connection.server} (${connection.source}): only http:// and https:// servers are supported`);
    this.#timeoutMs = opts.timeoutMs ?? 30_000;
    this.#own = !connection.agent;
    // Idle sockets close after 4 s, before a Node server's 5 s keep-alive timeout can race a reuse.
    const idle = opts.idleSocketMs ?? 4000;
    this.#agent =
      connection.agent ??
      (this.#url.protocol === 'https:'
        ? new HttpsAgent({ keepAlive: true, timeout: idle, ...connection.tls })
        : new HttpAgent({ keepAlive: true, timeout: idle }));
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  put<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PUT', path, body);
  }

  /** One request; resolves to the parsed JSON answer, or rejects (ApiStatusError, a socket error, TimeoutError). */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const auth = await this.connection.headers();
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: OutgoingHttpHeaders = {
      Accept: JSON_TYPE,
      'User-Agent': 'restorectl',
      ...auth,
      ...(payload ? { 'Content-Type': JSON_TYPE, 'Content-Length': payload.length } : {}),
    };
    const send = this.#url.protocol === 'https:' ? httpsRequest : httpRequest;
    // A kept-alive socket the server closed just as the request went out fails with ECONNRESET:
    // sent again, once, on a new connection (Node's advice). The agent's writes bear a second
    // sending: a status write carries its resourceVersion (a 409 re-reads), a second Lease create
    // is AlreadyExists (then read), an event is at worst recorded twice.
    const attempt = (): Promise<{ status: number; text: string }> =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = send(
          {
            protocol: this.#url.protocol,
            hostname: this.#url.hostname.replace(/^\[(.*)\]$/, '$1'),
            port: this.#url.port || undefined,
            path: this.#url.pathname.replace(/\/$/, '') + path,
            method,
            headers,
            agent: this.#agent,
          },
          (r: IncomingMessage) => {
            const chunks: Buffer[] = [];
            r.on('data', (c: Buffer) => chunks.push(c));
            r.once('error', reject);
            r.once('end', () => resolve({ status: r.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          },
        );
        req.setTimeout(this.#timeoutMs, () => {
          const e = new Error(`${method} ${path}: no answer from ${this.connection.server} within ${this.#timeoutMs} ms`);
          e.name = 'TimeoutError';
          req.destroy(e);
        });
        req.once('error', (e: NodeJS.ErrnoException) => reject(Object.assign(e, { [REUSED]: req.reusedSocket })));
        req.end(payload);
      });
    const res = await attempt().catch((e: NodeJS.ErrnoException & { [REUSED]?: boolean }) => {
      if (e[REUSED] && e.code === 'ECONNRESET') return attempt();
      throw e;
    });
    if (res.status >= 200 && res.status < 300) return (res.text ? JSON.parse(res.text) : undefined) as T;
    throw statusError(method, path, res.status, res.text);
  }

  /** Frees the idle keep-alive connections (they never hold the process open: Node unrefs them). */
  close(): void {
    if (this.#own) this.#agent.destroy();
  }
}

function statusError(method: string, path: string, status: number, text: string): ApiStatusError {
  let reason: string | undefined;
  let message: string | undefined;
  try {
    const s = JSON.parse(text) as { kind?: string; reason?: string; message?: string };
    reason = s.reason || undefined;
    message = s.message || undefined;
  } catch {
    // not a Status object (a proxy's page): the status line says enough
  }
  return new ApiStatusError('ApiStatus', message ?? `${method} ${path}: HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`, {
    status,
    ...(reason ? { reason } : {}),
    method,
    path,
  });
}

/** A path segment, escaped. */
export const seg = (s: string): string => encodeURIComponent(s);
