// A real smart-HTTP git server for tests and the demo: `git http-backend` (the CGI program that
// ships with git) behind a small Node HTTP server on 127.0.0.1. Fetches and pushes cross the real
// protocol, so nothing about git or HTTP is mocked. Optional basic or bearer authentication.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export type GitServerAuth = { username: string; password: string } | { bearerToken: string };

export interface GitHttpServerOptions {
  /** Folder holding the bare repositories (`<root>/<name>.git`). */
  root: string;
  /** When set, every request must carry these credentials, else 401. */
  auth?: GitServerAuth;
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
}

export interface GitRequestRecord {
  method: string;
  /** Path and query, e.g. `/demo.git/info/refs?service=git-upload-pack`. */
  path: string;
  status: number;
  /** `upload-pack` (fetch), `receive-pack` (push) or `other`. */
  service: 'upload-pack' | 'receive-pack' | 'other';
  bytesOut: number;
}

/** A running server. `url(name)` is the clone URL of `<root>/<name>.git`. */
export class GitHttpServer {
  readonly root: string;
  readonly requests: GitRequestRecord[] = [];
  private readonly auth: GitServerAuth | undefined;
  private readonly server: Server;
  private port = 0;

  private constructor(opts: GitHttpServerOptions) {
    this.root = opts.root;
    this.auth = opts.auth;
    this.server = createServer((req, res) => this.handle(req, res));
    // Clients keep connections alive between the steps of a fetch or push; be generous.
    this.server.keepAliveTimeout = 65_000;
  }

  static async start(opts: GitHttpServerOptions): Promise<GitHttpServer> {
    mkdirSync(opts.root, { recursive: true });
    const s = new GitHttpServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
    });
    s.port = (s.server.address() as AddressInfo).port;
    return s;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  url(name: string): string {
    return `${this.baseUrl}/${name}.git`;
  }

  /** Path on disk of the bare repository `name`. */
  repoPath(name: string): string {
    return join(this.root, `${name}.git`);
  }

  /** Creates an empty bare repository `name` (HEAD → `defaultBranch`), returns its URL. */
  createRepo(name: string, defaultBranch = 'main'): string {
    execFileSync('git', ['init', '--quiet', '--bare', `--initial-branch=${defaultBranch}`, this.repoPath(name)], { stdio: 'pipe' });
    return this.url(name);
  }

  /** Runs the git CLI inside the bare repository `name` and returns its stdout. */
  git(name: string, args: string[], input?: string): string {
    const env = {
      ...process.env,
      GIT_AUTHOR_NAME: 'git-server',
      GIT_AUTHOR_EMAIL: 'git-server@localhost',
      GIT_COMMITTER_NAME: 'git-server',
      GIT_COMMITTER_EMAIL: 'git-server@localhost',
    };
    return execFileSync('git', args, { cwd: this.repoPath(name), env, encoding: 'utf8', input: input ?? '', stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** Requests counted by service since `from` (an index into `requests`). */
  countRequests(service: GitRequestRecord['service'], from = 0): number {
    return this.requests.slice(from).filter((r) => r.service === service && r.method === 'POST').length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private authorised(req: IncomingMessage): boolean {
    if (!this.auth) return true;
    const header = req.headers.authorization ?? '';
    if ('bearerToken' in this.auth) return header === `Bearer ${this.auth.bearerToken}`;
    const expected = 'Basic ' + Buffer.from(`${this.auth.username}:${this.auth.password}`).toString('base64');
    return header === expected;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', this.baseUrl);
    const service = /receive-pack/.test(url.pathname + url.search) ? 'receive-pack' : /upload-pack/.test(url.pathname + url.search) ? 'upload-pack' : 'other';
    const record: GitRequestRecord = { method: req.method ?? 'GET', path: url.pathname + url.search, status: 0, service, bytesOut: 0 };
    this.requests.push(record);
    if (!this.authorised(req)) {
      record.status = 401;
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: this.root,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.receivepack',
      GIT_CONFIG_VALUE_0: 'true',
      HOME: this.root,
      REQUEST_METHOD: record.method,
      PATH_INFO: decodeURIComponent(url.pathname),
      QUERY_STRING: url.search.replace(/^\?/, ''),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      REMOTE_USER: this.auth && 'username' in this.auth ? this.auth.username : 'git',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
    };
    if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
    if (req.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(req.headers['content-encoding']);
    if (req.headers['git-protocol']) env.HTTP_GIT_PROTOCOL = String(req.headers['git-protocol']);

    const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    req.pipe(child.stdin);
    child.stdin.on('error', () => {});
    let head = Buffer.alloc(0);
    let headerDone = false;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.on('data', (chunk: Buffer) => {
      if (headerDone) {
        record.bytesOut += chunk.length;
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      let end = head.indexOf('\r\n\r\n');
      let sep = 4;
      if (end < 0) {
        end = head.indexOf('\n\n');
        sep = 2;
      }
      if (end < 0) return;
      headerDone = true;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':');
        if (i < 0) continue;
        const k = line.slice(0, i).trim();
        const v = line.slice(i + 1).trim();
        if (k.toLowerCase() === 'status') status = parseInt(v, 10) || 200;
        else headers[k] = v;
      }
      record.status = status;
      res.writeHead(status, headers);
      const body = head.subarray(end + sep);
      record.bytesOut += body.length;
      if (body.length) res.write(body);
    });
    child.on('close', (code) => {
      if (!headerDone) {
        record.status = 500;
        res.writeHead(500, { 'Content-Type': 'text/plain' });
        res.end(`git http-backend failed (exit ${code}): ${stderr}`);
        return;
      }
      res.end();
    });
  }
}
