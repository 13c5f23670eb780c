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
  const where = d.line > 0 ? `${d.file}:${d.line}:${d.column}` : d.file;
  const field = d.path ? ` (${d.path})` : '';
  return `${where}: ${d.severity}: ${d.message}${field}`;
}

export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return ds.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.message.localeCompare(b.message));
}
