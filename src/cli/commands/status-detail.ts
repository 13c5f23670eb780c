// `restorectl status NS/NAME`: one session as the status branch records it — its executions, each
// host's outcome and snapshot, conditions, source commit and file, timings, and the daemon's last
// decision with its reason. Pure: a ledger session in, text or a JSON value out.
import { attentionOf, displayPhase, hostsText } from '../../status/index.ts';
import type { LedgerSession } from '../../status/index.ts';

/** What the daemon last decided for the session, in words: a recorded decision, else what its executions show. */
export function decisionOf(s: LedgerSession): { action: string; reason: string } {
  if (s.decision) return s.decision;
  const last = s.executions.at(-1);
  if (!last) return { action: 'none', reason: 'no execution recorded yet: the daemon has not accepted this restore' };
  if (last.phase === 'Accepted') return { action: 'create', reason: `accepted at ${last.acceptedAt || '?'}: the RestoreSession is created next` };
  const current = s.contentId && last.contentId !== s.contentId;
  return {
    action: 'noop',
    reason: current
      ? `the declared content (${s.contentId}) differs from the last execution (${last.contentId}); the next cycle decides`
      : `applied as declared: execution ${last.contentId} is ${last.phase}${FINAL.has(last.phase) ? ' and never runs again (bump metadata.annotations["restore.gitops/rerun"], or `restorectl rerun`, to run it again)' : ''}`,
  };
}

const FINAL = new Set(['Succeeded', 'Failed', 'Unknown', 'Invalid', 'Interrupted']);

/** `--output json` of one session. */
export function sessionDetailJson(s: LedgerSession): Record<string, unknown> {
  return {
    cluster: s.cluster,
    namespace: s.namespace,
    name: s.name,
    file: s.file,
    phase: attentionOf(s)?.phase ?? displayPhase(s),
    hosts: hostsText(s),
    source: s.source ?? null,
    contentId: s.contentId ?? null,
    repository: s.repository ?? null,
    executions: s.executions,
    status: s.status ?? null,
    decision: decisionOf(s),
    attention: attentionOf(s) ?? null,
  };
}

function table(header: string[], rows: string[][], indent = '  '): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

const or = (v: string | undefined | null, dash = '-') => (v ? v : dash);

function progressText(p: { bytesDone?: number; bytesTotal?: number; filesDone?: number; filesTotal?: number } | undefined): string {
  if (!p) return '-';
  const files = p.filesTotal !== undefined ? `${p.filesDone ?? 0}/${p.filesTotal} files` : '';
  const bytes = p.bytesTotal !== undefined ? `${p.bytesDone ?? 0}/${p.bytesTotal} B` : '';
  return [files, bytes].filter(Boolean).join(', ') || '-';
}

/** The text of one session: a heading block, then executions, hosts, conditions and what needs doing. */
export function sessionDetailText(s: LedgerSession, where: { url: string; branch: string; commit: string | null }): string {
  const last = s.executions.at(-1);
  const src = s.source;
  const commit = last?.sourceCommit ?? src?.commit ?? '';
  const decision = decisionOf(s);
  const st = s.status;
  let out = `${s.namespace}/${s.name} in cluster ${s.cluster} (${where.url} ${where.branch} at ${where.commit?.slice(0, 7) ?? '?'}: ${s.file})\n\n`;
  const facts: [string, string][] = [
    ['Phase', attentionOf(s)?.phase ?? displayPhase(s)],
    ['Hosts', `${hostsText(s)} (succeeded/total)`],
    ['Source', src ? `${or(src.url, '?')} ${src.branch ? src.branch + '@' : ''}${commit ? commit.slice(0, 12) : '?'}${src.file ? ':' + src.file : ''}` : '-'],
    ['Content id', or(s.contentId)],
    ['Repository', s.repository ? `${s.repository.namespace}/${s.repository.name}` : '-'],
    ['Accepted', or(last?.acceptedAt)],
    ['Started', or(last?.startedAt)],
    ['Finished', or(last?.finishedAt)],
    ['Duration', or(st?.sessionDuration)],
    ...(st?.sessionDeadline ? [['Deadline', st.sessionDeadline] as [string, string]] : []),
    ['Decision', `${decision.action}: ${decision.reason}`],
  ];
  const w = Math.max(...facts.map(([k]) => k.length)) + 1;
  for (const [k, v] of facts) out += `${`${k}:`.padEnd(w)} ${v}\n`;

  out += `\nExecutions (${s.executions.length}, oldest first):\n`;
  out += s.executions.length
    ? table(
        ['CONTENT ID', 'PHASE', 'SOURCE COMMIT', 'ACCEPTED', 'STARTED', 'FINISHED', 'RERUN'],
        s.executions.map((e) => [
          e.contentId,
          e.phase,
          e.sourceCommit ? e.sourceCommit.slice(0, 12) : '-',
          or(e.acceptedAt),
          or(e.startedAt),
          or(e.finishedAt),
          or(e.annotations?.['restore.gitops/rerun']),
        ]),
      )
    : '  none\n';

  const stats = st?.stats ?? [];
  out += `\nHosts (${stats.length} of ${st?.totalHosts ?? '?'} reported):\n`;
  out += stats.length
    ? table(
        ['HOST', 'PHASE', 'DURATION', 'SNAPSHOT', 'PROGRESS', 'ERROR'],
        stats.map((h) => {
          const time = (h as { snapshotTime?: string }).snapshotTime;
          return [
            h.hostname,
            or(h.phase, 'Running'),
            or(h.duration),
            h.snapshot ? `${h.snapshot}${time ? ` (${time})` : ''}` : '-',
            progressText(h.progress),
            or(h.error),
          ];
        }),
      )
    : '  none yet\n';

  const conditions = st?.conditions ?? [];
  if (conditions.length) {
    out += '\nConditions:\n';
    out += table(
      ['TYPE', 'STATUS', 'REASON', 'SINCE', 'MESSAGE'],
      conditions.map((c) => [c.type, c.status, or(c.reason), or(c.lastTransitionTime), or(c.message)]),
    );
  }
  const a = attentionOf(s);
  if (a) {
    out += `\nNeeds attention: ${a.phase}${/^\d/.test(a.problem) ? ' ' : ': '}${a.problem}\n`;
    for (const h of a.hosts) out += `  host ${h}\n`;
    out += `  to do: ${a.todo}\n`;
  }
  return out;
}
