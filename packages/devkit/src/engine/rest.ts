// A small JSON client for the real API server, as one identity of a kubeconfig (a node's client
// certificate, or admin): requests, and list+watch loops that relist on 410 or a dropped stream.
// @kubernetes/client-node loads the kubeconfig and supplies the TLS options; the requests are
// plain node:https, so every status code and watch event is seen as the server sent it.
import { request } from 'node:https';
import type { RequestOptions } from 'node:https';
import * as k8s from '@kubernetes/client-node';

export type Obj = Record<string, any> & { metadata: Record<string, any> };

export class ApiError extends Error {
  readonly status: number;
  readonly body: any;
  constructor(method: string, path: string, status: number, body: any) {
    super(`${method} ${path}: ${status} ${typeof body === 'object' && body?.message ? body.message : String(body).slice(0, 300)}`);
    this.status = status;
    this.body = body;
  }
}

export interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: Obj;
}

export class Rest {
  readonly kc: k8s.KubeConfig;
  readonly server: URL;
  private tls: RequestOptions | undefined;

  constructor(kubeconfigPath: string) {
    this.kc = new k8s.KubeConfig();
    this.kc.loadFromFile(kubeconfigPath);
    this.server = new URL(this.kc.getCurrentCluster()!.server);
  }

  private async options(): Promise<RequestOptions> {
    if (!this.tls) {
      const o: RequestOptions = {};
      await this.kc.applyToHTTPSOptions(o);
      this.tls = o;
    }
    return this.tls;
  }

  /** The cluster CA (PEM), as a pod's ca.crt holds it. */
  caPem(): string {
    const c = this.kc.getCurrentCluster()!;
    return c.caData ? Buffer.from(c.caData, 'base64').toString('utf8') : '';
  }

  async req<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json', timeoutMs = 30_000): Promise<T> {
    const tls = await this.options();
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return await new Promise<T>((resolve, reject) => {
      const r = request(
        {
          ...tls,
          method,
          hostname: this.server.hostname,
          port: this.server.port,
          path,
          headers: { accept: 'application/json', ...(data ? { 'content-type': contentType, 'content-length': data.length } : {}) },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: any = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // not JSON
            }
            if ((res.statusCode ?? 0) >= 300) reject(new ApiError(method, path, res.statusCode ?? 0, parsed));
            else resolve(parsed as T);
          });
          res.on('error', reject);
        },
      );
      r.on('timeout', () => r.destroy(new Error(`${method} ${path}: timed out after ${timeoutMs} ms`)));
      r.on('error', reject);
      r.end(data);
    });
  }

  get<T = Obj>(path: string): Promise<T> {
    return this.req<T>('GET', path);
  }

  /** GET, or undefined on 404. */
  async tryGet<T = Obj>(path: string): Promise<T | undefined> {
    try {
      return await this.req<T>('GET', path);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  post<T = Obj>(path: string, body: unknown): Promise<T> {
    return this.req<T>('POST', path, body);
  }

  put<T = Obj>(path: string, body: unknown): Promise<T> {
    return this.req<T>('PUT', path, body);
  }

  /** A strategic merge patch (merge patch for custom resources: `merge: true`). */
  patch<T = Obj>(path: string, body: unknown, merge = false): Promise<T> {
    return this.req<T>('PATCH', path, body, merge ? 'application/merge-patch+json' : 'application/strategic-merge-patch+json');
  }

  async delete(path: string): Promise<void> {
    try {
      await this.req('DELETE', path);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
  }

  /**
   * Keeps `onEvent` fed with every object of a collection: a list (each object as ADDED, then
   * `onSynced`), then a watch from its resourceVersion; on 410, an error or a closed stream, lists
   * again. Runs until the returned function is called.
   */
  informer(
    collectionPath: string,
    query: Record<string, string>,
    onEvent: (e: WatchEvent) => void,
    onError: (e: Error) => void,
    onSynced?: (objects: Obj[]) => void,
  ): () => void {
    let stopped = false;
    let current: { destroy(): void } | undefined;
    const qs = (extra: Record<string, string>): string => new URLSearchParams({ ...query, ...extra }).toString();
    const loop = async (): Promise<void> => {
      while (!stopped) {
        try {
          const list = await this.get<{ items: Obj[]; metadata: { resourceVersion: string } }>(`${collectionPath}?${qs({})}`);
          if (stopped) return;
          for (const o of list.items) onEvent({ type: 'ADDED', object: o });
          onSynced?.(list.items);
          let rv = list.metadata.resourceVersion;
          for (;;) {
            const next = await this.watchOnce(
              `${collectionPath}?${qs({ watch: '1', resourceVersion: rv, allowWatchBookmarks: 'true', timeoutSeconds: '300' })}`,
              (e) => {
                if (e.object?.metadata?.resourceVersion) rv = e.object.metadata.resourceVersion;
                if (e.type !== 'BOOKMARK') onEvent(e);
              },
              (h) => (current = h),
            );
            if (stopped) return;
            if (next === 'expired') break;
          }
        } catch (e) {
          if (stopped) return;
          onError(e as Error);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    };
    void loop();
    return () => {
      stopped = true;
      current?.destroy();
    };
  }

  /** One watch request; 'expired' on a 410 ERROR event, 'closed' when the stream ends. */
  private async watchOnce(path: string, onEvent: (e: WatchEvent) => void, setHandle: (h: { destroy(): void }) => void): Promise<'expired' | 'closed'> {
    const tls = await this.options();
    return await new Promise((resolve, reject) => {
      const r = request(
        { ...tls, method: 'GET', hostname: this.server.hostname, port: this.server.port, path, headers: { accept: 'application/json' } },
        (res) => {
          if ((res.statusCode ?? 0) === 410) return resolve('expired');
          if ((res.statusCode ?? 0) >= 300) {
            res.resume();
            return reject(new Error(`watch ${path}: ${res.statusCode}`));
          }
          let buf = '';
          let expired = false;
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (!line) continue;
              const e = JSON.parse(line) as WatchEvent;
              if (e.type === 'ERROR') {
                expired = true;
                r.destroy();
                return;
              }
              onEvent(e);
            }
          });
          res.on('end', () => resolve(expired ? 'expired' : 'closed'));
          res.on('close', () => resolve(expired ? 'expired' : 'closed'));
          res.on('error', () => resolve(expired ? 'expired' : 'closed'));
        },
      );
      setHandle(r);
      r.on('error', (e) => (expired(r) ? resolve('closed') : reject(e)));
      r.end();
    });
    function expired(r: { destroyed: boolean }): boolean {
      return r.destroyed;
    }
  }
}
