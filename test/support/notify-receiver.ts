// A local receiver for notifications that checks each request against the API its provider
// documents, answering as that API does (201 with the status, 4xx naming what is wrong):
// - GitHub  POST /repos/{owner}/{repo}/statuses/{sha}  (docs.github.com, "Create a commit status")
// - GitLab  POST /api/v4/projects/{id}/statuses/{sha}   (docs.gitlab.com, "Set the pipeline status of a commit")
// - Gitea   POST /api/v1/repos/{owner}/{repo}/statuses/{sha} (Gitea API, CreateStatusOption)
// - a Slack-compatible incoming webhook: POST JSON with a non-empty `text`.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Provider = 'github' | 'gitlab' | 'gitea' | 'webhook';

export interface ReceivedRequest {
  provider: Provider;
  method: string;
  /** The URL as sent (percent-encoding kept). */
  rawUrl: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** Path parameters: repo (owner/name, or GitLab's decoded project path) and sha. */
  repo?: string;
  sha?: string;
}

const SHA = '([0-9a-f]{40})';
const SEGMENT = '([^/?#]+)';
const ROUTES: { provider: Exclude<Provider, 'webhook'>; path: RegExp }[] = [
  { provider: 'github', path: new RegExp(`^/github/repos/${SEGMENT}/${SEGMENT}/statuses/${SHA}$`) },
  { provider: 'gitlab', path: new RegExp(`^/gitlab/api/v4/projects/${SEGMENT}/statuses/${SHA}$`) },
  { provider: 'gitea', path: new RegExp(`^/gitea/api/v1/repos/${SEGMENT}/${SEGMENT}/statuses/${SHA}$`) },
];
const STATES: Record<Exclude<Provider, 'webhook'>, string[]> = {
  github: ['error', 'failure', 'pending', 'success'],
  gitlab: ['pending', 'running', 'success', 'failed', 'canceled', 'skipped'],
  gitea: ['pending', 'success', 'error', 'failure', 'warning'],
};

/** What is wrong with a request, by its provider's documentation ([] when nothing is). */
export function problemsOf(r: Omit<ReceivedRequest, 'repo' | 'sha'>, token: string): string[] {
  const p: string[] = [];
  const h = r.headers;
  if (r.method !== 'POST') p.push(`method ${r.method}, not POST`);
  if (!String(h['content-type'] ?? '').startsWith('application/json')) p.push(`Content-Type ${h['content-type']}, not application/json`);
  const str = (k: string) => r.body[k] === undefined || r.body[k] === null || typeof r.body[k] === 'string';
  if (r.provider === 'webhook') {
    if (typeof r.body.text !== 'string' || !r.body.text) p.push('no "text"');
    return p;
  }
  if (!STATES[r.provider].includes(String(r.body.state))) p.push(`state "${r.body.state}" is not one of ${STATES[r.provider].join(', ')}`);
  for (const k of ['description', 'target_url', r.provider === 'gitlab' ? 'name' : 'context']) if (!str(k)) p.push(`"${k}" is not a string`);
  if (r.provider === 'github') {
    if (!h['user-agent']) p.push('no User-Agent (GitHub refuses requests without one)');
    if (h.authorization !== `Bearer ${token}` && h.authorization !== `token ${token}`) p.push('Authorization is not "Bearer <token>"');
    if (typeof r.body.description === 'string' && [...r.body.description].length > 140) p.push('description longer than 140 characters');
  } else if (r.provider === 'gitea') {
    if (h.authorization !== `token ${token}` && h.authorization !== `Bearer ${token}`) p.push('Authorization is not "token <token>"');
  } else if (h['private-token'] !== token && h.authorization !== `Bearer ${token}`) p.push('no PRIVATE-TOKEN header with the token');
  const known =
    r.provider === 'gitlab'
      ? ['state', 'name', 'context', 'description', 'target_url', 'ref', 'pipeline_id', 'coverage']
      : ['state', 'context', 'description', 'target_url'];
  for (const k of Object.keys(r.body)) if (!known.includes(k)) p.push(`unknown field "${k}"`);
  return p;
}

export interface NotifyReceiver {
  /** Base URLs: `${url}/github`, `${url}/gitlab/api/v4`, `${url}/gitea/api/v1`, `${url}/hook/<anything>`. */
  url: string;
  accepted: ReceivedRequest[];
  /** Requests refused, with why: a test expects none. */
  rejected: { request: Omit<ReceivedRequest, 'repo' | 'sha'>; problems: string[] }[];
  /** Answers the next `n` requests with 503 (a receiver that is down for a moment). */
  failNext(n: number): void;
  close(): Promise<void>;
}

export async function startNotifyReceiver(token: string): Promise<NotifyReceiver> {
  const accepted: ReceivedRequest[] = [];
  const rejected: NotifyReceiver['rejected'] = [];
  let failing = 0;
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (d) => (data += d));
    req.on('end', () => {
      if (failing > 0) {
        failing--;
        res.writeHead(503).end('unavailable');
        return;
      }
      const rawUrl = req.url ?? '';
      const route = ROUTES.map((r) => ({ provider: r.provider, m: r.path.exec(rawUrl) })).find((r) => r.m);
      const provider: Provider | undefined = route?.provider ?? (rawUrl.startsWith('/hook/') ? 'webhook' : undefined);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(data);
      } catch {
        /* reported below */
      }
      const request = { provider: provider ?? 'webhook', method: req.method ?? '', rawUrl, headers: req.headers, body };
      const problems = provider ? problemsOf(request, token) : [`no such route: ${rawUrl}`];
      if (typeof body !== 'object' || body === null) problems.push('body is not a JSON object');
      if (problems.length) {
        rejected.push({ request, problems });
        res.writeHead(provider ? 422 : 404, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: problems.join('; ') }));
        return;
      }
      const m = route?.m;
      const repo = !m ? undefined : route!.provider === 'gitlab' ? decodeURIComponent(m[1]!) : `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
      const sha = m?.[route!.provider === 'gitlab' ? 2 : 3];
      accepted.push({ ...request, ...(repo ? { repo } : {}), ...(sha ? { sha } : {}) });
      if (provider === 'webhook') res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      else res.writeHead(201, { 'Content-Type': 'application/json' }).end(JSON.stringify({ id: accepted.length, ...body }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    rejected,
    failNext: (n) => (failing = n),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
