// One git remote reached over smart HTTP(S) or SSH (chosen by the URL: ssh://… and user@host:path
// are SSH, src/git/transport/ssh.ts): its clean URL, the header carrying its credentials, the
// redaction of those credentials, the two exchanges of the protocol (the ref advertisement, and one
// request after it: a fetch or a push), and the translation of transport failures into GitErrors
// a person can act on.
import { readFileSync } from 'node:fs';
import type { HttpClient } from 'isomorphic-git';
import { Redactor } from '../../common/redact.ts';
import { GitError } from '../errors.ts';
import type { GitErrorCode } from '../errors.ts';
import { authHeaders, credentialSecrets, resolveCredentials } from './credentials.ts';
import type { GitCredentials } from './credentials.ts';
import { advertise as httpAdvertise, post, retryingHttp } from './http.ts';
import { SshTransport } from './ssh.ts';
import { parseSshUrl } from './url.ts';
import type { Advertisement, Service } from '../wire/advertisement.ts';

export interface GitRemoteOptions {
  url: string;
  /** Explicit credentials; else `credentialsDir`, else the environment, else the URL's own. */
  credentials?: GitCredentials;
  credentialsDir?: string;
  env?: NodeJS.ProcessEnv;
  /** SSH: the deploy key file (--git-ssh-key-file); wins over `identity` of the folder and GIT_SSH_KEY_FILE. */
  sshKeyFile?: string;
  /** SSH: the known_hosts file (--git-ssh-known-hosts-file); wins over `known_hosts` of the folder and GIT_SSH_KNOWN_HOSTS_FILE. */
  knownHostsFile?: string;
}

export class GitRemote {
  /** Without credentials: safe to log, store in config and print. */
  readonly url: string;
  readonly http: HttpClient = retryingHttp;
  readonly headers: Record<string, string>;
  /** Knows this remote's credentials: pass text from lower layers through it before showing it. */
  readonly redactor: Redactor;
  /** `ssh` for ssh:// and scp-like URLs, else `http` (smart HTTP). */
  readonly transport: 'http' | 'ssh';
  private readonly ssh: SshTransport | undefined;

  constructor(opts: GitRemoteOptions) {
    const { url, credentials } = resolveCredentials(opts.url, opts);
    this.url = url;
    this.headers = { ...authHeaders(credentials), 'User-Agent': 'git/isomorphic-git restore-controller' };
    const address = parseSshUrl(url);
    this.transport = address ? 'ssh' : 'http';
    const identityFile = opts.sshKeyFile ?? credentials?.identityFile;
    const knownHostsFile = opts.knownHostsFile ?? credentials?.knownHostsFile;
    // The deploy key's text is known to the redactor, so no line of it can ever be shown.
    const key = identityFile && address ? readQuietly(identityFile) : undefined;
    this.redactor = new Redactor([...credentialSecrets(credentials), key]);
    this.ssh = address
      ? new SshTransport({
          address,
          url,
          ...(identityFile ? { identityFile } : {}),
          ...(knownHostsFile ? { knownHostsFile } : {}),
          redact: (text) => this.redact(text),
        })
      : undefined;
  }

  /** The remote's refs and capabilities for `service` (`what` says why, for errors). */
  advertise(service: Service, what: string): Promise<Advertisement> {
    return this.ssh ? this.ssh.advertise(service, what) : httpAdvertise(this, service, what);
  }

  /** One request to `service` (wants and haves, or update commands and a pack); returns the answer's bytes. */
  request(service: Service, body: Buffer, what: string): Promise<Buffer> {
    return this.ssh ? this.ssh.request(service, body, what) : post(this, service, body, what);
  }

  get authenticated(): boolean {
    return 'Authorization' in this.headers;
  }

  /** `text` with every credential of this remote, and every credential shape, masked. */
  redact(text: string): string {
    return this.redactor.text(text);
  }

  /** A GitError about this remote: `message` is prefixed by what was being done and the clean URL. */
  error(code: GitErrorCode, what: string, message: string, options?: { cause?: unknown; ref?: string }): GitError {
    return new GitError(
      code,
      `${what} ${this.url}: ${message}`,
      { url: this.url, ...(options?.ref ? { ref: options.ref } : {}) },
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
  }

  /** Turns an isomorphic-git or network failure during `what` into a GitError that says what to check. */
  explain(e: unknown, what: string, ref?: string): GitError {
    if (e instanceof GitError) return e;
    const err = e as { code?: string; message?: string; data?: { statusCode?: number; statusMessage?: string } };
    const raw = this.redact(String(err?.message ?? e));
    const status = err?.code === 'HttpError' ? err.data?.statusCode : undefined;
    const opts = { cause: e };
    if (status === 401 || status === 403) {
      const check = this.authenticated
        ? 'the credentials were refused: check that the token or password is current and may read (and, for the status branch, write) this repository'
        : 'the remote asks for credentials: set GIT_BEARER_TOKEN, or GIT_USERNAME and GIT_PASSWORD, or pass --git-credentials-dir';
      return this.error('GitAuthFailed', what, `HTTP ${status}: ${check}`, opts);
    }
    if (status === 404) {
      return this.error(
        'GitRepositoryNotFound',
        what,
        'HTTP 404: no repository at this URL; check the URL (and that the credentials may see a private repository)',
        opts,
      );
    }
    if (status !== undefined) {
      return this.error('GitFailed', what, `HTTP ${status} ${this.redact(err.data?.statusMessage ?? '')}`.trimEnd(), opts);
    }
    if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|socket hang up/.test(raw)) {
      return this.error('GitUnreachable', what, `cannot reach the remote (${raw}); check the URL, DNS and network policy`, opts);
    }
    if (err?.code === 'NotFoundError' && /Could not find HEAD/.test(raw)) {
      // isomorphic-git 1.x cannot fetch from a remote that advertises no HEAD.
      return this.error(
        'GitFailed',
        what,
        "the remote advertises no HEAD (its default branch does not exist), which isomorphic-git cannot fetch from; push the default branch or point the remote's HEAD at an existing branch",
        opts,
      );
    }
    if (err?.code === 'NotFoundError' && ref) {
      return this.error('GitRefNotFound', what, `the remote has no ref "${ref}"; check --branch/--ref`, { ...opts, ref });
    }
    return this.error('GitFailed', what, raw, opts);
  }
}

function readQuietly(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The ref advertisement of `remote` for `service`, over its transport. */
export function advertise(remote: GitRemote, service: Service, what: string): Promise<Advertisement> {
  return remote.advertise(service, what);
}
