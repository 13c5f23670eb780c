import { AgentCluster } from '../../agent/cluster.ts';
import { runUpdateStatus } from '../../agent/update-status.ts';
import { jsonLogger } from '../../common/log.ts';
import type { Command } from '../command.ts';
import { UsageError, parseCommandArgs } from '../command.ts';

/** Stash's update-status flags this command accepts and does not need (the backend, metrics). */
const STASH_FLAGS = [
  'provider',
  'bucket',
  'endpoint',
  'insecure-tls',
  'region',
  'path',
  'enable-cache',
  'max-connections',
  'backupsession',
  'storage-secret-name',
  'storage-secret-namespace',
  'invoker-kind',
  'target-kind',
  'target-name',
  'target-namespace',
  'metrics-enabled',
  'scratch-dir',
  'metrics-pushgateway-url',
  'metrics-labels',
] as const;

export const agentUpdateStatusCommand: Command = {
  name: 'agent update-status',
  help: `Usage: restorectl agent update-status --namespace NS --invoker-name NAME --output-dir DIR
                                     [--hostname HOST] [--root DIR] [--kubeconfig PATH] [Stash's flags]

The last step of a restore Job built from an installed Stash Task: it plays Stash's update-status
Function. The steps before it write their result to DIR/output.json (Stash's RestoreOutput);
this upserts those host stats into the RestoreSession's status and records a Host Restore
Succeeded/Failed event per host. A host whose steps wrote nothing readable is recorded Failed
with why; a host that already has a Succeeded or Failed stat keeps it. The controller adds this
step; you rarely run it by hand. Stash's other update-status flags (--provider, --bucket,
--target-kind, --metrics-*, …) are accepted and not needed.

Options:
  --namespace NS        the RestoreSession's namespace (default: default)
  --invoker-name NAME   the RestoreSession (required); --invoker-kind is RestoreSession
  --output-dir DIR      where the steps wrote output.json, as the pod sees it
  --hostname HOST       the host this Job restores (default: host-0)
  --root DIR            where the pod's absolute paths are: / in a pod (default; env RESTORE_POD_ROOT)
  --kubeconfig PATH     kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)

Exit status: 0 every host Succeeded, 1 a host Failed, 2 could not run.`,
  async run(argv, io) {
    const stash = Object.fromEntries(STASH_FLAGS.map((f) => [f, { type: 'string' as const }]));
    const { values } = parseCommandArgs('agent update-status', argv, {
      ...stash,
      namespace: { type: 'string', default: 'default' },
      'invoker-name': { type: 'string' },
      'output-dir': { type: 'string', default: '' },
      hostname: { type: 'string' },
      root: { type: 'string' },
      kubeconfig: { type: 'string' },
    });
    const name = values['invoker-name'] as string | undefined;
    if (!name) throw new UsageError('agent update-status: --invoker-name NAME (the RestoreSession) is required', { flag: '--invoker-name' });
    const kind = (values as Record<string, unknown>)['invoker-kind'] as string | undefined;
    if (kind && kind !== 'RestoreSession')
      throw new UsageError(`agent update-status: --invoker-kind ${kind}: only RestoreSession restores are recorded here`, { flag: '--invoker-kind' });
    const cluster = await AgentCluster.connect({ kubeconfig: values.kubeconfig as string | undefined });
    const outcome = await runUpdateStatus(cluster, {
      namespace: values.namespace as string,
      name,
      host: (values.hostname as string | undefined) || 'host-0',
      outputDir: values['output-dir'] as string,
      root: (values.root as string | undefined) ?? process.env['RESTORE_POD_ROOT'] ?? '/',
      env: process.env,
      log: jsonLogger(io.stderr, { level: process.env['LOG_LEVEL'], fields: { component: 'agent' } }),
    });
    io.stdout(`${outcome.message}\n`);
    return outcome.code;
  },
};
