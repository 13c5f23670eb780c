// What the agent asks of restic for one host: the interface the orchestrator (restore.ts) uses
// and the restic runner implements.

/** One host's restore, as the restic runner takes it (defined with it, in src/restic). */
export type { ResticHostJob as HostRestoreJob, ResticHostOutcome as HostRestoreOutcome } from '../restic/host-restorer.ts';
import type { ResticHostJob as HostRestoreJob, ResticHostOutcome as HostRestoreOutcome } from '../restic/host-restorer.ts';

import { builtInDatabaseTask } from '../databases/addons.ts';

export interface HostRestorer {
  /** Restores one host; throws an Error whose message is safe to show (secrets redacted). */
  restore(job: HostRestoreJob): Promise<HostRestoreOutcome>;
}

/**
 * The restorer for each session: Stash's catalog database tasks (`postgres-restore-<version>`…)
 * restore with the built-in database restore, everything else with restic into the host's volumes.
 */
export class SessionRestorer implements HostRestorer {
  readonly #files: HostRestorer;
  readonly #databases: HostRestorer;
  constructor(files: HostRestorer, databases: HostRestorer) {
    this.#files = files;
    this.#databases = databases;
  }
  restore(job: HostRestoreJob): Promise<HostRestoreOutcome> {
    return (builtInDatabaseTask(job.session.spec.task?.name) ? this.#databases : this.#files).restore(job);
  }
}
