// Rendering the status branch's files (DESIGN §4), pure: a snapshot in, file texts out.
//   clusters/<cluster>/STATUS.md                  a table a person reads on a git host
//   clusters/<cluster>/<namespace>/<name>.yaml    one file per RestoreSession
import type { RestoreSessionStatus } from '../api/restoresession.ts';
import type { Diagnostic } from '../manifests/diagnostic.ts';
import { formatDiagnostic, sortDiagnostics } from '../manifests/diagnostic.ts';
import { Redactor, stripUrlCredentials } from '../common/redact.ts';
import { StatusError } from './errors.ts';
import { toYaml } from './yaml-emit.ts';
import type { Execution, LedgerSession, ManagedSession, SessionSource, StatusSnapshot, Suspension } from './types.ts';

/** Version of the per-session file layout; the reader accepts files without it (older writers). */
export const STATUS_FORMAT_VERSION = 1;
export const STATUS_FILE_KIND = 'RestoreStatus';

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function checkCluster(cluster: string): void {
  if (!SAFE_SEGMENT.test(cluster))
    throw new StatusError(
      'StatusClusterNameInvalid',
      `cluster name "${cluster}" cannot be a folder name on the status branch: use letters, digits, ".", "_" and "-" (set --cluster)`,
      { cluster },
    );
}

// Nothing secret is written to the status branch (DESIGN §4): env values of runtimeSettings,
// credentials in URLs, tokens and passwords in messages.
const redactor = new Redactor();

export const clusterDir = (cluster: string) => `clusters/${cluster}`;
export const statusMdPath = (cluster: string) => `${clusterDir(cluster)}/STATUS.md`;
export const sessionPath = (cluster: string, namespace: string, name: string) => `${clusterDir(cluster)}/${namespace}/${name}.yaml`;

/** Union of two execution lists keyed by content id (the newer list wins), ordered by acceptance. */
export function mergeExecutions(older: Execution[], newer: Execution[]): Execution[] {
  const byId = new Map<string, Execution>();
  for (const e of older) byId.set(e.contentId, e);
  for (const e of newer) byId.set(e.contentId, e);
  // Stable: executions accepted at the same time keep the order they were recorded in.
  return [...byId.values()].sort((a, b) => (a.acceptedAt ?? '').localeCompare(b.acceptedAt ?? ''));
}

/** The phase shown for a session: the live status, else its latest execution. */
export function displayPhase(s: { status?: RestoreSessionStatus; executions: Execution[] }): string {
  return s.status?.phase ?? s.executions[s.executions.length - 1]?.phase ?? 'Accepted';
}

/** Hosts by outcome: `done` counts only hosts that succeeded (a failed host is not done). */
export function hostsOf(s: { status?: RestoreSessionStatus }): { done: number; failed: number; unknown: number; total: number | undefined } {
  const stats = s.status?.stats ?? [];
  const count = (phase: string) => stats.filter((h) => h.phase === phase).length;
  return { done: count('Succeeded'), failed: count('Failed'), unknown: count('Unknown'), total: s.status?.totalHosts };
}

/** `5/5`, or with failures `0/1, 1 failed` (succeeded/total, then the hosts that did not). */
export function hostsText(s: { status?: RestoreSessionStatus }): string {
  const { done, failed, unknown, total } = hostsOf(s);
  const bad = [failed ? `${failed} failed` : '', unknown ? `${unknown} unknown` : ''].filter(Boolean).join(', ');
  return `${done}/${total ?? '?'}${bad ? `, ${bad}` : ''}`;
}

/** `0/1 succeeded, 1 failed`: for people, where a failed host must not read as done. */
export function hostsSummary(s: { status?: RestoreSessionStatus }): string {
  return hostsText(s).replace(/^(\d+\/[^,]+)/, '$1 succeeded');
}

/** A session a person has to act on: what is wrong, on which hosts, and what to do. */
export interface Attention {
  /** The phase shown (`Blocked` for a declared restore the daemon does not apply). */
  phase: string;
  /** What is wrong, in a sentence. */
  problem: string;
  /** `host: error` of each host that failed. */
  hosts: string[];
  /** What to do about it, naming the object to fix. */
  todo: string;
}

