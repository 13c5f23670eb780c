// The one logger of restore-controller. Components take a Logger and add their own fields with
// `child` (`{component: 'controller'}`, then `{namespace, name}` per session), so every line is
// structured and a reader can filter by session. The level is chosen where the line is written,
// never guessed from the text. Every line passes through the process's Redactor.
import { Redactor } from './redact.ts';

export const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type Level = (typeof LEVELS)[number];
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** A logger whose lines also carry `fields`. */
  child(fields: Fields): Logger;
}

/** Where a logger's records go: one record per call, fields already merged. */
export type Sink = (record: { time: string; level: Level; msg: string } & Fields) => void;

export interface LoggerOptions {
  /** Lowest level written (default info); an unknown name means info. */
  level?: string;
  /** Secret values to mask, besides the credential shapes every line is checked for. */
  redactor?: Redactor;
  fields?: Fields;
  now?: () => Date;
}

export function parseLevel(level: string | undefined): Level {
  return (LEVELS as readonly string[]).includes(level ?? '') ? (level as Level) : 'info';
}

/** A Logger over a sink; the base of the others. */
export function sinkLogger(sink: Sink, opts: LoggerOptions = {}): Logger {
  const min = LEVELS.indexOf(parseLevel(opts.level));
  const now = opts.now ?? (() => new Date());
  const make = (fields: Fields): Logger => {
    const at = (level: Level) => (msg: string, more?: Fields) => {
      if (LEVELS.indexOf(level) < min) return;
      sink({ time: now().toISOString(), level, ...fields, msg, ...more });
    };
    return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => make({ ...fields, ...more }) };
  };
  return make(opts.fields ?? {});
}

/** JSON lines (one object per line) written through `write`, redacted after encoding. */
export function jsonLogger(write: (line: string) => void, opts: LoggerOptions = {}): Logger {
  const redactor = opts.redactor ?? new Redactor();
  return sinkLogger((record) => write(redactor.text(JSON.stringify(record, jsonSafe)) + '\n'), opts);
}

/** Human-readable lines (`msg key=value …`) for a terminal, as the sandbox and the demo print. */
export function textLogger(write: (line: string) => void, opts: LoggerOptions = {}): Logger {
  const redactor = opts.redactor ?? new Redactor();
  return sinkLogger(({ time: _time, level, msg, ...fields }) => {
    const extra = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v, jsonSafe)}`);
    write(redactor.text([level === 'info' ? '' : `${level}:`, msg, ...extra].filter(Boolean).join(' ')) + '\n');
  }, opts);
}

/** Drops everything: the default where no logger is given. */
export const nullLogger: Logger = sinkLogger(() => {}, { level: 'error' });

// An Error as a field is written as its message and code, not as `{}`.
function jsonSafe(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { message: value.message, ...('code' in value ? { code: (value as { code: unknown }).code } : {}) };
  return value;
}
