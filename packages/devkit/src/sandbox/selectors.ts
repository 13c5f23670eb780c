// Label selectors (`app=web,tier!=db,env in (a,b),!legacy`) and field selectors
// (`metadata.name=x,status.phase!=Running`) as the API server parses them.
import { badRequest } from './errors.ts';
import type { Obj } from './store.ts';

export type Matcher = (obj: Obj) => boolean;

interface Requirement {
  key: string;
  op: '=' | '!=' | 'in' | 'notin' | 'exists' | '!';
  values: string[];
}

/** Splits on commas that are not inside parentheses. */
function splitTerms(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

function parseLabelRequirement(term: string): Requirement {
  let m = /^([^\s!=(),]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (m)
    return {
      key: m[1]!,
      op: m[2] as 'in' | 'notin',
      values: m[3]!
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== ''),
    };
  m = /^([^\s!=]+)\s*(==|=|!=)\s*([^\s]*)$/.exec(term);
  if (m) return { key: m[1]!, op: m[2] === '!=' ? '!=' : '=', values: [m[3]!] };
  m = /^!\s*([^\s!=]+)$/.exec(term);
  if (m) return { key: m[1]!, op: '!', values: [] };
  m = /^([^\s!=(),]+)$/.exec(term);
  if (m) return { key: m[1]!, op: 'exists', values: [] };
  throw badRequest(`unable to parse requirement: invalid label selector term "${term}"`);
}

export function labelMatcher(selector: string | undefined): Matcher {
  if (!selector) return () => true;
  const reqs = splitTerms(selector).map(parseLabelRequirement);
  return (obj) => {
    const labels: Record<string, string> = obj.metadata.labels ?? {};
    return reqs.every((r) => {
      const has = Object.hasOwn(labels, r.key);
      const v = labels[r.key];
      switch (r.op) {
        case '=':
          return has && v === r.values[0];
        case '!=':
          return !has || v !== r.values[0];
        case 'in':
          return has && r.values.includes(v!);
        case 'notin':
          return !has || !r.values.includes(v!);
        case 'exists':
          return has;
        case '!':
          return !has;
        default:
          return false;
      }
    });
  };
}

/** Matches a label selector object (`matchLabels` + `matchExpressions`) as controllers use it. */
export function selectorObjectMatches(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values?: string[] }> } | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!selector) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = k(e.key);
    if (e.operator === 'In' && !(has && e.values?.includes(l[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && e.values?.includes(l[e.key]!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
  function k(key: string): boolean {
    return Object.hasOwn(l, key);
  }
}

function fieldValue(obj: Obj, path: string): string {
  let cur: any = obj;
  for (const seg of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return '';
    cur = cur[seg];
  }
  if (cur === undefined || cur === null) return '';
  return typeof cur === 'object' ? JSON.stringify(cur) : String(cur);
}

/** Field selectors on any dotted path of the object (the real server allows a per-kind subset). */
export function fieldMatcher(selector: string | undefined): Matcher {
  if (!selector) return () => true;
  const reqs = splitTerms(selector).map((term) => {
    const m = /^([^!=]+?)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid field selector: "${term}"`);
    return { path: m[1]!.trim(), negate: m[2] === '!=', value: m[3]!.trim() };
  });
  return (obj) => reqs.every((r) => (fieldValue(obj, r.path) === r.value) !== r.negate);
}