type AttentionInput = {
  namespace: string;
  status?: RestoreSessionStatus;
  executions: Execution[];
  decision?: { action: string; reason: string };
  spec?: { repository?: { name: string; namespace?: string } };
  repository?: { namespace: string; name: string };
};

const RERUN_TODO = 'then bump metadata.annotations["restore.gitops/rerun"] in git to run it again';

/**
 * Whether a session needs people, and why (DESIGN §8: nothing the daemon decides is silent): a
 * blocked decision, a final phase other than Succeeded, an interrupted execution, or a session
 * waiting on something (a condition that is False). Pure; undefined for a session that is fine.
 */
export function attentionOf(s: AttentionInput): Attention | undefined {
  const phase = displayPhase(s);
  if (s.decision)
    return { phase: s.status || s.executions.length ? phase : 'Blocked', problem: s.decision.reason, hosts: [], todo: todoOfDecision(s.decision.reason) };
  const stats = s.status?.stats ?? [];
  const hosts = stats.filter((h) => h.phase === 'Failed' || h.phase === 'Unknown').map((h) => `${h.hostname}: ${h.error ?? h.phase}`);
  const conditions = s.status?.conditions ?? [];
  const falseConditions = conditions.filter((c) => c.status === 'False' && c.message);
  const repo = s.repository ?? (s.spec?.repository ? { namespace: s.spec.repository.namespace ?? s.namespace, name: s.spec.repository.name } : undefined);
  if (phase === 'Failed' || phase === 'Invalid' || phase === 'Unknown') {
    const because = falseConditions.map((c) => `${c.type}: ${c.message}`);
    const first = hosts[0] ?? because[0];
    const problem = `${hostsSummary(s)}${first ? `: ${first}` : ''}`;
    return { phase, problem, hosts, todo: `${fixTarget(phase, [...hosts, ...because].join(' '), repo)}; ${RERUN_TODO}` };
  }
  if (phase === 'Interrupted')
    return {
      phase,
      problem: 'the RestoreSession vanished while it ran (deleted by hand, or the cluster was rebuilt); it is not run again on its own',
      hosts,
      todo: 'check what the hosts hold, ' + RERUN_TODO,
    };
  if (falseConditions.length && !(phase === 'Succeeded')) {
    return {
      phase,
      problem: `waiting: ${falseConditions.map((c) => `${c.type}: ${c.message}`).join('; ')}`,
      hosts,
      todo: fixTarget(phase, falseConditions.map((c) => `${c.type} ${c.reason ?? ''} ${c.message}`).join(' '), repo),
    };
  }
  return undefined;
}

function todoOfDecision(reason: string): string {
  if (reason.includes('the daemon is suspended')) return 'nothing: it goes ahead once the cluster is resumed (`restorectl resume`)';
  if (reason.startsWith('not applied:')) return 'fix the manifest in git (`restorectl validate` shows every error); the next cycle applies it';
  if (reason.includes('restore.gitops/rerun did not'))
    return 'rename the session to run the new spec as a new restore, or bump metadata.annotations["restore.gitops/rerun"] to run the new spec in its place';
  if (reason.includes('once') && reason.includes('final')) return 'nothing: it goes ahead once the current run is final';
  return 'see the reason';
}

/** The object a person should look at, from the words of the errors. */
function fixTarget(phase: string, text: string, repo: { namespace: string; name: string } | undefined): string {
  const repoName = repo ? `Repository ${repo.namespace}/${repo.name}` : 'the Repository';
  if (/password|wrong key|no key found|BackendSecret|Secret/i.test(text))
    return `check the Secret that ${repoName} names in spec.backend.storageSecretName (RESTIC_PASSWORD and the backend keys)`;
  if (/repository|RepositoryNotAvailable|RepositoryFound|does not exist|backend/i.test(text))
    return `check ${repoName} (its backend and that a restic repository is there)`;
  if (/target|TargetNotAvailable/i.test(text)) return 'check the target workload or claim the session names (spec.target.ref)';
  if (phase === 'Invalid') return "fix the session's spec in git (the condition says what is wrong)";
  return "check the failed hosts' pods and their logs";
}

