// Nothing secret is ever written to the status branch (DESIGN §4): env values of runtimeSettings,
// credentials inside URLs, tokens and passwords that show up in messages.

export const REDACTED = '<redacted>';

const PATTERNS: [RegExp, string][] = [
  [/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1'],
  [/\b(authorization\s*[:=]\s*)(?:(?:basic|bearer|token)\s+)?[^\s,;'"]+/gi, `$1${REDACTED}`],
  [/\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`],
  [/\b([A-Za-z_]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[A-Za-z_]*\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&]+)/gi, `$1${REDACTED}`],
  [/\b(gh[pousr]_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})\b/g, REDACTED],
];

/** Removes credentials from free text (condition messages, host errors). */
const MAYBE_SECRET = /[:=@]|bearer|basic|gh[pousr]_|glpat|AKIA/i;

export function redactText(text: string, extra: string[] = []): string {
  let out = text;
  if (!extra.length && !MAYBE_SECRET.test(text)) return text;
  for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
  for (const s of extra) if (s && s.length >= 3) out = out.split(s).join(REDACTED);
  return out;
}

/**
 * A deep copy with every string passed through redactText, and the values of `env` entries
 * (`[{name, value}]`) replaced: an env value in runtimeSettings is configuration that may be a secret.
 */
export function redactDeep<T>(value: T, extra: string[] = []): T {
  const walk = (v: unknown, key: string | undefined): unknown => {
    if (typeof v === 'string') return redactText(v, extra);
    if (Array.isArray(v)) {
      if (key === 'env') return v.map((e) => (e && typeof e === 'object' && 'value' in e ? { ...walk(e, undefined) as object, value: REDACTED } : walk(e, undefined)));
      return v.map((x) => walk(x, undefined));
    }
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, k);
      return out;
    }
    return v;
  };
  return walk(value, undefined) as T;
}
