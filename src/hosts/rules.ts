// Rule matching (SPEC Rules): a rule listing the host wins over the catch-all; order does not matter.
import type { Rule } from '../api/restoresession.ts';
import type { HostPlan } from './types.ts';

export function matchRule(rules: readonly Rule[], host: string): { rule: Rule; index: number } | undefined {
  let catchAll: number | undefined;
  for (let i = 0; i < rules.length; i++) {
    const hosts = rules[i]!.targetHosts ?? [];
    if (hosts.length === 0) catchAll ??= i;
    else if (hosts.includes(host)) return { rule: rules[i]!, index: i };
  }
  return catchAll === undefined ? undefined : { rule: rules[catchAll]!, index: catchAll };
}

/** What `host` restores under `rules`. */
export function planHost(rules: readonly Rule[], host: string): HostPlan {
  const match = matchRule(rules, host);
  if (!match) return { host, sourceHost: host, restores: false };
  const { rule, index } = match;
  const some = (xs: string[] | undefined) => (xs?.length ? [...xs] : undefined);
  const plan: HostPlan = {
    host,
    sourceHost: rule.sourceHost || host,
    snapshots: some(rule.snapshots),
    paths: some(rule.paths),
    include: some(rule.include),
    exclude: some(rule.exclude),
    restores: Boolean(rule.snapshots?.length || rule.paths?.length),
    rule: index,
  };
  for (const k of ['snapshots', 'paths', 'include', 'exclude'] as const) if (plan[k] === undefined) delete plan[k];
  return plan;
}