/** The per-session YAML file. Only the caller's data goes in (no clock), so equal input gives an equal file. */
export function renderSessionFile(cluster: string, s: ManagedSession): string {
  const doc: Record<string, unknown> = {
    kind: STATUS_FILE_KIND,
    formatVersion: STATUS_FORMAT_VERSION,
    cluster,
    namespace: s.namespace,
    name: s.name,
    source: { repo: stripUrlCredentials(s.source.url), branch: s.source.branch, commit: s.source.commit, file: s.source.file },
    contentId: s.contentId,
    executions: s.executions.map((e) =>
      compact({
        contentId: e.contentId,
        phase: e.phase,
        acceptedAt: e.acceptedAt,
        startedAt: e.startedAt,
        finishedAt: e.finishedAt,
        sourceCommit: e.sourceCommit,
        annotations: e.annotations,
        snapshots: e.snapshots,
      }),
    ),
  };
  if (s.decision) doc.decision = s.decision;
  if (s.status) doc.status = s.status;
  if (s.spec) doc.spec = s.spec;
  return '# Written by restore-controller (status branch, DESIGN §4). Edits are kept only until the session changes.\n' + toYaml(redactor.deep(doc));
}

export interface StatusRow {
  namespace: string;
  name: string;
  phase: string;
  hosts: string;
  duration: string;
  sourceCommit: string;
  lastChange: string;
  /** Set when the session needs people. */
  attention?: Attention;
  /** What each host restores (or was pinned to), when known: `snapshotsText`. */
  snapshots?: string;
}

/**
 * `app 1a2b3c4d of 2024-02-01T00:00:00Z`, per host (joined by `; `): the snapshot each host
 * restored or is restoring, and its time (the restore's point in time), from the live stats; for a
 * host without one yet, what its execution pinned at accept time (`pinned`), or why it was not
 * (then the agent pins it). When `latest` moved after the pin, the stat's sentence follows.
 */
export function snapshotsText(s: { status?: RestoreSessionStatus; executions: Execution[] }): string | undefined {
  const pinned = s.executions[s.executions.length - 1]?.snapshots ?? {};
  const hosts = new Set([...(s.status?.stats ?? []).map((h) => h.hostname), ...Object.keys(pinned)]);
  const parts: string[] = [];
  for (const host of [...hosts].sort()) {
    const stat = s.status?.stats?.find((h) => h.hostname === host);
    if (stat?.snapshot) {
      const times = stat.snapshotTime?.split(',') ?? [];
      const each = stat.snapshot.split(',').map((id, i) => `${id.slice(0, 8)}${times[i] ? ` of ${times[i]}` : ''}`);
      parts.push(`${host} ${each.join(', ')}${stat.latestMoved ? ` (${stat.latestMoved})` : ''}`);
      continue;
    }
    const steps = pinned[host] ?? [];
    if (!steps.length) continue;
    const each = steps.map((p) =>
      p.id ? `${p.id.slice(0, 8)}${p.time ? ` of ${p.time}` : ''}` : `${p.requested} not pinned at accept (${p.unresolved ?? 'not found'}): the agent pins it`,
    );
    parts.push(`${host} ${each.join(', ')}${steps.every((p) => p.id) ? ' pinned' : ''}`);
  }
  return parts.length ? parts.join('; ') : undefined;
}

export function rowOf(s: ManagedSession | LedgerSession): StatusRow {
  const last = s.executions[s.executions.length - 1];
  const times = [last?.acceptedAt, last?.startedAt, last?.finishedAt, ...(s.status?.conditions ?? []).map((c) => c.lastTransitionTime)]
    .filter((t): t is string => typeof t === 'string' && t.length > 0)
    .sort();
  const commit = last?.sourceCommit ?? s.source?.commit ?? '';
  return {
    namespace: s.namespace,
    name: s.name,
    phase: displayPhase(s),
    hosts: hostsText(s),
    duration: s.status?.sessionDuration ?? durationBetween(last?.startedAt ?? last?.acceptedAt, last?.finishedAt) ?? '',
    sourceCommit: commit ? commit.slice(0, 7) : '',
    lastChange: times.length ? times[times.length - 1]!.replace(/\.\d+Z$/, 'Z') : '',
    ...(snapshotsText(s) ? { snapshots: snapshotsText(s)! } : {}),
    ...attentionField(s),
  };
}

