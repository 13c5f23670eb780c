// Keep secret values out of anything shown: restic's stderr, errors, events, status.

const MIN_LENGTH = 3;
const MASK = '***';

/**
 * Replace every occurrence of a secret value in `text` with `***`. Multi-line values (a service
 * account key, a certificate) are also redacted line by line. URL credentials (`scheme://user:pass@`)
 * are masked whatever they are.
 */
export function redact(text: string, secrets: readonly string[]): string {
  const needles = new Set<string>();
  for (const s of secrets) {
    if (s.length >= MIN_LENGTH) needles.add(s);
    if (s.includes('\n')) {
      for (const line of s.split('\n')) {
        const t = line.trim();
        if (t.length >= 8) needles.add(t);
      }
    }
  }
  let out = text;
  for (const n of [...needles].sort((a, b) => b.length - a.length)) out = out.split(n).join(MASK);
  return out.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/\s:@]+:[^/\s@]+@/gi, `$1${MASK}:${MASK}@`);
}

/** The last `maxLines` non-empty lines of `text` (at most `maxChars`), for an error message. */
export function tail(text: string, maxLines = 10, maxChars = 2000): string {
  const lines = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  let out = lines.slice(-maxLines).join('\n');
  if (out.length > maxChars) out = '…' + out.slice(-maxChars);
  return out;
}
