// What a RestoreSession will do per host: the shapes of DESIGN §5's HostPlan.

export type Executor = 'init-container' | 'job' | 'volume-snapshot';

export interface HostPlan {
  /** The host as the agent names itself (and as rules' targetHosts name it). */
  host: string;
  /** The host whose backup is restored. */
  sourceHost: string;
  snapshots?: string[];
  paths?: string[];
  include?: string[];
  exclude?: string[];
  /** False when no rule matched (or the rule names nothing): nothing is restored on this host. */
  restores: boolean;
  /** Index of the rule that matched, for messages; absent when none did. */
  rule?: number;
}

export interface Node {
  name: string;
  labels: Record<string, string>;
}

/** Hosts are known when the target (or the session alone) tells how many there are. */
export type HostResolution = { executor: Executor; known: true; totalHosts: number; hosts: HostPlan[] } | { executor: Executor; known: false; reason: string };
