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
  totalHosts?: number;
  hosts?: HostPlan[];
  /** What it does to running things, in a sentence for people ("its 5 pods restart…"); not in JSON. */
  effect?: string;
  /** The ledger's execution is to be recorded Interrupted (its CR vanished while running); not in JSON. */
  interrupted?: boolean;
}

export interface Plan {
  sourceCommit: string | null;
  diagnostics: Diagnostic[];
  actions: Action[];
}
