// Structured JSON logs, one object per line, level from LOG_LEVEL (debug, info, warn, error).
// Known secret values are replaced before anything is written.

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];

export type Logger = (level: Level, message: string, fields?: Record<string, unknown>) => void;

export function jsonLogger(write: (line: string) => void, opts: { level?: string; secrets?: string[]; component?: string } = {}): Logger {
  const min = Math.max(0, LEVELS.indexOf((opts.level ?? 'info') as Level));
  // A line is JSON: a secret holding a quote, a backslash or a control character appears escaped.
  const secrets = [...new Set((opts.secrets ?? []).filter((s) => s.length >= 4).flatMap((s) => [JSON.stringify(s).slice(1, -1), s]))];
  const scrub = (text: string) => secrets.reduce((t, s) => t.split(s).join('[REDACTED]'), text);
  return (level, msg, fields = {}) => {
    if (LEVELS.indexOf(level) < min) return;
    write(scrub(JSON.stringify({ time: new Date().toISOString(), level, ...(opts.component ? { component: opts.component } : {}), msg, ...fields })) + '\n');
  };
}
