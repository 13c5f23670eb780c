// Rendering the status branch's files (DESIGN §4), pure: a snapshot in, file texts out.
//   clusters/<cluster>/STATUS.md                  a table a person reads on a git host
//   clusters/<cluster>/<namespace>/<name>.yaml    one file per RestoreSession
import type { RestoreSessionStatus } from '../api/restoresession.ts';
import type { Diagnostic } from '../manifests/diagnostic.ts';
import { formatDiagnostic, sortDiagnostics } from '../manifests/diagnostic.ts';
import { Redactor, stripUrlCredentials } from '../common/redact.ts';
import { StatusError } from './errors.ts';
import { toYaml } from './yaml-emit.ts';
import type { Execution, LedgerSession, ManagedSession, SessionSource, StatusSnapshot } from './types.ts';

/** Version of the per-session file layout; the reader accepts files without it (older writers). */
export const STATUS_FORMAT_VERSION = 1;
export const STATUS_FILE_KIND = 'RestoreStatus';

const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function checkCluster(cluster: string): void {
  if (!SAFE_SEGMENT.test(cluster)) throw new StatusError('StatusClusterNameInvalid', `cluster name "${cluster}" cannot be a folder name on the status branch: use letters, digits, ".", "_" and "-" (set --cluster)`, { cluster });
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

export function hostsOf(s: { status?: RestoreSessionStatus }): { done: number; total: number | undefined } {
  const done = (s.status?.stats ?? []).filter((h) => h.phase === 'Succeeded' || h.phase === 'Failed' || h.phase === 'Unknown').length;
  return { done, total: s.status?.totalHosts };
}

export function hostsText(s: { status?: RestoreSessionStatus }): string {
  const { done, total } = hostsOf(s);
  return `${done}/${total ?? '?'}`;
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
    executions: s.executions.map((e) => compact({ contentId: e.contentId, phase: e.phase, acceptedAt: e.acceptedAt, startedAt: e.startedAt, finishedAt: e.finishedAt, sourceCommit: e.sourceCommit })),
  };
  if (s.status) doc.status = s.status;
  if (s.spec) doc.spec = s.spec;
  return '# Written by restore-controller (status branch, DESIGN §4). Edits are kept only until the session changes.\n'
    + toYaml(redactor.deep(doc));
}

export interface StatusRow {
  namespace: string;
  name: string;
  phase: string;
  hosts: string;
  duration: string;
  sourceCommit: string;
  lastChange: string;
}

export function rowOf(s: ManagedSession | LedgerSession): StatusRow {
  const last = s.executions[s.executions.length - 1];
  const times = [last?.acceptedAt, last?.startedAt, last?.finishedAt, ...(s.status?.conditions ?? []).map((c) => c.lastTransitionTime)]
    .filter((t): t is string => typeof t === 'string' && t.length > 0).sort();
  const commit = last?.sourceCommit ?? s.source?.commit ?? '';
  return {
    namespace: s.namespace,
    name: s.name,
    phase: displayPhase(s),
    hosts: hostsText(s),
    duration: s.status?.sessionDuration ?? durationBetween(last?.startedAt ?? last?.acceptedAt, last?.finishedAt) ?? '',
    sourceCommit: commit ? commit.slice(0, 7) : '',
    lastChange: times.length ? times[times.length - 1]!.replace(/\.\d+Z$/, 'Z') : '',
  };
}

const ICON: Record<string, string> = { Succeeded: '✅', Failed: '❌', Invalid: '⛔', Unknown: '❔', Interrupted: '⚠️', Running: '⏳', Pending: '🕓', Accepted: '📝' };

export function renderStatusMd(cluster: string, source: StatusSnapshot['source'] | undefined, rows: StatusRow[], diagnostics: readonly Diagnostic[] = []): string {
  const sorted = [...rows].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const counts = new Map<string, number>();
  for (const r of sorted) counts.set(r.phase, (counts.get(r.phase) ?? 0) + 1);
  const lines = [
    `# Restores in cluster \`${cluster}\``,
    '',
    // No commit and no clock here: the file changes only when a session does.
    source ? `Source: ${redactor.text(stripUrlCredentials(source.url))}${source.branch ? ` branch \`${source.branch}\`` : ''}` : '',
    `Sessions: ${sorted.length}${counts.size ? ' (' + [...counts.entries()].map(([p, n]) => `${n} ${p}`).join(', ') + ')' : ''}`,
    '',
    '| Session | Phase | Hosts done/total | Duration | Source commit | Last change |',
    '|---|---|---|---|---|---|',
    ...sorted.map((r) => `| ${r.namespace}/${r.name} | ${ICON[r.phase] ?? ''} ${r.phase} | ${r.hosts} | ${r.duration} | ${r.sourceCommit ? '`' + r.sourceCommit + '`' : ''} | ${r.lastChange} |`),
    '',
    ...problemsSection(diagnostics),
    `One file per session under \`${clusterDir(cluster)}/<namespace>/<name>.yaml\`: source, content id, executions, status.`,
    '',
  ];
  return lines.filter((l, i) => !(l === '' && lines[i - 1] === '')).join('\n');
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
  return c.hosts.endsWith('/?') ? `${c.namespace}/${c.name} ${phase}` : `${c.namespace}/${c.name} ${phase} (${c.hosts} hosts)`;
}

/**
 * `status(prod): demo/sts-restore Running→Succeeded (5/5 hosts) [main@1a2b3c4]`, a body listing
 * every change when there are several, and the trailers `Source-Commit:` and `Cluster:`.
 */
export function commitMessage(cluster: string, source: StatusSnapshot['source'], changes: StatusChange[], diagnostics: readonly Diagnostic[] = []): string {
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const problems = errors ? `${errors} error${errors === 1 ? '' : 's'}` : diagnostics.length ? `${diagnostics.length} warning${diagnostics.length === 1 ? '' : 's'}` : '';
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
  const body = sorted.length > 1 ? '\n' + sorted.slice(0, 200).map((c) => `- ${describeChange(c)}`).join('\n') + (sorted.length > 200 ? `\n- … and ${sorted.length - 200} more` : '') + '\n' : '';
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
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  return `${h ? h + 'h' : ''}${h || m ? m + 'm' : ''}${sec}s`;
}

export type { SessionSource };
