// One git remote reached over smart HTTP(S) by isomorphic-git: its clean URL, the header carrying
// its credentials, and the translation of transport failures into errors a person can act on.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import http from 'isomorphic-git/http/node';
import type { HttpClient } from 'isomorphic-git';
import { authHeaders, resolveCredentials, scrub, secretValues } from './credentials.ts';
import type { GitCredentials } from './credentials.ts';

export type GitErrorCode =
  | 'GitAuthFailed'
  | 'GitRepositoryNotFound'
  | 'GitUnreachable'
  | 'GitRefNotFound'
  | 'GitSignatureInvalid'
  | 'GitPushRejected'
  | 'GitFailed';

/** A failure talking to or reading from a git remote; `message` never holds a credential. */
export class GitError extends Error {
  readonly code: GitErrorCode;
  /** The remote's URL without credentials. */
  readonly url: string;
  constructor(code: GitErrorCode, url: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GitError';
    this.code = code;
    this.url = url;
  }
}

export interface GitRemoteOptions {
  url: string;
  /** Explicit credentials; else `credentialsDir`, else the environment, else the URL's own. */
  credentials?: GitCredentials;
  credentialsDir?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * isomorphic-git's node client, with one retry of read-only requests (ref advertisements and
 * upload-pack) whose kept-alive connection the server had already closed (ECONNRESET, EPIPE).
 */
// Node's global agent closes idle sockets after 5 s, and simple-get (under isomorphic-git's client)
// then aborts with "Request timed out": too short for a remote that indexes a large pushed pack.
const agents = {
  http: new HttpAgent({ keepAlive: true, timeout: 600_000 }),
  https: new HttpsAgent({ keepAlive: true, timeout: 600_000 }),
};

const retryingHttp: HttpClient = {
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

export class GitRemote {
  /** Without credentials: safe to log, store in config and print. */
  readonly url: string;
  readonly http: HttpClient = retryingHttp;
  readonly headers: Record<string, string>;
  private readonly secrets: string[];

  constructor(opts: GitRemoteOptions) {
    const { url, credentials } = resolveCredentials(opts.url, opts);
    this.url = url;
    this.headers = { ...authHeaders(credentials), 'User-Agent': 'git/isomorphic-git restore-controller' };
    this.secrets = secretValues(credentials);
  }

  get authenticated(): boolean {
    return 'Authorization' in this.headers;
  }

  /** Removes every credential from text (messages of lower layers included). */
  scrub(text: string): string {
    return scrub(text, this.secrets);
  }

  /** Turns an isomorphic-git or network failure during `what` into a GitError that says what to check. */
  explain(e: unknown, what: string, ref?: string): GitError {
    if (e instanceof GitError) return e;
    const err = e as { code?: string; message?: string; data?: { statusCode?: number; statusMessage?: string } };
    const raw = this.scrub(String(err?.message ?? e));
    const status = err?.code === 'HttpError' ? err.data?.statusCode : undefined;
    const at = `${what} ${this.url}`;
    const cause = { cause: e };
    if (status === 401 || status === 403) {
      const check = this.authenticated
        ? 'the credentials were refused: check that the token or password is current and may read (and, for the status branch, write) this repository'
        : 'the remote asks for credentials: set GIT_BEARER_TOKEN, or GIT_USERNAME and GIT_PASSWORD, or pass --git-credentials-dir';
      return new GitError('GitAuthFailed', this.url, `${at}: HTTP ${status}: ${check}`, cause);
    }
    if (status === 404) {
      return new GitError('GitRepositoryNotFound', this.url, `${at}: HTTP 404: no repository at this URL; check the URL (and that the credentials may see a private repository)`, cause);
    }
    if (status !== undefined) {
      return new GitError('GitFailed', this.url, `${at}: HTTP ${status} ${this.scrub(err.data?.statusMessage ?? '')}`.trimEnd(), cause);
    }
    if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|socket hang up/.test(raw)) {
      return new GitError('GitUnreachable', this.url, `${at}: cannot reach the remote (${raw}); check the URL, DNS and network policy`, cause);
    }
    if (err?.code === 'NotFoundError' && /Could not find HEAD/.test(raw)) {
      // isomorphic-git 1.x cannot fetch from a remote that advertises no HEAD.
      return new GitError('GitFailed', this.url, `${at}: the remote advertises no HEAD (its default branch does not exist), which isomorphic-git cannot fetch from; push the default branch or point the remote's HEAD at an existing branch`, cause);
    }
    if (err?.code === 'NotFoundError' && ref) {
      return new GitError('GitRefNotFound', this.url, `${at}: the remote has no ref "${ref}"; check --branch/--ref`, cause);
    }
    return new GitError('GitFailed', this.url, `${at}: ${raw}`, cause);
  }
}
