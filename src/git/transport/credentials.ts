// Git credentials (DESIGN §5): from env GIT_USERNAME + GIT_PASSWORD or GIT_BEARER_TOKEN, from a
// folder holding `username`/`password`/`bearerToken` files (a mounted Flux-style Secret), or
// embedded in the URL. They travel as an Authorization header sent up front and never appear in a
// URL we store, log or print, nor in an error message.
// For SSH URLs: a deploy key and the trusted host keys, as files (the keys `identity` and
// `known_hosts` of a Flux GitRepository Secret in the folder, or env GIT_SSH_KEY_FILE and
// GIT_SSH_KNOWN_HOSTS_FILE); only their paths are kept, the key is read by ssh.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { stripUrlCredentials } from '../../common/redact.ts';
import { CredentialsError } from '../errors.ts';
import { cleanSshUrl, isSshUrl } from './url.ts';

export interface GitCredentials {
  username?: string;
  password?: string;
  bearerToken?: string;
  /** SSH: the private key file (`identity`). */
  identityFile?: string;
  /** SSH: the known_hosts file holding the server's host key (`known_hosts`). */
  knownHostsFile?: string;
}

/** The names of the files and variables, for messages and help texts. */
const DIR_FILES = 'username and password, or bearerToken, or for SSH identity and known_hosts';

/** From GIT_USERNAME + GIT_PASSWORD or GIT_BEARER_TOKEN, GIT_SSH_KEY_FILE and GIT_SSH_KNOWN_HOSTS_FILE; `undefined` when none is set. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): GitCredentials | undefined {
  const out: GitCredentials = {};
  if (env.GIT_BEARER_TOKEN) out.bearerToken = env.GIT_BEARER_TOKEN;
  if (env.GIT_PASSWORD) out.password = env.GIT_PASSWORD;
  if (env.GIT_USERNAME) out.username = env.GIT_USERNAME;
  if (env.GIT_SSH_KEY_FILE) out.identityFile = env.GIT_SSH_KEY_FILE;
  if (env.GIT_SSH_KNOWN_HOSTS_FILE) out.knownHostsFile = env.GIT_SSH_KNOWN_HOSTS_FILE;
  return Object.keys(out).length ? out : undefined;
}

/** From the files `username`, `password`, `bearerToken` in `dir` (trailing newlines dropped), and the paths of `identity` and `known_hosts`. */
export function credentialsFromDir(dir: string): GitCredentials {
  if (!existsSync(dir))
    throw new CredentialsError(
      'GitCredentialsDirMissing',
      `--git-credentials-dir ${dir}: no such folder. It should hold the files ${DIR_FILES} (the keys of a Flux GitRepository Secret).`,
      { path: dir },
    );
  const read = (name: string) => {
    const p = join(dir, name);
    return existsSync(p) ? readFileSync(p, 'utf8').replace(/\r?\n$/, '') : undefined;
  };
  const out: GitCredentials = {};
  const username = read('username');
  const password = read('password');
  const bearerToken = read('bearerToken');
  if (username) out.username = username;
  if (password) out.password = password;
  if (bearerToken) out.bearerToken = bearerToken;
  if (existsSync(join(dir, 'identity'))) out.identityFile = join(dir, 'identity');
  if (existsSync(join(dir, 'known_hosts'))) out.knownHostsFile = join(dir, 'known_hosts');
  if (!Object.keys(out).length) {
    // An optional Secret that does not exist is mounted as an empty folder: a public repository.
    const present = readdirSync(dir).filter((f) => !f.startsWith('..'));
    if (present.length === 0) return out;
    throw new CredentialsError(
      'GitCredentialsDirInvalid',
      `--git-credentials-dir ${dir}: holds none of the files username, password, bearerToken (found: ${present.join(', ')}); for an ssh URL it should hold identity and known_hosts.`,
      { path: dir },
    );
  }
  return out;
}

/** Splits `https://user:token@host/repo.git` into the URL without credentials and the credentials. */
export function splitUrlCredentials(url: string): { url: string; credentials?: GitCredentials } {
  // An SSH URL's user (`git@`) is a login name, part of the address; a password there is dropped.
  if (isSshUrl(url)) return { url: cleanSshUrl(url) };
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { url: stripUrlCredentials(url) };
  }
  if (!u.username && !u.password) return { url };
  const credentials: GitCredentials = {};
  if (u.username) credentials.username = decodeURIComponent(u.username);
  if (u.password) credentials.password = decodeURIComponent(u.password);
  u.username = '';
  u.password = '';
  return { url: u.toString(), credentials };
}

/**
 * Decides the credentials of a remote: explicit ones (a folder) win over the environment, which
 * wins over those embedded in the URL. Returns the clean URL alongside.
 */
export function resolveCredentials(
  url: string,
  opts: { credentialsDir?: string; env?: NodeJS.ProcessEnv; credentials?: GitCredentials } = {},
): { url: string; credentials?: GitCredentials } {
  const split = splitUrlCredentials(url);
  const credentials =
    opts.credentials ??
    (opts.credentialsDir ? credentialsFromDir(opts.credentialsDir) : undefined) ??
    credentialsFromEnv(opts.env ?? process.env) ??
    split.credentials;
  return credentials ? { url: split.url, credentials } : { url: split.url };
}

/** The Authorization header for the credentials (bearer token, else basic), or none. */
export function authHeaders(c: GitCredentials | undefined): Record<string, string> {
  if (!c) return {};
  if (c.bearerToken) return { Authorization: `Bearer ${c.bearerToken}` };
  if (c.password || c.username) {
    // A token alone in GIT_PASSWORD works with every major host when the user name is a placeholder.
    const user = c.username || 'x-access-token';
    return { Authorization: 'Basic ' + Buffer.from(`${user}:${c.password ?? ''}`).toString('base64') };
  }
  return {};
}

/** The secret values the credentials hold, for a Redactor: the password or token, and the header's encoded value. */
export function credentialSecrets(c: GitCredentials | undefined): string[] {
  if (!c) return [];
  const header = authHeaders(c).Authorization;
  return [c.password, c.bearerToken, header?.replace(/^\w+ /, '')].filter((v): v is string => !!v);
}
