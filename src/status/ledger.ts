// Reading the status branch back (DESIGN §2): the ledger of executions, keyed by content id, for
// the Planner. Tolerant: files from older writers (no formatVersion, no executions list) are
// understood where possible, and a file that cannot be read is a diagnostic, never a crash.
import { parseDocument } from 'yaml';
import type { Diagnostic } from '../manifests/diagnostic.ts';
import { EXECUTION_PHASES, FINAL_EXECUTION_PHASES } from './types.ts';
import type { Execution, ExecutionPhase, LedgerSession, PinnedStep, SessionSource } from './types.ts';

export interface Ledger {
  /** The status branch commit read; null when the branch does not exist yet. */
  commit: string | null;
  sessions: LedgerSession[];
  /** Every execution by content id, with the session it belongs to. */
  executions: Map<string, { execution: Execution; session: LedgerSession }>;
  diagnostics: Diagnostic[];
}

const SESSION_FILE = /^clusters\/([^/]+)\/([^/]+)\/([^/]+)\.ya?ml$/;

export function isLedgerFile(path: string): boolean {
  return SESSION_FILE.test(path);
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined);
const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Parses one per-session file. Returns the session (maybe partial) and what was wrong with it. */
export function parseLedgerFile(path: string, text: string): { session?: LedgerSession; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const diag = (message: string, severity: Diagnostic['severity'] = 'error', line = 0, field = '') =>
    diagnostics.push({ file: path, line, column: line ? 1 : 0, path: field, severity, message });
  const m = SESSION_FILE.exec(path);
  if (!m) {
    diag('not a status file (expected clusters/<cluster>/<namespace>/<name>.yaml)', 'warning');
    return { diagnostics };
  }
  const [, cluster, nsFromPath, nameFromPath] = m as unknown as [string, string, string, string];
  const doc = parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    const line = e.linePos?.[0]?.line ?? 0;
    const col = e.linePos?.[0]?.col ?? 0;
    diag(`cannot parse YAML: ${e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}; the file is ignored by the ledger`, 'error', line);
    if (diagnostics[0] && col) diagnostics[0].column = col;
    return { diagnostics };
  }
  const data: unknown = doc.toJS();
  if (!isObj(data)) {
    diag('expected a mapping at the top level; the file is ignored by the ledger');
    return { diagnostics };
  }
  const version = data.formatVersion;
  if (version !== undefined && typeof version === 'number' && version > 1) {
    diag(`written by a newer restore-controller (formatVersion ${version}); reading what is understood`, 'warning');
  }
  const namespace = str(data.namespace) ?? nsFromPath;
  const name = str(data.name) ?? nameFromPath;
  if (namespace !== nsFromPath || name !== nameFromPath) {
    diag(`names ${namespace}/${name} but sits at the path of ${nsFromPath}/${nameFromPath}; the path wins`, 'warning');
  }
  let source: SessionSource | undefined;
  if (isObj(data.source)) {
    source = {
      url: str(data.source.repo) ?? str(data.source.url) ?? '',
      branch: str(data.source.branch) ?? null,
      commit: str(data.source.commit) ?? null,
      file: str(data.source.file) ?? '',
    };
  }
  const contentId = str(data.contentId);
  const status = isObj(data.status) ? (data.status as LedgerSession['status']) : undefined;
  const executions: Execution[] = [];
  if (Array.isArray(data.executions)) {
    for (const [i, raw] of (data.executions as unknown[]).entries()) {
      const field = `executions[${i}]`;
      if (!isObj(raw)) {
        diag(`${field} is not a mapping; skipped`, 'warning', 0, field);
        continue;
      }
      const id = str(raw.contentId);
      if (!id) {
        diag(`${field} has no contentId; skipped`, 'warning', 0, field);
        continue;
      }
      let phase = str(raw.phase) as ExecutionPhase | undefined;
      if (!phase || !EXECUTION_PHASES.includes(phase)) {
        diag(
          `${field} has phase "${phase ?? ''}", not one of ${EXECUTION_PHASES.join(', ')}; read as Unknown (final, never re-run)`,
          'warning',
          0,
          `${field}.phase`,
        );
        phase = 'Unknown';
      }
      const e: Execution = { contentId: id, phase, acceptedAt: str(raw.acceptedAt) ?? str(raw.startedAt) ?? '' };
      for (const k of ['startedAt', 'finishedAt', 'sourceCommit'] as const) {
        const v = str(raw[k]);
        if (v) e[k] = v;
      }
      if (isObj(raw.annotations))
        e.annotations = Object.fromEntries(Object.entries(raw.annotations).filter((x): x is [string, string] => typeof x[1] === 'string'));
      const snapshots = isObj(raw.snapshots) ? pinnedSteps(raw.snapshots) : undefined;
      if (snapshots) e.snapshots = snapshots;
      executions.push(e);
    }
  } else if (data.executions !== undefined) {
    diag('executions is not a list; ignored', 'warning', 0, 'executions');
  }
  if (!executions.length && contentId && status?.phase) {
    // Files of early writers carried only the current content id and the session status.
    executions.push({ contentId, phase: status.phase, acceptedAt: '' });
  }
  const decision =
    isObj(data.decision) && str(data.decision.reason) ? { action: str(data.decision.action) ?? 'blocked', reason: str(data.decision.reason)! } : undefined;
  const spec = isObj(data.spec) ? data.spec : undefined;
  const repo =
    spec && isObj(spec.repository) && str(spec.repository.name)
      ? { namespace: str(spec.repository.namespace) ?? nsFromPath, name: str(spec.repository.name)! }
      : undefined;
  return {
    session: {
      cluster,
      namespace: nsFromPath,
      name: nameFromPath,
      file: path,
      ...(source ? { source } : {}),
      ...(contentId ? { contentId } : {}),
      executions,
      ...(status ? { status } : {}),
      ...(decision ? { decision } : {}),
      ...(repo ? { repository: repo } : {}),
      ...(spec ? { spec } : {}),
    },
    diagnostics,
  };
}

