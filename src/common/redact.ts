// The one redaction of restore-controller: what keeps secret values (git tokens and keys, restic
// passwords, Secret data, database passwords) out of logs, errors, events and the status branch.
//
// Two kinds of protection, applied together by `redact`:
// - known values: every secret the program has read (a Secret's data, a credential), in each shape
//   it can take in text: raw, URL-encoded, base64, JSON-escaped, and line by line when it spans
//   lines (a key file, a certificate);
// - shapes: whatever the value, URL user-info (`https://user:token@host`), `Authorization:` and
//   `Bearer`/`Basic` credentials, `password=…`-style assignments and well-known token formats.
// Everything is replaced by one mask, MASK.

export const MASK = '<redacted>';

/** Shorter values are not masked: a two-letter "secret" would mask every word that holds it. */
const MIN_SECRET_LENGTH = 3;
/** A line of a multi-line secret is masked on its own when it is at least this long. */
const MIN_LINE_LENGTH = 8;

const SHAPES: [RegExp, string][] = [
  [/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, `$1${MASK}@`],
  [/\b(authorization\s*[:=]\s*)(?:(?:basic|bearer|token)\s+)?[^\s,;'"]+/gi, `$1${MASK}`],
  [/\b(bearer|basic)\s+(?!<redacted>)[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${MASK}`],
  [
    /\b([A-Za-z_]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)[A-Za-z_]*\s*[=:]\s*)(?!<redacted>)("[^"]*"|'[^']*'|[^\s,;&]+)/gi,
    `$1${MASK}`,
  ],
  [/\b(gh[pousr]_[A-Za-z0-9]{20,}|glpat-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16})\b/g, MASK],
];
/** Text without any of these characters or words cannot match a shape: skip the regexps. */
const MAYBE_SHAPED = /[:=@]|bearer|basic|gh[pousr]_|glpat|AKIA/i;

/** Every form a secret value can take in text, longest first. */
export function secretVariants(secret: string): string[] {
  if (secret.length < MIN_SECRET_LENGTH) return [];
  const out = new Set<string>([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64'), JSON.stringify(secret).slice(1, -1)]);
  if (secret.includes('\n')) {
    for (const line of secret.split('\n')) {
      const t = line.trim();
      if (t.length >= MIN_LINE_LENGTH) out.add(t);
    }
  }
  return [...out];
}

/**
 * Knows a set of secret values and removes them, and every credential shape, from text and data.
 * Build one per set of secrets (it precomputes the variants) and pass it where text is shown.
 */
export class Redactor {
  private readonly needles: string[];
  constructor(secrets: Iterable<string | undefined> = []) {
    const all = new Set<string>();
    for (const s of secrets) if (s) for (const v of secretVariants(s)) all.add(v);
    this.needles = [...all].sort((a, b) => b.length - a.length);
  }

  /** A Redactor that also knows `secrets`. */
  with(secrets: Iterable<string | undefined>): Redactor {
    return new Redactor([...this.needles, ...secrets]);
  }

  get secretCount(): number {
    return this.needles.length;
  }

  text(text: string): string {
    let out = text;
    for (const n of this.needles) if (out.includes(n)) out = out.split(n).join(MASK);
    if (!MAYBE_SHAPED.test(out)) return out;
    for (const [re, rep] of SHAPES) out = out.replace(re, rep);
    return out;
  }

  /**
   * A deep copy with every string redacted and the values of `env` entries (`[{name, value}]`)
   * masked: an env value in runtimeSettings is configuration that may be a secret.
   */
  deep<T>(value: T): T {
    const walk = (v: unknown, key: string | undefined): unknown => {
      if (typeof v === 'string') return this.text(v);
      if (Array.isArray(v)) {
        if (key === 'env')
          return v.map((e) => (e && typeof e === 'object' && 'value' in e ? { ...(walk(e, undefined) as object), value: MASK } : walk(e, undefined)));
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
}

/** `text` with `secrets` (in every variant) and every credential shape masked. */
export function redact(text: string, secrets: Iterable<string | undefined> = []): string {
  return new Redactor(secrets).text(text);
}

/** A URL without its user-info (`https://user:token@host/x` → `https://host/x`), for display and storage. */
export function stripUrlCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1');
}
