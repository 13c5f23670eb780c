// What the agent asks of restic for one host: the interface the orchestrator (restore.ts) uses
// and the restic runner implements.
import type { Repository } from '../api/repository.ts';
import type { HostProgress, RestoreSession } from '../api/restoresession.ts';
import type { HostPlan } from '../hosts/types.ts';

export interface HostRestoreJob {
  session: RestoreSession;
  repository: Repository;
  /** The Repository's Secret, decoded. Never printed. */
  secret: Record<string, string>;
  plan: HostPlan;
  /** Where absolute snapshot paths land: `/` in a pod, the pod's folder in the sandbox. */
  root: string;
  /** Scratch space (the tempDir emptyDir): restic's cache and temporary files. */
  scratchDir: string;
  signal: AbortSignal;
  onProgress: (p: HostProgress) => void;
}

export interface HostRestoreOutcome {
  /** The snapshot ids actually restored (`latest` resolved). */
  snapshots: string[];
  progress: HostProgress;
}

export interface HostRestorer {
  /** Restores one host; throws an Error whose message is safe to show (secrets redacted). */
  restore(job: HostRestoreJob): Promise<HostRestoreOutcome>;
}
