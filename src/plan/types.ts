// A Plan (DESIGN §1, §5): what applying a source revision would do, action by action.
import type { Diagnostic } from '../manifests/diagnostic.ts';
import type { Executor, HostPlan } from '../hosts/types.ts';

export type ActionType = 'create' | 'update' | 'rerun' | 'prune' | 'noop' | 'blocked';

export interface Action {
  action: ActionType;
  kind: 'RestoreSession' | 'Repository';
  namespace: string;
  name: string;
  /** The manifest's file in the source; for a prune, where it was last declared (or empty). */
  file: string;
  /** Content id of the declared restore (of the live object, for a prune); empty for Repositories. */
  contentId: string;
  reason?: string;
  executor?: Executor;
  /** The Task the restore Job runs (task restores): `spec.task.name`, or the one the AppBinding names. Additive to DESIGN §5's JSON. */
  task?: string;
  /** A built-in database restore: what it restores, from which dump file, into which AppBinding (and server, when the cluster state lists it). Additive to DESIGN §5's JSON. */
  database?: DatabasePlan;
  totalHosts?: number;
  hosts?: HostPlan[];
  /** What it does to running things, in a sentence for people ("its 5 pods restart…"); not in JSON. */
  effect?: string;
  /** The ledger's execution is to be recorded Interrupted (its CR vanished while running); not in JSON. */
  interrupted?: boolean;
  /** When a change is planned (`--base`): what it does to this object's manifest; not in JSON. */
  change?: Change;
  /** The declared `restore.gitops/rerun` annotation (RestoreSessions that have one), recorded with the execution; not in JSON. */
  rerun?: string;
  /** The snapshots each host would restore, looked up in the repository (by host name); not in JSON. */
  snapshots?: Record<string, SnapshotPin[]>;
}

export interface DatabasePlan {
  /** `PostgreSQL`, `MySQL`, `MariaDB`, `Redis`. */
  database: string;
  /** The file of the snapshot that is piped into the client (`dumpfile.sql`). */
  dumpFile: string;
  /** `namespace/name` of the target AppBinding. */
  appBinding: string;
  /** `host:port` from the AppBinding, when the cluster state has it. */
  server?: string;
}

/** What a change (head against base) does to one object's manifest. */
export type Change = 'added' | 'changed' | 'removed' | 'unchanged';

/** An object a change removes that the plan has no action for (nothing live to prune). */
export interface RemovedObject {
  kind: 'RestoreSession' | 'Repository';
  namespace: string;
  name: string;
  /** Where the base declared it. */
  file: string;
}

/** The comparison of a planned change with the revision it would merge into. */
export interface Review {
  /** The base's commit, when it is one. */
  baseCommit: string | null;
  /** How the base was named (`main`, a folder). */
  baseLabel: string;
  removed: RemovedObject[];
  /** Files whose text differs between base and head (added, modified or deleted), head paths. */
  changedFiles: string[];
}

/**
 * One restore step of a host, with the snapshot it resolves to: `latest` for a source host (and a
 * path), or an id given in the rule. `snapshot` is set when the repository was read;
 * `unresolved` says why not (or that nothing matches).
 */
export interface SnapshotPin {
  /** `latest`, or the id the rule names. */
  requested: string;
  /** The snapshot path `latest` is chosen for (paths rules). */
  path?: string;
  snapshot?: { id: string; shortId: string; time: string };
  unresolved?: string;
}

export interface Plan {
  sourceCommit: string | null;
  diagnostics: Diagnostic[];
  actions: Action[];
  /** Set when a change is planned against a base (`--base`, `--base-dir`); not in JSON. */
  review?: Review;
}
