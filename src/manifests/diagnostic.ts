// One problem found in a manifest, pointing at the file, line, column and field (DESIGN §1, §5).

export type Severity = 'error' | 'warning';

export interface Diagnostic {
  file: string;
  /** 1-based; 0 when the problem is about the file as a whole. */
  line: number;
  /** 1-based; 0 when the problem is about the file as a whole. */
  column: number;
  /** The field at fault, e.g. `spec.target.rules[1].targetHosts`; empty for the whole document. */
  path: string;
  severity: Severity;
  message: string;
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** `file:line:col: severity: message`, the form editors and CI annotations understand. */
export function formatDiagnostic(d: Diagnostic): string {
  const file = oneLine(d.file);
  const where = d.line > 0 ? `${file}:${d.line}:${d.column}` : file;
  const field = d.path ? ` (${oneLine(d.path)})` : '';
  return `${where}: ${d.severity}: ${oneLine(d.message)}${field}`;
}

/** Control characters escaped (`\n`, `\t`, `\x1b`…), so a file name cannot split or forge a line. */
function oneLine(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this escapes
  return s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = c.charCodeAt(0);
    return named[c] ?? (code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`);
  });
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.message.localeCompare(b.message));
}