function attentionField(s: ManagedSession | LedgerSession): { attention?: Attention; phase?: string } {
  const attention = attentionOf(s);
  if (!attention) return {};
  return { attention, phase: attention.phase };
}

const ICON: Record<string, string> = {
  Blocked: '🚫',
  Succeeded: '✅',
  Failed: '❌',
  Invalid: '⛔',
  Unknown: '❔',
  Interrupted: '⚠️',
  Running: '⏳',
  Pending: '🕓',
  Accepted: '📝',
};

export const BANNER = '> ⏸️ **Suspended**';

/** STATUS.md's first lines while suspended: who, when, why, and how to resume. */
export function suspensionBanner(cluster: string, s: Suspension | undefined): string[] {
  if (!s?.suspended) return [];
  return [
    `${BANNER} by ${redactor.text(s.by) || 'someone'} at ${s.at || '?'}: ${redactor.text(s.reason.replace(/\s*\n\s*/g, ' ')) || '(no reason given)'}.`,
    `> The daemon creates, reruns, updates and prunes nothing until \`restorectl resume --cluster ${cluster}\`; running sessions are still followed.`,
    '',
  ];
}

export function renderStatusMd(
  cluster: string,
  source: StatusSnapshot['source'] | undefined,
  rows: StatusRow[],
  diagnostics: readonly Diagnostic[] = [],
  suspension?: Suspension,
): string {
  const sorted = [...rows].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const counts = new Map<string, number>();
  for (const r of sorted) counts.set(r.phase, (counts.get(r.phase) ?? 0) + 1);
  const lines = [
    `# Restores in cluster \`${cluster}\``,
    '',
    ...suspensionBanner(cluster, suspension),
    // No commit and no clock here: the file changes only when a session does.
    source ? `Source: ${redactor.text(stripUrlCredentials(source.url))}${source.branch ? ` branch \`${source.branch}\`` : ''}` : '',
    `Sessions: ${sorted.length}${counts.size ? ' (' + [...counts.entries()].map(([p, n]) => `${n} ${p}`).join(', ') + ')' : ''}`,
    '',
    ...attentionSection(sorted),
    '| Session | Phase | Hosts done/total | Duration | Source commit | Last change |',
    '|---|---|---|---|---|---|',
    ...sorted.map(
      (r) =>
        `| ${r.namespace}/${r.name} | ${ICON[r.phase] ?? ''} ${r.phase} | ${r.hosts} | ${r.duration} | ${r.sourceCommit ? '`' + r.sourceCommit + '`' : ''} | ${r.lastChange} |`,
    ),
    '',
    ...snapshotsSection(sorted),
    ...problemsSection(diagnostics),
    `One file per session under \`${clusterDir(cluster)}/<namespace>/<name>.yaml\`: source, content id, executions, status.`,
    '',
  ];
  return lines.filter((l, i) => !(l === '' && lines[i - 1] === '')).join('\n');
}

