// What the daemon tells people when a restore is done (issue #15, item 8), pure: which sessions
// reached a final phase or were blocked since the last announcement, as Notifications a sink
// (webhook, commit status) turns into requests. The daemon announces only what the status branch
// already records, so a notification never runs ahead of git.
import type { Execution, ExecutionPhase, ManagedSession, StatusSnapshot } from '../status/types.ts';
import { FINAL_EXECUTION_PHASES } from '../status/types.ts';
import { attentionOf, hostsOf } from '../status/render.ts';

/** `finished`: an execution reached a final phase; `blocked`: the daemon will not apply the declared restore. */
export type NotificationEvent = 'finished' | 'blocked';

export interface Notification {
  event: NotificationEvent;
  cluster: string;
  namespace: string;
  name: string;
  /** The final phase (`Succeeded`, `Failed`, `Invalid`, `Unknown`, `Interrupted`), or `Blocked`. */
  phase: ExecutionPhase | 'Blocked';
  /** The execution's content id (the declared content for a blocked restore). */
  contentId: string;
  /** Where the restore is declared: the commit a commit status is set on. */
  source: { url: string; commit: string | null; file: string };
  hosts: { succeeded: number; failed: number; unknown: number; total: number | undefined };
  /** What is wrong and what to do, when something is (the same words as STATUS.md's "Needs attention"). */
  problem?: string;
  todo?: string;
  /** When the execution finished (RFC 3339), or when the block was seen. */
  at: string;
}

/** The phase of every execution, by content id: what a cycle starts from, to see what it finished. */
export function phasesOf(executions: Iterable<{ execution: Execution }>): Map<string, ExecutionPhase> {
  return new Map([...executions].map((t) => [t.execution.contentId, t.execution.phase]));
}

/** Content ids whose execution is final now and was not before (or was not known). */
export function newlyFinal(before: ReadonlyMap<string, ExecutionPhase>, after: Iterable<{ execution: Execution }>): string[] {
  const out: string[] = [];
  for (const { execution: e } of after) {
    if (!FINAL_EXECUTION_PHASES.includes(e.phase)) continue;
    const was = before.get(e.contentId);
    if (was === undefined || !FINAL_EXECUTION_PHASES.includes(was)) out.push(e.contentId);
  }
  return out;
}

export interface Announcement {
  notifications: Notification[];
  /** `ns/name` → reason of each blocked restore announced: the next call announces a block only when its reason changes. */
  blocked: Map<string, string>;
}

/**
 * The notifications for a snapshot the status branch now holds: one per execution in `finished`
 * (content ids), one per blocked restore whose reason is new since `blockedBefore`.
 */
export function announce(snapshot: StatusSnapshot, finished: ReadonlySet<string>, blockedBefore: ReadonlyMap<string, string>, now: Date): Announcement {
  const notifications: Notification[] = [];
  const blocked = new Map<string, string>();
  for (const s of snapshot.sessions) {
    const key = `${s.namespace}/${s.name}`;
    if (s.decision?.action === 'blocked') {
      blocked.set(key, s.decision.reason);
      if (blockedBefore.get(key) !== s.decision.reason) notifications.push(blockedNotification(snapshot.cluster, s, now));
    }
    for (const e of s.executions) if (finished.has(e.contentId)) notifications.push(finishedNotification(snapshot.cluster, s, e, now));
  }
  return { notifications, blocked };
}

function finishedNotification(cluster: string, s: ManagedSession, e: Execution, now: Date): Notification {
  // The live status belongs to the session's current execution; an older one has only its phase.
  const current = s.executions.at(-1)?.contentId === e.contentId;
  const view = current ? s : { ...s, status: undefined, executions: [e], decision: undefined };
  const { done, failed, unknown, total } = hostsOf(view);
  const attention = attentionOf(view);
  return {
    event: 'finished',
    cluster,
    namespace: s.namespace,
    name: s.name,
    phase: e.phase,
    contentId: e.contentId,
    source: { url: s.source.url, commit: e.sourceCommit ?? s.source.commit, file: s.source.file },
    hosts: { succeeded: done, failed, unknown, total },
    ...(attention ? { problem: attention.problem, todo: attention.todo } : {}),
    at: e.finishedAt ?? iso(now),
  };
}

function blockedNotification(cluster: string, s: ManagedSession, now: Date): Notification {
  const attention = attentionOf(s);
  return {
    event: 'blocked',
    cluster,
    namespace: s.namespace,
    name: s.name,
    phase: 'Blocked',
    contentId: s.contentId,
    source: { url: s.source.url, commit: s.source.commit, file: s.source.file },
    hosts: { succeeded: 0, failed: 0, unknown: 0, total: undefined },
    problem: s.decision!.reason,
    ...(attention ? { todo: attention.todo } : {}),
    at: iso(now),
  };
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** One line a person reads in a chat channel or next to a commit. */
export function summary(n: Notification): string {
  const where = `${n.namespace}/${n.name} on cluster ${n.cluster}`;
  if (n.event === 'blocked') return `Restore ${where} is blocked: ${n.problem}`;
  if (n.problem && n.phase !== 'Succeeded') return `Restore ${where} ${n.phase}: ${n.problem}`;
  return `Restore ${where} ${n.phase}${n.hosts.total === undefined ? '' : ` (${n.hosts.succeeded}/${n.hosts.total} hosts)`}`;
}
