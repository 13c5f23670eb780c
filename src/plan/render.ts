// A Plan for people (text, Markdown for a pull-request comment) and for tools (JSON, DESIGN §5).
import { formatDiagnostic } from '../manifests/diagnostic.ts';
import type { HostPlan } from '../hosts/types.ts';
import type { Action, ActionType, Plan } from './types.ts';

const ORDER: ActionType[] = ['create', 'update', 'rerun', 'prune', 'blocked', 'noop'];
const SIGN: Record<ActionType, string> = { create: '+', update: '~', rerun: '↻', prune: '-', blocked: '!', noop: '=' };

/** DESIGN §5's JSON, exactly: internal fields (rule index, effect) left out. */
export function planToJson(plan: Plan): string {
  const actions = plan.actions.map(({ effect: _effect, interrupted: _interrupted, hosts, ...a }) => ({
    ...a,
    ...(hosts ? { hosts: hosts.map(({ rule: _rule, ...h }) => h) } : {}),
  }));
  return JSON.stringify({ sourceCommit: plan.sourceCommit, diagnostics: plan.diagnostics, actions }, null, 2) + '\n';
}

function summary(plan: Plan): string {
  const counts = ORDER.map((t) => [t, plan.actions.filter((a) => a.action === t).length] as const).filter(([, n]) => n > 0);
  const errors = plan.diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = plan.diagnostics.length - errors;
  const parts = counts.length ? counts.map(([t, n]) => `${n} ${t}`) : ['nothing to do'];
  return `${parts.join(', ')}; ${errors} error(s), ${warnings} warning(s)`;
}

function restoreText(h: HostPlan): string {
  if (!h.restores) return 'nothing (no rule matches)';
  const what = h.snapshots ? `snapshots ${h.snapshots.join(', ')}` : `latest of ${h.paths!.join(', ')}`;
  const from = h.sourceHost !== h.host ? ` from ${h.sourceHost}` : '';
  const inc = h.include ? `, only ${h.include.join(', ')}` : '';
  const exc = h.exclude ? `, except ${h.exclude.join(', ')}` : '';
  return `${what}${from}${inc}${exc}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd());
}

export function planToText(plan: Plan): string {
  const out: string[] = [`Plan for ${plan.sourceCommit ? `commit ${plan.sourceCommit.slice(0, 12)}` : 'the working tree'}: ${summary(plan)}`];
  for (const a of sortActions(plan.actions)) {
    out.push('', `${SIGN[a.action]} ${a.action} ${a.kind} ${a.namespace}/${a.name}${a.file ? `  (${a.file})` : ''}`);
    if (a.reason) out.push(`    ${a.reason}`);
    if (a.effect && a.action !== 'noop') out.push(`    ${a.effect}`);
    if (a.executor) out.push(`    executor ${a.executor}, ${a.totalHosts === undefined ? 'hosts unknown' : `${a.totalHosts} host(s)`}, content id ${a.contentId}`);
    if (a.hosts?.length && a.action !== 'noop') {
      out.push(...table([['HOST', 'RESTORES'], ...a.hosts.map((h) => [h.host, restoreText(h)])]).map((l) => `    ${l}`));
    }
  }
  if (plan.diagnostics.length) {
    out.push('', 'Diagnostics:', ...plan.diagnostics.map((d) => `  ${formatDiagnostic(d)}`));
  }
  return out.join('\n') + '\n';
}

const md = (s: string) => s.replace(/([|\\`*_<>])/g, '\\$1');
const code = (s: string) => '`' + s.replace(/`/g, "'") + '`';

export function planToMarkdown(plan: Plan): string {
  const out: string[] = [
    `### restore-controller plan${plan.sourceCommit ? ` for ${code(plan.sourceCommit.slice(0, 12))}` : ''}`,
    '',
    `**${summary(plan)}**`,
    '',
  ];
  const actions = sortActions(plan.actions);
  if (actions.length) {
    out.push('| | Action | Object | Executor | Hosts | What happens |', '|---|---|---|---|---|---|');
    for (const a of actions) {
      const note = [a.reason, a.action !== 'noop' ? a.effect : undefined].filter(Boolean).map((x) => md(x!)).join('<br>');
      out.push(`| ${SIGN[a.action]} | ${a.action} | ${a.kind} ${code(`${a.namespace}/${a.name}`)} | ${a.executor ?? ''} | ${a.totalHosts ?? (a.executor ? 'unknown' : '')} | ${note} |`);
    }
  }
  for (const a of actions) {
    if (!a.hosts?.length || a.action === 'noop') continue;
    out.push('', `<details><summary>${md(`${a.namespace}/${a.name}`)}: ${a.hosts.length} host(s)</summary>`, '');
    out.push('| Host | Source host | Restores | Include | Exclude |', '|---|---|---|---|---|');
    for (const h of a.hosts) {
      const what = !h.restores ? '⚠️ nothing (no rule matches)' : h.snapshots ? `snapshots ${h.snapshots.map(code).join(', ')}` : `latest of ${h.paths!.map(code).join(', ')}`;
      out.push(`| ${code(h.host)} | ${code(h.sourceHost)} | ${what} | ${(h.include ?? []).map(code).join(' ')} | ${(h.exclude ?? []).map(code).join(' ')} |`);
    }
    out.push('', '</details>');
  }
  if (plan.diagnostics.length) {
    out.push('', '#### Diagnostics', '');
    for (const d of plan.diagnostics) {
      const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
      out.push(`- ${d.severity === 'error' ? '❌' : '⚠️'} ${code(where)} ${md(d.message)}${d.path ? ` (${code(d.path)})` : ''}`);
    }
  }
  return out.join('\n') + '\n';
}

function sortActions(actions: Action[]): Action[] {
  return [...actions].sort((a, b) => ORDER.indexOf(a.action) - ORDER.indexOf(b.action));
}
