// `restorectl run`'s notification flags, pure: where to send a notice when a restore is done or
// blocked (a JSON webhook, a commit status on GitHub, GitLab or Gitea). The token is read from its
// file (or env NOTIFY_TOKEN) by the wiring in run.ts.
import { COMMIT_STATUS_PROVIDERS, commitStatusTargetOf } from '../../notify/requests.ts';
import type { CommitStatusProvider, CommitStatusTarget } from '../../notify/requests.ts';
import { UsageError } from '../command.ts';

export const NOTIFY_FLAGS = {
  'notify-webhook': { type: 'string', multiple: true },
  'notify-commit-status': { type: 'string' },
  'notify-api-url': { type: 'string' },
  'notify-repo': { type: 'string' },
  'notify-token-file': { type: 'string' },
  'notify-target-url': { type: 'string' },
} as const;

export const NOTIFY_HELP = `Notifications (when a restore reaches a final phase, or is blocked):
  --notify-webhook URL      POST a JSON notice to URL (repeatable): Slack-compatible "text" plus
                            event, cluster, namespace, name, phase, contentId, source, hosts,
                            problem and todo. The URL is treated as a secret in the logs
  --notify-commit-status github|gitlab|gitea
                            set a commit status on the commit that declared the restore
                            (context restore-controller/CLUSTER/NS/NAME)
  --notify-api-url URL      the host's API (default from --git-url: https://api.github.com,
                            https://HOST/api/v4 for GitLab, https://HOST/api/v1 for Gitea)
  --notify-repo PATH        OWNER/NAME (GitLab: the project's full path); default from --git-url
  --notify-token-file FILE  the API token (else env NOTIFY_TOKEN); needs permission to set
                            commit statuses (GitHub "repo:status", GitLab "api", Gitea write)
  --notify-target-url URL   the link each commit status carries (e.g. the status branch's page)
  Notices are sent after the status branch records the outcome, at most once each (a daemon that
  crashes between the push and the send does not repeat it); a failing receiver is retried 4
  times, then logged as a warning. Blocked restores are told again after a restart.`;

export interface NotifyOptions {
  webhooks: string[];
  commitStatus?: Omit<CommitStatusTarget, 'token'> & { tokenFile?: string };
}

type NotifyValues = { [K in keyof typeof NOTIFY_FLAGS]?: (typeof NOTIFY_FLAGS)[K] extends { multiple: true } ? string[] : string };

const usage = (flag: string, message: string) => new UsageError(`run: ${message}`, { flag });

function httpUrl(flag: string, text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw usage(`--${flag}`, `--${flag} "${text.length > 60 ? `${text.slice(0, 60)}…` : text}" is not a URL (give https://…)`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw usage(`--${flag}`, `--${flag} must be an http:// or https:// URL, not ${u.protocol}`);
  return text;
}

/** The notification options, or undefined when none is asked for. `gitUrl`: the --git-url remote, which names the repository by default. */
export function parseNotifyOptions(values: NotifyValues, gitUrl: string | undefined): NotifyOptions | undefined {
  const webhooks = (values['notify-webhook'] ?? []).map((u) => httpUrl('notify-webhook', u));
  const provider = values['notify-commit-status'];
  if (provider === undefined) {
    for (const flag of ['notify-api-url', 'notify-repo', 'notify-token-file', 'notify-target-url'] as const)
      if (values[flag] !== undefined) throw usage(`--${flag}`, `--${flag} has no effect without --notify-commit-status`);
    return webhooks.length ? { webhooks } : undefined;
  }
  if (!COMMIT_STATUS_PROVIDERS.includes(provider as CommitStatusProvider))
    throw usage('--notify-commit-status', `--notify-commit-status "${provider}" is not one of ${COMMIT_STATUS_PROVIDERS.join(', ')}`);
  const p = provider as CommitStatusProvider;
  const derived = gitUrl ? commitStatusTargetOf(p, gitUrl) : undefined;
  const repo = values['notify-repo'] ?? derived?.repo;
  const apiUrl = values['notify-api-url'] !== undefined ? httpUrl('notify-api-url', values['notify-api-url']) : derived?.apiUrl;
  if (!repo || !apiUrl)
    throw usage(
      '--notify-repo',
      `--notify-commit-status ${p}: cannot tell the repository from ${gitUrl ? `--git-url` : '--source-dir'}: give --notify-repo and --notify-api-url`,
    );
  if (p !== 'gitlab' && repo.split('/').length !== 2) throw usage('--notify-repo', `--notify-repo "${repo}" is not OWNER/NAME`);
  const targetUrl = values['notify-target-url'] !== undefined ? httpUrl('notify-target-url', values['notify-target-url']) : undefined;
  return {
    webhooks,
    commitStatus: {
      provider: p,
      apiUrl,
      repo,
      ...(targetUrl ? { targetUrl } : {}),
      ...(values['notify-token-file'] !== undefined ? { tokenFile: values['notify-token-file'] } : {}),
    },
  };
}