/** "Needs attention", first: each session a person has to act on, why, its failed hosts and what to do. */
function attentionSection(rows: readonly StatusRow[]): string[] {
  const needing = rows.filter((r) => r.attention);
  if (!needing.length) return [];
  return [
    `## Needs attention (${needing.length})`,
    '',
    ...needing.flatMap((r) => {
      const a = r.attention!;
      return [
        `- ${ICON[a.phase] ?? ''} **${r.namespace}/${r.name}** ${a.phase}${/^\d/.test(a.problem) ? ' ' : ': '}${redactor.text(oneLine(a.problem))}`,
        ...a.hosts.map((h) => `  - host ${redactor.text(oneLine(h))}`),
        `  - to do: ${redactor.text(oneLine(a.todo))}`,
      ];
    }),
    '',
  ];
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ');

/** "Snapshots": per session, the snapshot each host restores and its time (the effective RPO). */
function snapshotsSection(rows: readonly StatusRow[]): string[] {
  const withSnapshots = rows.filter((r) => r.snapshots);
  if (!withSnapshots.length) return [];
  return ['## Snapshots', '', ...withSnapshots.map((r) => `- ${r.namespace}/${r.name}: ${redactor.text(oneLine(r.snapshots!))}`), ''];
}

/** Error and warning diagnostics of the source, errors first: a file listed here was not applied. */
function problemsSection(diagnostics: readonly Diagnostic[]): string[] {
  if (!diagnostics.length) return [];
  const sorted = sortDiagnostics([...diagnostics]).sort((a, b) => Number(a.severity === 'warning') - Number(b.severity === 'warning'));
  const errors = sorted.filter((d) => d.severity === 'error').length;
  const shown = sorted.slice(0, 100);
  return [
    `## Problems in the source (${errors} error${errors === 1 ? '' : 's'}, ${sorted.length - errors} warning${sorted.length - errors === 1 ? '' : 's'})`,
    '',
    errors ? 'A manifest with an error is not applied; the others are. Fix it and push; `restorectl validate` shows the same list.' : '',
    '',
    '```',
    ...shown.map((d) => redactor.text(formatDiagnostic(d))),
    ...(sorted.length > shown.length ? [`… and ${sorted.length - shown.length} more`] : []),
    '```',
    '',
  ];
}

/** One changed session, for the commit message. */
export interface StatusChange {
  namespace: string;
  name: string;
  /** Phase before (undefined: the session is new on the branch). */
  from: string | undefined;
  to: string;
  hosts: string;
}

export function describeChange(c: StatusChange): string {
  const phase = c.from === undefined ? `new→${c.to}` : c.from === c.to ? c.to : `${c.from}→${c.to}`;
  if (c.hosts.endsWith('/?')) return `${c.namespace}/${c.name} ${phase}`;
  return c.hosts.includes(',')
    ? `${c.namespace}/${c.name} ${phase} (${c.hosts.replace(',', ' hosts,')})`
    : `${c.namespace}/${c.name} ${phase} (${c.hosts} hosts)`;
}

/**
 * `status(prod): demo/sts-restore Running→Succeeded (5/5 hosts) [main@1a2b3c4]`, a body listing
 * every change when there are several, and the trailers `Source-Commit:` and `Cluster:`.
 */
export function commitMessage(cluster: string, source: StatusSnapshot['source'], changes: StatusChange[], diagnostics: readonly Diagnostic[] = []): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const problems = errors
    ? `${errors} error${errors === 1 ? '' : 's'}`
    : diagnostics.length
      ? `${diagnostics.length} warning${diagnostics.length === 1 ? '' : 's'}`
      : '';
  const at = source.commit ? ` [${source.branch ?? 'HEAD'}@${source.commit.slice(0, 7)}]` : '';
  const sorted = [...changes].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  let summary: string;
  if (sorted.length === 0) summary = problems ? `source has ${problems}` : 'STATUS.md refreshed';
  else if (sorted.length === 1) summary = describeChange(sorted[0]!);
  else {
    // Phase transitions first: they are what a reader looks for.
    const interesting = [...sorted].sort((a, b) => Number(a.from === a.to) - Number(b.from === b.to));
    const shown = interesting.slice(0, 2).map(describeChange).join(', ');
    summary = `${sorted.length} sessions: ${shown}${sorted.length > 2 ? `, +${sorted.length - 2} more` : ''}`;
  }
  const body =
    sorted.length > 1
      ? '\n' +
        sorted
          .slice(0, 200)
          .map((c) => `- ${describeChange(c)}`)
          .join('\n') +
        (sorted.length > 200 ? `\n- … and ${sorted.length - 200} more` : '') +
        '\n'
      : '';
  const trailers = [source.commit ? `Source-Commit: ${source.commit}` : undefined, `Cluster: ${cluster}`].filter(Boolean).join('\n');
  return `status(${cluster}): ${summary}${at}\n${body}\n${trailers}\n`;
}

function compact<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;
}

function durationBetween(from: string | undefined, to: string | undefined): string | undefined {
  if (!from || !to) return undefined;
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600),
    m = Math.floor((s % 3600) / 60),
    sec = s % 60;
  return `${h ? h + 'h' : ''}${h || m ? m + 'm' : ''}${sec}s`;
}

export type { SessionSource };
