// The HTTP requests a Notification becomes, pure: a JSON webhook (Slack-compatible `text` plus the
// structured fields) and a commit status on the source commit, in the shape each git host's API
// documents. The token is not part of a request here: the sender adds the header it names, so a
// request can be logged whole.
import type { Notification } from './events.ts';
import { summary } from './events.ts';
import { NotifyError } from './errors.ts';

export type CommitStatusProvider = 'github' | 'gitlab' | 'gitea';
export const COMMIT_STATUS_PROVIDERS: readonly CommitStatusProvider[] = ['github', 'gitlab', 'gitea'];

export interface CommitStatusTarget {
  provider: CommitStatusProvider;
  /** The API's base URL: https://api.github.com, https://gitlab.example/api/v4, https://gitea.example/api/v1. */
  apiUrl: string;
  /** `owner/name` (GitHub, Gitea) or the project's full path, subgroups included (GitLab). */
  repo: string;
  /** Shown as the status's link, when set. */
  targetUrl?: string;
}

export interface NotifyRequest {
  method: 'POST';
  url: string;
  /** Headers other than the credential. */
  headers: Record<string, string>;
  body: string;
  /** The credential's header and how its value is written: `Bearer <token>`, `token <token>`, or the bare token. */
  auth?: { header: string; scheme: 'Bearer' | 'token' | '' };
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'User-Agent': 'restore-controller' };

/** A POST of the notification as JSON: `text` for Slack and alike, the fields for everything else. */
export function webhookRequest(url: string, n: Notification): NotifyRequest {
  return { method: 'POST', url, headers: { ...JSON_HEADERS }, body: JSON.stringify({ text: summary(n), ...n }) };
}

/** GitHub limits a status description to 140 characters (a longer one is refused with 422). */
const DESCRIPTION_LIMIT = 140;

/** The commit status for the notification's source commit; undefined when it names no commit. */
export function commitStatusRequest(target: CommitStatusTarget, n: Notification): NotifyRequest | undefined {
  const sha = n.source.commit;
  if (!sha || !/^[0-9a-f]{40}$/.test(sha)) return undefined;
  const context = `restore-controller/${n.cluster}/${n.namespace}/${n.name}`;
  const description = truncate(describe(n), DESCRIPTION_LIMIT);
  const base = target.apiUrl.replace(/\/+$/, '');
  const link = target.targetUrl ? { target_url: target.targetUrl } : {};
  switch (target.provider) {
    case 'github':
      // POST /repos/{owner}/{repo}/statuses/{sha}: state error|failure|pending|success.
      return {
        method: 'POST',
        url: `${base}/repos/${ownerRepo(target)}/statuses/${sha}`,
        headers: { ...JSON_HEADERS, Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28' },
        body: JSON.stringify({ state: githubState(n), description, context, ...link }),
        auth: { header: 'Authorization', scheme: 'Bearer' },
      };
    case 'gitea':
      // POST /repos/{owner}/{repo}/statuses/{sha}: state pending|success|error|failure|warning.
      return {
        method: 'POST',
        url: `${base}/repos/${ownerRepo(target)}/statuses/${sha}`,
        headers: { ...JSON_HEADERS, Accept: 'application/json' },
        body: JSON.stringify({ state: giteaState(n), description, context, ...link }),
        auth: { header: 'Authorization', scheme: 'token' },
      };
    case 'gitlab':
      // POST /projects/:id/statuses/:sha, :id the URL-encoded path: state pending|running|success|failed|canceled|skipped.
      return {
        method: 'POST',
        url: `${base}/projects/${encodeURIComponent(target.repo)}/statuses/${sha}`,
        headers: { ...JSON_HEADERS, Accept: 'application/json' },
        body: JSON.stringify({ state: gitlabState(n), name: context, description, ...link }),
        auth: { header: 'PRIVATE-TOKEN', scheme: '' },
      };
  }
}

function describe(n: Notification): string {
  if (n.event === 'blocked') return `blocked: ${n.problem ?? 'see STATUS.md'}`;
  // The problem of a failed restore starts with its hosts' count (`0/1 succeeded, 1 failed: …`).
  if (n.phase !== 'Succeeded' && n.problem) return `${n.phase}: ${n.problem}`;
  return `${n.phase}${n.hosts.total === undefined ? '' : ` ${n.hosts.succeeded}/${n.hosts.total} hosts`}`;
}

function truncate(text: string, limit: number): string {
  const chars = [...text];
  return chars.length <= limit ? text : `${chars.slice(0, limit - 1).join('')}…`;
}

function ownerRepo(target: CommitStatusTarget): string {
  const parts = target.repo.split('/');
  if (parts.length !== 2 || parts.some((p) => !p))
    throw new NotifyError('NotifyRepoInvalid', `${target.provider} commit status: repository "${target.repo}" is not OWNER/NAME (set --notify-repo)`, {
      repo: target.repo,
    });
  return parts.map(encodeURIComponent).join('/');
}

function githubState(n: Notification): 'success' | 'failure' | 'error' {
  if (n.event === 'blocked') return 'error';
  return n.phase === 'Succeeded' ? 'success' : 'failure';
}

function giteaState(n: Notification): 'success' | 'failure' | 'error' | 'warning' {
  if (n.event === 'blocked') return 'error';
  if (n.phase === 'Interrupted') return 'warning';
  return n.phase === 'Succeeded' ? 'success' : 'failure';
}

function gitlabState(n: Notification): 'success' | 'failed' | 'canceled' {
  if (n.event === 'blocked') return 'failed';
  if (n.phase === 'Interrupted') return 'canceled';
  return n.phase === 'Succeeded' ? 'success' : 'failed';
}

/**
 * Where a git remote's commit statuses are set, from its URL: the API of its host and the
 * repository's path. `https://github.com/o/r.git` → api.github.com and `o/r`;
 * `git@gitlab.example:g/sub/p.git` → https://gitlab.example/api/v4 and `g/sub/p`.
 */
export function commitStatusTargetOf(provider: CommitStatusProvider, gitUrl: string): { apiUrl: string; repo: string } | undefined {
  const parsed = parseRemote(gitUrl);
  if (!parsed) return undefined;
  const { origin, host, path } = parsed;
  const repo = path
    .replace(/^\/+/, '')
    .replace(/\.git$/, '')
    .replace(/\/+$/, '');
  if (!repo) return undefined;
  switch (provider) {
    case 'github':
      return { apiUrl: host === 'github.com' ? 'https://api.github.com' : `${origin}/api/v3`, repo };
    case 'gitlab':
      return { apiUrl: `${origin}/api/v4`, repo };
    case 'gitea':
      return { apiUrl: `${origin}/api/v1`, repo };
  }
}

function parseRemote(url: string): { origin: string; host: string; path: string } | undefined {
  const scp = /^(?:[^@/]+@)?([^:/]+):(?!\/\/)(.+)$/.exec(url);
  if (scp) return { origin: `https://${scp[1]}`, host: scp[1]!, path: scp[2]! };
  try {
    const u = new URL(url);
    // An ssh:// remote's web API is served over HTTPS on the default port.
    const origin = u.protocol === 'ssh:' ? `https://${u.hostname}` : u.origin;
    return { origin, host: u.hostname, path: u.pathname };
  } catch {
    return undefined;
  }
}