/** Builds the ledger from the status branch's files (path → text); `cluster` limits it to one cluster. */
export function buildLedger(files: Iterable<[string, string]>, opts: { commit?: string | null; cluster?: string } = {}): Ledger {
  const ledger: Ledger = { commit: opts.commit ?? null, sessions: [], executions: new Map(), diagnostics: [] };
  for (const [path, text] of files) {
    if (!isLedgerFile(path)) continue;
    if (opts.cluster && !path.startsWith(`clusters/${opts.cluster}/`)) continue;
    const { session, diagnostics } = parseLedgerFile(path, text);
    ledger.diagnostics.push(...diagnostics);
    if (!session) continue;
    ledger.sessions.push(session);
    for (const execution of session.executions) {
      const seen = ledger.executions.get(execution.contentId);
      if (seen && seen.session.file !== session.file) {
        ledger.diagnostics.push({
          file: path,
          line: 0,
          column: 0,
          path: 'executions',
          severity: 'warning',
          message: `content id ${execution.contentId} is also recorded in ${seen.session.file}; the final one counts`,
        });
        if (isFinalExecution(seen.execution) && !isFinalExecution(execution)) continue;
      }
      ledger.executions.set(execution.contentId, { execution, session });
    }
  }
  ledger.sessions.sort((a, b) => a.cluster.localeCompare(b.cluster) || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  return ledger;
}

/** The ledger as the Planner takes it (`PlanInput.ledger`): content id → execution. */
export function executionsById(ledger: Ledger): Map<string, Execution> {
  return new Map([...ledger.executions].map(([id, { execution }]) => [id, execution]));
}

export function isFinalExecution(e: Execution): boolean {
  return FINAL_EXECUTION_PHASES.includes(e.phase);
}

/** An execution's `snapshots` as written (host → steps); steps without `requested` are dropped. */
function pinnedSteps(raw: Record<string, unknown>): Record<string, PinnedStep[]> | undefined {
  const out: Record<string, PinnedStep[]> = {};
  for (const [host, steps] of Object.entries(raw)) {
    if (!Array.isArray(steps)) continue;
    out[host] = steps.filter(isObj).flatMap((st) => {
      const requested = str(st.requested);
      if (!requested) return [];
      const step: PinnedStep = { requested };
      for (const k of ['path', 'id', 'time', 'unresolved'] as const) {
        const v = str(st[k]);
        if (v) step[k] = v;
      }
      return [step];
    });
  }
  return Object.keys(out).length ? out : undefined;
}
