// What the agent asks of restic for one host: the interface the orchestrator (restore.ts) uses
// and the restic runner implements.

/** One host's restore, as the restic runner takes it (defined with it, in src/restic). */
export type { ResticHostJob as HostRestoreJob, ResticHostOutcome as HostRestoreOutcome } from '../restic/host-restorer.ts';
import type { ResticHostJob as HostRestoreJob, ResticHostOutcome as HostRestoreOutcome } from '../restic/host-restorer.ts';

export interface HostRestorer {
  /** Restores one host; throws an Error whose message is safe to show (secrets redacted). */
  restore(job: HostRestoreJob): Promise<HostRestoreOutcome>;
}
