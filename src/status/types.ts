// The StatusWriter's input (DESIGN §4): a snapshot of every RestoreSession the daemon manages, as
// the daemon sees it at the end of a cycle. The writer renders it into files on the status branch;
// the ledger reader turns those files back into the same shapes.
import type { Diagnostic } from '../manifests/diagnostic.ts';
import type { RestorePhase, RestoreSessionSpec, RestoreSessionStatus } from '../api/restoresession.ts';

/**
 * One execution of one declared restore: the ledger's unit (DESIGN §2). A content id is executed
 * at most once, so `contentId` identifies the execution.
 * - `Accepted`: recorded (and pushed) before the RestoreSession is created;
 * - a RestorePhase once the session exists (`Pending`, `Running`, then a final one);
 * - `Interrupted`: the session vanished while running; it is not run again.
 */
export type ExecutionPhase = 'Accepted' | RestorePhase | 'Interrupted';

export const EXECUTION_PHASES: readonly ExecutionPhase[] = ['Accepted', 'Pending', 'Running', 'Succeeded', 'Failed', 'Unknown', 'Invalid', 'Interrupted'];

/** Phases after which an execution never runs again. */
export const FINAL_EXECUTION_PHASES: readonly ExecutionPhase[] = ['Succeeded', 'Failed', 'Unknown', 'Invalid', 'Interrupted'];

export interface Execution {
  contentId: string;
  phase: ExecutionPhase;
  /** RFC 3339 times. */
  acceptedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** The source commit the execution was accepted from. */
  sourceCommit?: string;
  /**
   * The `restore.gitops/*` annotations the restore was declared with (`{}`: none), so a reader of
   * the ledger alone (`restorectl plan --status-branch`) tells a rerun from a changed spec. Absent
   * in executions recorded by older writers.
   */
  annotations?: Record<string, string>;
  /**
   * The snapshot each host restores, by host name, one entry per restore step in rule order:
   * pinned when the execution was accepted (before the RestoreSession exists), or why it could
   * not be (then the agent pins it before it restores). Absent when nothing was looked up.
   */
  snapshots?: Record<string, PinnedStep[]>;
}

/** One restore step of a host as the execution pinned it. */
export interface PinnedStep {
  /** `latest`, or the id the rule names. */
  requested: string;
  /** The snapshot path `latest` is chosen for (paths rules). */
  path?: string;
  /** The concrete snapshot id. */
  id?: string;
  /** The snapshot's time, RFC 3339 UTC: the point in time the host is restored to. */
  time?: string;
  /** Why the step was not pinned at accept time. */
  unresolved?: string;
}

/** Where a session is declared. */
export interface SessionSource {
  /** Repository URL, without credentials (the writer strips them anyway). */
  url: string;
  branch: string | null;
  /** The commit the current content was accepted from (for a restore not yet accepted, the daemon's current commit). */
  commit: string | null;
  /** Repository-relative path of the manifest. */
  file: string;
}

export interface ManagedSession {
  namespace: string;
  name: string;
  source: SessionSource;
  /** Content id of the restore as currently declared. */
  contentId: string;
  /** Every execution known for this session, oldest first (the writer keeps those already on the branch too). */
  executions: Execution[];
  /** The live RestoreSession's status, when it exists. */
  status?: RestoreSessionStatus;
  /** The declared spec, for readers; runtimeSettings env values and other secrets are redacted when written. */
  spec?: RestoreSessionSpec;
  /** What the daemon decided for the declared restore, when it needs people (a `blocked` action): its reason says what to do. */
  decision?: Decision;
}

/** A decision of the daemon's planner that a person has to act on. */
export interface Decision {
  action: string;
  reason: string;
}

/** A cluster's suspension record (`restorectl suspend|resume`, `clusters/<cluster>/suspension.yaml`). */
export interface Suspension {
  suspended: boolean;
  /** Who suspended (or resumed) it: `--by`, else the user and host that ran the command. */
  by: string;
  /** RFC 3339. */
  at: string;
  reason: string;
}

export interface StatusSnapshot {
  /** Cluster name: the folder `clusters/<cluster>/` and the `Cluster:` trailer. */
  cluster: string;
  /** The source revision the daemon is at (for the commit message and `Source-Commit:`). */
  source: { url: string; branch: string | null; commit: string | null };
  sessions: ManagedSession[];
  /**
   * Problems found in the source at this revision (malformed manifests, failed checks): listed in
   * STATUS.md so whoever merged the change sees why a file was not applied.
   */
  diagnostics?: Diagnostic[];
  /** The cluster's suspension record as the daemon read it this cycle; STATUS.md says so at the top while suspended. */
  suspension?: Suspension;
}

/** A session as read back from the status branch. */
export interface LedgerSession {
  cluster: string;
  namespace: string;
  name: string;
  /** Path of the file on the status branch. */
  file: string;
  source?: SessionSource;
  contentId?: string;
  executions: Execution[];
  status?: RestoreSessionStatus;
  decision?: Decision;
  /** The Repository the session names (from the spec written with it), to point at what to fix. */
  repository?: { namespace: string; name: string };
  /** The declared spec as written with the status (secrets redacted), for `restorectl status NS/NAME`. */
  spec?: Record<string, unknown>;
}
