// What `restorectl demo` prints, as pure functions of what happened: no I/O, no clock, so each
// line can be tested on its own and the steps in demo.ts only gather facts.
import type { RestoreSession } from 'restore-controller/api/restoresession';

export const STEP_TITLES = {
  backups: "1. a restic repository with backups of the examples' hosts",
  cluster: '2. the sandbox cluster (an embedded Kubernetes API whose pods run the agent for real)',
  git: '3. a git server holding a copy of the examples, the Repository pointing at the repository above',
  plan: '\n   the plan, as `restorectl plan` shows it in a pull request: each host and the snapshot it restores (latest pinned)\n',
  daemon: '4. the daemon, following main and writing restore-status',
  volumes: "\n6. files restored into the pods' volumes",
  statusLog: '\n7. the status branch: git log restore-status',
} as const;

export function renderHeader(dir: string): string {
  return `restore-controller demo in ${dir}`;
}

/** Where the git server serves the manifests: the URL every restorectl command takes. */
export function renderGitUrl(url: string): string {
  return `   git URL: ${url} (branch main: the restores; branch restore-status: what ran)`;
}

/** The real engine's daemon identity: deploy/'s ServiceAccount, and where to ask what it may do. */
export function renderDaemonIdentity(user: string, kubeconfig: string): string {
  return `   runs as ${user} with deploy/rbac's ClusterRole (kubectl --kubeconfig ${kubeconfig} auth can-i --list)`;
}

export function renderDaemonLog(file: string): string {
  return `   daemon log: ${file} (JSON lines; \`tail -f\` it)\n`;
}

/** One line for the sessions' progress: `name Phase done/total | …`. */
export function renderProgress(sessions: RestoreSession[]): string {
  return sessions
    .map((s) => {
      const done = (s.status?.stats ?? []).filter((x) => x.phase === 'Succeeded' || x.phase === 'Failed').length;
      return `${s.metadata.name} ${s.status?.phase ?? 'New'} ${done}/${s.status?.totalHosts ?? '?'}`;
    })
    .join(' | ');
}

/** A progress line with its time of day (`HH:MM:SS`, UTC). */
export function renderProgressLine(at: Date, progress: string): string {
  return `  ${at.toISOString().slice(11, 19)}  ${progress}`;
}

export function renderSecondCommitTitle(webhookUrl: string): string {
  return `\n5. a second commit adds a restore; the push webhook (${webhookUrl}, GitHub-style, HMAC-signed) triggers a cycle at once`;
}

export function renderWebhookAnswer(status: number, body: string): string {
  return `  webhook answered ${status}: ${body}`;
}

export function renderCreatedAfterWebhook(name: string, ms: number): string {
  return `  RestoreSession ${name} created ${Math.round(ms)} ms after the webhook`;
}

export interface RestoredVolume {
  claim: string;
  /** Files found in the volume, relative (`./a.json`), sorted. */
  files: string[];
}

export function renderVolumes(volumes: RestoredVolume[]): string {
  return volumes.map((v) => `  ${v.claim.padEnd(36)} ${v.files.join('  ') || '(empty)'}`).join('\n');
}

/** True when there are sessions and every one Succeeded. */
export function allSucceeded(sessions: RestoreSession[]): boolean {
  return sessions.length > 0 && sessions.every((s) => s.status?.phase === 'Succeeded');
}

/**
 * `git log restore-status`, one commit a line; a commit that records several sessions also lists
 * each change of its body (the subject names two). Input: `%h%x00%s%x00%b%x1e` records.
 */
export function renderStatusLog(log: string): string {
  const lines: string[] = [];
  for (const record of log.split('\x1e')) {
    const [hash, subject, body] = record.replace(/^\n/, '').split('\0');
    if (!hash || subject === undefined) continue;
    lines.push(`  ${hash} ${subject}`);
    for (const change of (body ?? '').split('\n')) if (change.startsWith('- ')) lines.push(`      ${change}`);
  }
  return lines.join('\n') + '\n';
}

export function renderOutcome(sessions: RestoreSession[]): string {
  return allSucceeded(sessions)
    ? 'Every restore Succeeded.'
    : `Not every restore succeeded: ${sessions.map((s) => `${s.metadata.name}=${s.status?.phase}`).join(', ')}`;
}

export interface WayOn {
  kubeconfig: string;
  gitRepo: string;
  gitUrl: string;
  daemonLog: string;
  webhookUrl: string;
  webhookSecretFile: string;
}

export function renderLookAround(w: WayOn): string {
  return [
    '\nLook around (while the demo is up):',
    `  restorectl status --git-url ${w.gitUrl}                      every session, from the status branch`,
    `  restorectl status demo/sts-restore --git-url ${w.gitUrl}     one session: hosts, snapshots, decision`,
    `  restorectl reconcile --webhook-url ${w.webhookUrl} --webhook-secret-file ${w.webhookSecretFile}`,
    `  restorectl suspend --cluster demo --reason "trying it" --git-url ${w.gitUrl}`,
    `  git clone ${w.gitUrl}                                        change a restore, push, watch it run`,
    `  kubectl --kubeconfig ${w.kubeconfig} get restoresessions -A`,
    `  kubectl --kubeconfig ${w.kubeconfig} describe restoresession -n demo sts-restore`,
    `  git -C ${w.gitRepo} show restore-status:clusters/demo/STATUS.md`,
    `  tail -f ${w.daemonLog}                                        the daemon's log`,
  ].join('\n');
}

export const STAYS_UP = '\nThe demo stays up; Ctrl-C stops it.';

/** What stopping leaves behind: nothing (a folder it made), or the folder given with --dir. */
export function renderStopped(dir: string, removed: boolean, signal?: string): string {
  const why = signal ? `${signal}: ` : '';
  return removed
    ? `${why}stopped the daemon, the git server and the sandbox; removed ${dir}`
    : `${why}stopped the daemon, the git server and the sandbox; left ${dir} (given with --dir: the restic repository, the git repositories, the cluster's volumes and the daemon log); remove it when done`;
}
