// Which transport a remote URL asks for, as git reads it: `http(s)://…` is smart HTTP;
// `ssh://[user@]host[:port]/path` (also `git+ssh://`, `ssh+git://`) and the scp-like
// `[user@]host:path` (a colon before any slash) are SSH. Pure.

export interface SshAddress {
  /** The login name (`git` in `git@github.com:org/repo.git`); none: ssh's default. */
  user?: string;
  host: string;
  port?: number;
  /** The repository path as the server's git-upload-pack gets it (`org/repo.git`, `/srv/r.git`, `~/r.git`). */
  path: string;
}

const SSH_SCHEME = /^(?:ssh|git\+ssh|ssh\+git):\/\//i;
// scp-like: [user@]host:path, where the host has no slash and is not a one-letter drive (C:\…).
const SCP_LIKE = /^(?:([^@/\s]+)@)?(\[[^\]/]+\]|[^:/\s[\]]{2,}):(.*)$/;

/** True for the URLs git would reach over SSH. */
export function isSshUrl(url: string): boolean {
  return SSH_SCHEME.test(url) || (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && SCP_LIKE.test(url));
}

/** The parts of an SSH URL; undefined when `url` is not one (or names no host or path). */
export function parseSshUrl(url: string): SshAddress | undefined {
  if (SSH_SCHEME.test(url)) {
    let u: URL;
    try {
      u = new URL(url.replace(SSH_SCHEME, 'ssh://'));
    } catch {
      return undefined;
    }
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    let path = decodeURIComponent(u.pathname);
    // ssh://host/~user/repo is relative to a home directory, as git reads it.
    if (path.startsWith('/~')) path = path.slice(1);
    if (!host || !path || path === '/') return undefined;
    return { ...(u.username ? { user: decodeURIComponent(u.username) } : {}), host, ...(u.port ? { port: Number(u.port) } : {}), path };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return undefined;
  const m = SCP_LIKE.exec(url);
  if (!m?.[3]) return undefined;
  return { ...(m[1] ? { user: m[1] } : {}), host: m[2]!.replace(/^\[(.*)\]$/, '$1'), path: m[3] };
}

/** An SSH URL without a password (`ssh://user:pw@host/x` → `ssh://user@host/x`); the login name stays: it is part of the address. */
export function cleanSshUrl(url: string): string {
  return url.replace(/^([a-z+]+:\/\/[^/@:\s]*):[^/@\s]*@/i, '$1@');
}

/** `text` in single quotes for the remote shell, as git quotes the path (`'` → `'\''`, `!` → `'\!'`). */
export function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''").replace(/!/g, "'\\!'")}'`;
}
