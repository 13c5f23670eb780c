// What an executor reports back to the reconciler after making sure its work exists.
import type { HostRestoreStats, RestoreSession } from '../../api/restoresession.ts';
import type { Repository } from '../../api/repository.ts';
import type { AgentImage } from '../agent-container.ts';
import type { ControllerCluster } from '../cluster.ts';
import type { AgentTrouble } from '../agent-pods.ts';

export interface ExecutorConfig {
  agent: AgentImage & { imagePullSecrets?: { name: string }[] };
}

export interface ExecutorContext {
  cluster: ControllerCluster;
  config: ExecutorConfig;
  session: RestoreSession;
  repository: Repository;
}

export interface ConditionUpdate {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface ExecutorState {
  /** False while the target does not exist yet (the session waits as Pending). */
  targetFound: boolean;
  conditions: ConditionUpdate[];
  totalHosts?: number;
  /** Stats the controller writes itself (VolumeSnapshotter hosts, Jobs that died without a word). */
  stats?: HostRestoreStats[];
  /** What keeps the executor's agents from running that only the executor sees (a Job's refused pods). */
  troubles?: AgentTrouble[];
}
