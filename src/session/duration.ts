// Go-style durations, as Stash writes them (`timeOut: 1h30m`, `sessionDuration: 2m41s`).

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds of a Go duration, as time.ParseDuration reads it (Stash decodes timeOut with it):
 * `30m`, `1h30m`, `1.5h`, `.5h`, `1.h`, `90s`, `0`, with an optional sign. Undefined when it is not one.
 */
export function parseDuration(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest[0] === '-') sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  const re = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    total += Number(m[1]!.endsWith('.') ? m[1]!.slice(0, -1) : m[1]) * UNIT_MS[m[2]!]!;
    matched = re.lastIndex;
  }
  return matched === rest.length ? sign * total : undefined;
}

/** `2m41s`, `1h0m5s`, `0s`: Go's Duration.String() rounded to the second. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h) return `${h}h${m}m${sec}s`;
  if (m) return `${m}m${sec}s`;
  return `${sec}s`;
}
