import { AgentCluster } from '../../agent/cluster.ts';
import type { HostFrom } from '../../agent/host.ts';
import { runAgent, scratchDirFor } from '../../agent/restore.ts';
import { SessionRestorer } from '../../agent/restorer.ts';
import { DatabaseRestorer } from '../../databases/restorer.ts';
import { jsonLogger } from '../../common/log.ts';
import { ResticHostRestorer } from '../../restic/index.ts';
import type { Command } from '../command.ts';
import { UsageError, parseCommandArgs } from '../command.ts';

const HOST_FROM: HostFrom[] = ['pod', 'alias', 'pvc-ordinal'];

export const agentRestoreCommand: Command = {
  name: 'agent restore',
  help: `Usage: restorectl agent restore --session NAMESPACE/NAME [--host-from pod|alias|pvc-ordinal]
                               [--root DIR] [--kubeconfig PATH]

The restore agent. The controller starts it as the stash-init init-container of a workload or as
the container of a restore Job; you rarely run it by hand. It reads its RestoreSession and
Repository, works out its host, takes the rule for that host, runs the preRestore hook (once per
session), runs restic, reports progress and the result in status.stats[host], and runs the
postRestore hook when the last host finishes.

A host that already has a Succeeded or Failed stat is skipped, so a restarted pod never restores
twice; so is every host of a session that is final or past its deadline.

Options:
  --session NS/NAME   the RestoreSession (required)
  --host-from MODE    how to name this host (SPEC host table): pod (StatefulSet ordinal from
                      POD_NAME, DaemonSet node from NODE_NAME, else the alias), alias, or
                      pvc-ordinal (volumeClaimTemplates Jobs, from POD_ORDINAL). Default: pod
  --root DIR          where snapshot paths land: / in a pod (default; env RESTORE_POD_ROOT)
  --kubeconfig PATH   kubeconfig file (default: $KUBECONFIG, ~/.kube/config, then in-cluster)

Environment: POD_NAME, NODE_NAME, POD_ORDINAL, POD_IP (set by the controller from the downward
API); LOG_LEVEL=debug|info|warn|error for the JSON log lines on stderr. Exit status: 0 restored
or rightly skipped, 1 this host failed, 2 could not run.
SIGTERM stops restic and records the host Failed: interrupted.`,
  async run(argv, io) {
    const { values } = parseCommandArgs('agent restore', argv, {
      session: { type: 'string' },
      'host-from': { type: 'string', default: 'pod' },
      root: { type: 'string' },
      kubeconfig: { type: 'string' },
    });
    const [namespace, name, ...extra] = (values.session ?? '').split('/');
    if (!namespace || !name || extra.length) throw new UsageError('agent restore: --session NAMESPACE/NAME is required');
    const hostFrom = values['host-from'] as HostFrom;
    if (!HOST_FROM.includes(hostFrom)) throw new UsageError(`agent restore: --host-from must be one of ${HOST_FROM.join(', ')}`);
    const root = values.root ?? process.env['RESTORE_POD_ROOT'] ?? '/';

    const log = jsonLogger(io.stderr, { level: process.env['LOG_LEVEL'], fields: { component: 'agent' } });
    // how long node and the agent's modules took to load (bench:agent reads it)
    log.debug('agent restore: modules loaded', { uptimeMs: Math.round(performance.now()) });
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    try {
      const cluster = await AgentCluster.connect({ kubeconfig: values.kubeconfig });
      const restorer = new SessionRestorer(new ResticHostRestorer(), new DatabaseRestorer(cluster));
      const outcome = await runAgent(cluster, restorer, {
        namespace,
        name,
        hostFrom,
        env: process.env,
        root,
        scratchDir: scratchDirFor(root),
        signal: abort.signal,
        log,
      });
      cluster.close();
      io.stdout(`${outcome.message}\n`);
      return outcome.code;
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  },
};
