// A Plan for people (text, Markdown for a pull-request comment) and for tools (JSON, DESIGN §5).
// People read the diagnostics first (errors, then warnings), then the actions, then one line per
// host: which snapshot it restores, from which source host, which paths, include and exclude.
// A planned change (`plan.review`) lists in detail only what the change adds, changes or removes;
// everything else is summed up in one line.
import { formatDiagnostic } from '../manifests/diagnostic.ts';
import type { Diagnostic } from '../manifests/diagnostic.ts';
import type { HostPlan } from '../hosts/types.ts';
import type { Action, ActionType, Change, Plan, SnapshotPin } from './types.ts';

/** The first line of every Markdown plan: how a CI job finds its earlier comment to update it. */
export const PLAN_COMMENT_MARKER = '<!-- restorectl-plan -->';

const ORDER: ActionType[] = ['create', 'update', 'rerun', 'prune', 'blocked', 'noop'];
const SIGN: Record<ActionType, string> = { create: '+', update: '~', rerun: '↻', prune: '-', blocked: '!', noop: '=' };
const CHANGE_WORD: Record<Change, string> = { added: 'added', changed: 'changed', removed: 'removed', unchanged: 'unchanged' };

/** DESIGN §5's JSON, exactly: internal fields (rule index, effect, change, snapshots) left out. */
export function planToJson(plan: Plan): string {
  const actions = plan.actions.map(({ effect: _effect, interrupted: _interrupted, change: _change, snapshots: _snapshots, rerun: _rerun, hosts, ...a }) => ({
    ...a,
    ...(hosts ? { hosts: hosts.map(({ rule: _rule, ...h }) => h) } : {}),
  }));
  return JSON.stringify({ sourceCommit: plan.sourceCommit, diagnostics: plan.diagnostics, actions }, null, 2) + '\n';
}

/** `restores dumpfile.sql into PostgreSQL at db:5432 (AppBinding demo/db)` for a built-in database restore. */
function databaseText(a: Action): string | undefined {
  const d = a.database;
  if (!d) return undefined;
  return `restores ${d.dumpFile} of each host's snapshot into ${d.database}${d.server ? ` at ${d.server}` : ''} (AppBinding ${d.appBinding}), built in`;
}

/** `job (task postgres-restore-11.9)` for a task restore, else the executor. */
function executorText(a: Action): string {
  return a.task ? `${a.executor} (task ${a.task})` : (a.executor ?? '');
}

function counts(actions: readonly Action[]): string {
  const c = ORDER.map((t) => [t, actions.filter((a) => a.action === t).length] as const).filter(([, n]) => n > 0);
  return c.length ? c.map(([t, n]) => `${n} ${t}`).join(', ') : 'nothing to do';
}

function summary(plan: Plan): string {
  const errors = plan.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = plan.diagnostics.length - errors;
  const changed = plan.review ? `this change: ${counts(touched(plan))}; whole plan: ` : '';
  return `${changed}${counts(plan.actions)}; ${errors} error(s), ${warnings} warning(s)`;
}

const isTouched = (a: Action) => a.change !== undefined && a.change !== 'unchanged';
const touched = (plan: Plan) => (plan.review ? plan.actions.filter(isTouched) : plan.actions);

/** Errors, then warnings; within each, by file and position. */
function ordered(ds: readonly Diagnostic[]): Diagnostic[] {
  const rank = (d: Diagnostic) => (d.severity === 'error' ? 0 : 1);
  return [...ds].sort((a, b) => rank(a) - rank(b) || a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column);
}

/**
 * The diagnostics to show: all of them, except that a planned change shows warnings only for the
 * files it touches (and those about no file); `hidden` counts the rest.
 */
function shown(plan: Plan): { list: Diagnostic[]; hidden: number } {
  const all = ordered(plan.diagnostics);
  if (!plan.review) return { list: all, hidden: 0 };
  const files = new Set(plan.review.changedFiles);
  const list = all.filter((d) => d.severity === 'error' || !d.file || files.has(d.file));
  return { list, hidden: all.length - list.length };
}

function sortActions(actions: readonly Action[]): Action[] {
  return [...actions].sort((a, b) => ORDER.indexOf(a.action) - ORDER.indexOf(b.action));
}

/** How cells are written: plain text, or Markdown (identifiers in code spans, prose escaped). */
interface Style {
  code: (s: string) => string;
  prose: (s: string) => string;
  list: (xs: string[] | undefined) => string;
  /** The snapshot cell of a host that restores nothing. */
  nothing: string;
}

