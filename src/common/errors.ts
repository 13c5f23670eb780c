// The one error base of restore-controller (after isomorphic-git's errors): every error the
// program raises on purpose is a RestoreError with a stable `code` to switch on and typed `data`
// for callers, so nobody matches message text. Codes are PascalCase nouns or past participles
// (`GitAuthFailed`, `SecretKeyMissing`); a module keeps its codes in one union type next to the
// subclass it throws. Messages say what failed, where, and what to do, and never hold a secret.

export abstract class RestoreError<Code extends string = string, Data extends object = Record<string, unknown>> extends Error {
  readonly code: Code;
  readonly data: Data;
  constructor(code: Code, message: string, data: Data, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.data = data;
    // The subclass's name (`GitError`, `ResticError`), shown by util.inspect and stack traces.
    this.name = new.target.name;
  }
}

/** True when `e` is a RestoreError, and when `code` is given, one with that code. */
export function isRestoreError(e: unknown, code?: string): e is RestoreError {
  return e instanceof RestoreError && (code === undefined || e.code === code);
}

/** The message of anything thrown, for a log line or a condition (callers redact it). */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
