// What `restorectl demo` prints, as pure functions of what happened: no I/O, no clock, so each
// line can be tested on its own and the steps in demo.ts only gather facts.
import type { RestoreSession } from 'restore-controller/api/restoresession';

export const STEP_TITLES = {
  backups: "1. a restic repository with backups of the examples' hosts",
  cluster: '2. the sandbox cluster (an embedded Kubernetes API whose pods run the agent for real)',
  git: '3. a git server holding a copy of the examples, the Repository pointing at the repository above',
  daemon: '4. the daemon, following main and writing restore-status\n',
  volumes: "\n6. files restored into the pods' volumes",
  statusLog: '\n7. the status branch: git log restore-status',
} as const;

export function renderHeader(dir: string): string {
  return `restore-controller demo in ${dir}`;
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

export function renderOutcome(sessions: RestoreSession[]): string {
  return allSucceeded(sessions)
    ? 'Every restore Succeeded.'
    : `Not every restore succeeded: ${sessions.map((s) => `${s.metadata.name}=${s.status?.phase}`).join(', ')}`;
}

export function renderLookAround(where: { kubeconfig: string; gitRepo: string }): string {
  return [
    '\nLook around:',
    `  kubectl --kubeconfig ${where.kubeconfig} get restoresessions -A`,
    `  kubectl --kubeconfig ${where.kubeconfig} describe restoresession -n demo sts-restore`,
    `  git -C ${where.gitRepo} log restore-status`,
    `  git -C ${where.gitRepo} show restore-status:clusters/demo/STATUS.md`,
  ].join('\n');
}

export const STAYS_UP = '\nThe demo stays up; Ctrl-C stops it.';