/** What the snapshot column says for a host: the pinned ids, or what the rule asks for. */
function snapshotCell(h: HostPlan, pins: SnapshotPin[] | undefined, st: Style, shared: string | undefined): string {
  if (!h.restores) return st.nothing;
  const steps: SnapshotPin[] =
    pins ?? (h.snapshots?.length ? h.snapshots.map((requested) => ({ requested })) : (h.paths ?? []).map((path) => ({ requested: 'latest', path })));
  const many = steps.filter((s) => s.path).length > 1;
  return steps
    .map((s) => {
      const requested = s.requested === 'latest' ? 'latest' : st.code(s.requested);
      const what = s.snapshot
        ? `${st.code(s.snapshot.shortId)} (${s.snapshot.time})`
        : s.unresolved === undefined
          ? requested
          : s.unresolved === shared
            ? `${requested} (not resolved)`
            : `${requested} (not resolved: ${st.prose(s.unresolved)})`;
      return many && s.path ? `${st.code(s.path)}: ${what}` : what;
    })
    .join('; ');
}

/** The one reason no snapshot of an action's hosts was resolved, when several hosts share it (said once). */
function sharedReason(a: Action): string | undefined {
  const reasons = new Set<string>();
  let hosts = 0;
  for (const pins of Object.values(a.snapshots ?? {})) {
    const unresolved = pins.filter((p) => p.unresolved !== undefined);
    if (unresolved.length) hosts++;
    for (const p of unresolved) reasons.add(p.unresolved!);
  }
  return reasons.size === 1 && hosts > 1 ? [...reasons][0] : undefined;
}

function hostRows(a: Action, st: Style): string[][] {
  const shared = sharedReason(a);
  return (a.hosts ?? []).map((h) => [
    st.code(h.host),
    snapshotCell(h, a.snapshots?.[h.host], st, shared),
    h.restores ? st.code(h.sourceHost) : '',
    h.restores ? st.list(h.paths) : '',
    h.restores ? st.list(h.include) : '',
    h.restores ? st.list(h.exclude) : '',
  ]);
}

const HOST_HEADER = ['HOST', 'SNAPSHOT', 'SOURCE HOST', 'PATHS', 'INCLUDE', 'EXCLUDE'];

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

function title(plan: Plan): string {
  const head = plan.sourceCommit ? `commit ${plan.sourceCommit.slice(0, 12)}` : 'the working tree';
  if (!plan.review) return head;
  const { baseCommit, baseLabel } = plan.review;
  const base = !baseCommit
    ? baseLabel
    : baseCommit.startsWith(baseLabel.toLowerCase())
      ? `commit ${baseCommit.slice(0, 12)}`
      : `${baseLabel} (${baseCommit.slice(0, 12)})`;
  return `${head} merged into ${base}`;
}

