// HTTP for smart-HTTP git: isomorphic-git's node client behind kept-alive agents, one retry of
// read-only requests, and the two requests of the protocol: GET info/refs (the ref advertisement)
// and a POST to a service. Failures are explained by the remote (GitRemote.explain).
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import http from 'isomorphic-git/http/node';
import type { HttpClient } from 'isomorphic-git';
import { parseAdvertisement } from '../wire/advertisement.ts';
import type { Advertisement, Service } from '../wire/advertisement.ts';

// Node's global agent closes idle sockets after 5 s, and simple-get (under isomorphic-git's client)
// then aborts with "Request timed out": too short for a remote that indexes a large pushed pack.
const agents = {
  http: new HttpAgent({ keepAlive: true, timeout: 600_000 }),
  https: new HttpsAgent({ keepAlive: true, timeout: 600_000 }),
};

/**
 * isomorphic-git's node client, with one retry of read-only requests (ref advertisements and
 * upload-pack) whose kept-alive connection the server had already closed (ECONNRESET, EPIPE).
 */
export const retryingHttp: HttpClient = {
  async request(input) {
    const req = { ...input, agent: input.url.startsWith('https:') ? agents.https : agents.http };
    const readOnly = (req.method ?? 'GET') === 'GET' || /git-upload-pack$/.test(req.url);
    if (!readOnly) return http.request(req);
    let body = req.body;
    if (body && !Array.isArray(body)) {
      const chunks: Uint8Array[] = [];
      for await (const c of body as AsyncIterable<Uint8Array>) chunks.push(c);
      body = chunks as unknown as typeof req.body;
    }
    try {
      return await http.request({ ...req, body });
    } catch (e) {
      if (!/ECONNRESET|EPIPE|socket hang up/.test(String((e as Error)?.message ?? e))) throw e;
      return http.request({ ...req, body });
    }
  },
};

async function collect(body: AsyncIterable<Uint8Array> | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  if (body) for await (const c of body) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** What a request needs of the remote (GitRemote has it): its URL, headers, client and how to explain a failure. */
export interface RemoteEndpoint {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly http: HttpClient;
  explain(e: unknown, what: string): Error;
}

/** What `GitRemote.explain` reads from a non-200 answer. */
export interface HttpStatusFailure {
  code: 'HttpError';
  message: string;
  data: { statusCode: number; statusMessage: string };
}

async function request(remote: RemoteEndpoint, what: string, req: Parameters<HttpClient['request']>[0]): Promise<Buffer> {
  let res: Awaited<ReturnType<HttpClient['request']>>;
  try {
    res = await remote.http.request(req);
  } catch (e) {
    throw remote.explain(e, what);
  }
  const body = await collect(res.body);
  if (res.statusCode !== 200) {
    const failure: HttpStatusFailure = {
      code: 'HttpError',
      message: `HTTP ${res.statusCode}`,
      data: { statusCode: res.statusCode, statusMessage: res.statusMessage },
    };
    throw remote.explain(failure, what);
  }
  return body;
}

const base = (remote: RemoteEndpoint) => remote.url.replace(/\/$/, '');

/** GET info/refs?service=…: the remote's refs and capabilities. `what` says why, for errors. */
export async function advertise(remote: RemoteEndpoint, service: Service, what: string): Promise<Advertisement> {
  const body = await request(remote, what, {
    url: `${base(remote)}/info/refs?service=${service}`,
    method: 'GET',
    headers: { ...remote.headers, Accept: `application/x-${service}-advertisement` },
  });
  return parseAdvertisement(body);
}

/** A POST to the service with `body`; returns the response bytes (HTTP errors explained). */
export function post(remote: RemoteEndpoint, service: Service, body: Buffer, what: string): Promise<Buffer> {
  return request(remote, what, {
    url: `${base(remote)}/${service}`,
    method: 'POST',
    headers: {
      ...remote.headers,
      'Content-Type': `application/x-${service}-request`,
      Accept: `application/x-${service}-result`,
      'Content-Length': String(body.length),
    },
    body: [body] as unknown as AsyncIterableIterator<Uint8Array>,
  });
}
