// Stash's final step of every restore Task, `update-status`: the Stash operator installs it
// (stashed/stash pkg/util/crds.go updateStatusFunction) with the operator's own image, and it reads
// the `output.json` the steps before it wrote into `--output-dir` and upserts the host stats into
// the session. Here the project's agent plays it (`restorectl agent update-status`, the same
// arguments), so a Task restore's phase, stats and events read as with Stash without Stash's
// operator. It runs whether or not an `update-status` Function is installed.
import { TASK_API_VERSION } from '../api/task.ts';
import type { StashFunction } from '../api/task.ts';

export const UPDATE_STATUS_FUNCTION = 'update-status';

/**
 * The `update-status` Function as the agent plays it: Stash's arguments (substituted as Stash
 * substitutes them) after `agent update-status`, plus `--hostname` so a host whose steps wrote no
 * output is reported Failed instead of staying Running.
 */
export function updateStatusFunction(agentImage: string): StashFunction {
  return {
    apiVersion: TASK_API_VERSION,
    kind: 'Function',
    metadata: { name: UPDATE_STATUS_FUNCTION },
    spec: {
      image: agentImage,
      args: [
        'agent',
        'update-status',
        '--provider=${REPOSITORY_PROVIDER:=}',
        '--bucket=${REPOSITORY_BUCKET:=}',
        '--endpoint=${REPOSITORY_ENDPOINT:=}',
        '--insecure-tls=${REPOSITORY_INSECURE_TLS:=}',
        '--region=${REPOSITORY_REGION:=}',
        '--path=${REPOSITORY_PREFIX:=}',
        '--enable-cache=${ENABLE_CACHE:=true}',
        '--max-connections=${MAX_CONNECTIONS:=0}',
        '--namespace=${NAMESPACE:=default}',
        '--backupsession=${BACKUP_SESSION:=}',
        '--storage-secret-name=${REPOSITORY_SECRET_NAME}',
        '--storage-secret-namespace=${REPOSITORY_SECRET_NAMESPACE}',
        '--invoker-kind=${INVOKER_KIND:=}',
        '--invoker-name=${INVOKER_NAME:=}',
        '--target-kind=${TARGET_KIND:=}',
        '--target-name=${TARGET_NAME:=}',
        '--target-namespace=${TARGET_NAMESPACE:=}',
        '--output-dir=${outputDir:=}',
        '--metrics-enabled=true',
        '--scratch-dir=/stash-tmp',
        '--metrics-pushgateway-url=${PROMETHEUS_PUSHGATEWAY_URL:=}',
        '--hostname=${HOSTNAME:=}',
      ],
    },
  };
}