function untouchedLine(plan: Plan): string | undefined {
  if (!plan.review) return undefined;
  const rest = plan.actions.filter((a) => !isTouched(a));
  if (!rest.length) return undefined;
  const sessions = rest.filter((a) => a.kind === 'RestoreSession').length;
  const repos = rest.length - sessions;
  const what = [
    sessions ? `${sessions} RestoreSession${sessions === 1 ? '' : 's'}` : '',
    repos ? `${repos} ${repos === 1 ? 'Repository' : 'Repositories'}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return `${what}: ${counts(rest)}`;
}

export function planToText(plan: Plan): string {
  const out: string[] = [`Plan for ${title(plan)}: ${summary(plan)}`];
  const diags = shown(plan);
  if (diags.list.length || diags.hidden) {
    out.push('', 'Diagnostics:', ...diags.list.map((d) => `  ${formatDiagnostic(d)}`));
    if (diags.hidden) out.push(`  … and ${diags.hidden} warning(s) in files this change does not touch (all are in --output json)`);
  }
  const detailed = sortActions(touched(plan));
  if (plan.review)
    out.push(
      '',
      detailed.length || plan.review.removed.length ? 'What this change does:' : 'This change adds, changes and removes no RestoreSession or Repository.',
    );
  const plain: Style = { code: (x) => x, prose: (x) => x, list: (xs) => (xs?.length ? xs.join(', ') : '-'), nothing: 'nothing (no rule matches)' };
  for (const a of detailed) {
    const change = a.change ? ` [${CHANGE_WORD[a.change]}]` : '';
    out.push('', `${SIGN[a.action]} ${a.action} ${a.kind} ${a.namespace}/${a.name}${change}${a.file ? `  (${a.file})` : ''}`);
    if (a.reason) out.push(`    ${a.reason}`);
    if (a.effect && a.action !== 'noop') out.push(`    ${a.effect}`);
    if (a.executor)
      out.push(`    executor ${executorText(a)}, ${a.totalHosts === undefined ? 'hosts unknown' : `${a.totalHosts} host(s)`}, content id ${a.contentId}`);
    const database = databaseText(a);
    if (database && a.action !== 'noop') out.push(`    ${database}`);
    const shared = sharedReason(a);
    if (shared) out.push(`    latest not resolved: ${shared}`);
    if (a.hosts?.length && a.action !== 'noop') out.push(...table([HOST_HEADER, ...hostRows(a, plain)]).map((l) => `    ${l}`));
  }
  for (const r of plan.review?.removed ?? []) {
    out.push('', `- removed ${r.kind} ${r.namespace}/${r.name} [removed]  (was ${r.file}): nothing live to prune`);
  }
  const rest = untouchedLine(plan);
  if (rest) out.push('', `Not touched by this change: ${rest}`);
  return out.join('\n') + '\n';
}

const md = (s: string) => s.replace(/([|\\`*_<>[\]])/g, '\\$1');
const code = (s: string) => '`' + s.replace(/`/g, "'").replace(/\|/g, '\\|') + '`';

export function planToMarkdown(plan: Plan): string {
  const out: string[] = [
    PLAN_COMMENT_MARKER,
    `### restore-controller plan for ${plan.review ? md(title(plan)) : plan.sourceCommit ? code(plan.sourceCommit.slice(0, 12)) : 'the working tree'}`,
    '',
    `**${md(summary(plan))}**`,
  ];
  const diags = shown(plan);
  if (diags.list.length || diags.hidden) {
    out.push('', '#### Diagnostics', '');
    for (const d of diags.list) {
      const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
      out.push(`- ${d.severity === 'error' ? '❌ error' : '⚠️ warning'} ${where ? `${code(where)} ` : ''}${md(d.message)}${d.path ? ` (${code(d.path)})` : ''}`);
    }
    if (diags.hidden) out.push(`- … and ${diags.hidden} warning(s) in files this change does not touch (all are in \`--output json\`)`);
  }
  const actions = sortActions(touched(plan));
  const removed = plan.review?.removed ?? [];
  if (plan.review)
    out.push('', actions.length || removed.length ? '#### What this change does' : '_This change adds, changes and removes no RestoreSession or Repository._');
  if (actions.length || removed.length) {
    const withChange = !!plan.review;
    out.push(
      '',
      `| | Action |${withChange ? ' Change |' : ''} Object | Executor | Hosts | What happens |`,
      `|---|---|${withChange ? '---|' : ''}---|---|---|---|`,
    );
    for (const a of actions) {
      const note = [a.reason, a.action !== 'noop' ? a.effect : undefined, a.action !== 'noop' ? databaseText(a) : undefined]
        .filter(Boolean)
        .map((x) => md(x!))
        .join('<br>');
      out.push(
        `| ${SIGN[a.action]} | ${a.action} |${withChange ? ` ${a.change ?? ''} |` : ''} ${a.kind} ${code(`${a.namespace}/${a.name}`)} | ${a.executor ? md(executorText(a)) : ''} | ${a.totalHosts ?? (a.executor ? 'unknown' : '')} | ${note} |`,
      );
    }
    for (const r of removed) {
      out.push(`| - | none | removed | ${r.kind} ${code(`${r.namespace}/${r.name}`)} | | | removed from ${code(r.file)}; nothing live to prune |`);
    }
  }
  const mdStyle: Style = { code, prose: md, list: (xs) => (xs ?? []).map(code).join(' '), nothing: '⚠️ nothing (no rule matches)' };
  for (const a of actions) {
    if (!a.hosts?.length || a.action === 'noop') continue;
    const heading = `${code(`${a.namespace}/${a.name}`)}: ${a.hosts.length} host(s)`;
    if (plan.review) out.push('', `##### ${heading}`, '');
    else out.push('', `<details><summary>${md(`${a.namespace}/${a.name}`)}: ${a.hosts.length} host(s)</summary>`, '');
    const shared = sharedReason(a);
    if (shared) out.push(`Snapshots not resolved: ${md(shared)}`, '');
    out.push('| Host | Snapshot | Source host | Paths | Include | Exclude |', '|---|---|---|---|---|---|');
    for (const row of hostRows(a, mdStyle)) out.push(`| ${row.join(' | ')} |`);
    if (!plan.review) out.push('', '</details>');
  }
  const rest = untouchedLine(plan);
  if (rest) out.push('', `**Not touched by this change:** ${md(rest)}`);
  return out.join('\n') + '\n';
}
