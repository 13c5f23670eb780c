// `restorectl controller`: the Controller alone, for RestoreSessions created by any means (kubectl,
// Helm, another GitOps tool), with no git source and no status branch.
import { jsonLogger } from '../../common/log.ts';
import { DEFAULT_AGENT_IMAGE } from '../../controller/agent-container.ts';
import { Controller } from '../../controller/controller.ts';
import { loadKubeConfig } from '../../kube/kubeconfig.ts';
import { parseDuration } from '../../session/duration.ts';
import type { Command } from '../command.ts';
import { CLIENT_LIMIT_FLAGS, CLIENT_LIMIT_HELP, parseClientLimits } from './client-limits.ts';
import { EXIT_OK, UsageError, parseCommandArgs } from '../command.ts';
import { PATIENCE_FLAGS, parsePatience, patienceHelp } from './patience-options.ts';

const HELP = `Usage: restorectl controller [--kubeconfig PATH] [--context NAME] [--namespace NS]
                           [--agent-image IMAGE] [--resync DURATION] [--concurrency N]
                           [--stuck-after DURATION] [--orphaned-hook-after DURATION]
                           [--kube-api-qps N] [--kube-api-burst N]

Runs only the RestoreSession controller: every RestoreSession in the cluster (or in one namespace)
is driven to a final phase, as Stash's operator does. The agent is injected as the stash-init
init-container of the target workload, or runs in restore Jobs (PVC and volumeClaimTemplates
targets); VolumeSnapshotter sessions get their PVCs. Sessions can be created by hand
(kubectl apply -f restore.yaml) or by any tool. Deleting a session takes its injection and Jobs
away again. Nothing is read from or written to git: for restores declared in git, with their
history on a status branch, run \`restorectl run\`, which holds this same controller.

The controller is level-triggered: stop or kill it at any moment, start it again, and it carries
on from what the cluster says; no workload rolls twice and no host restores twice.

Options:
  --kubeconfig PATH     default: $KUBECONFIG, ~/.kube/config, then the in-cluster service account
  --context NAME        a kubeconfig context other than the current one
  --namespace NS        act on sessions in NS only; every list and watch stays in NS, so a Role in
                        that namespace is enough (default: the whole cluster)
  --agent-image IMAGE   image of the restore agent (default ${DEFAULT_AGENT_IMAGE},
                        env RESTORE_AGENT_IMAGE)
  --resync DURATION     how often every unfinished session is looked at again even if no watch event
                        came (default 5m): watches on sessions, Repositories, workloads, Jobs, pods
                        and claims make changes act at once; this is the safety net under them
  --concurrency N       sessions reconciled at once (default 4)
${patienceHelp(24)}
${CLIENT_LIMIT_HELP}

Logs are JSON lines on stderr (LOG_LEVEL=debug|info|warn|error); no secret value is ever read by
the controller. SIGTERM or Ctrl-C stops it cleanly: the reconciles under way finish, then it exits 0.`;

export const controllerCommand: Command = {
  name: 'controller',
  help: HELP,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('controller', argv, {
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      namespace: { type: 'string' },
      'agent-image': { type: 'string' },
      resync: { type: 'string', default: '5m' },
      concurrency: { type: 'string', default: '4' },
      ...PATIENCE_FLAGS,
      ...CLIENT_LIMIT_FLAGS,
    });
    if (positionals.length) throw new UsageError(`controller: unexpected argument "${positionals[0]}"`);
    const resyncMs = parseDuration(values.resync!);
    if (resyncMs === undefined || resyncMs < 1000)
      throw new UsageError(`controller: --resync "${values.resync}" is not a duration of at least 1s (e.g. 30s, 5m)`);
    const concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new UsageError(`controller: --concurrency must be an integer ≥ 1; got "${values.concurrency}"`);
    if (values.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(values.namespace)) {
      throw new UsageError(`controller: --namespace "${values.namespace}" is not a namespace name (lower-case letters, digits and '-', at most 63)`);
    }

    const patience = parsePatience('controller', values);
    const clientLimits = parseClientLimits('controller', values);

    const log = jsonLogger(io.stderr, { level: process.env['LOG_LEVEL'], fields: { component: 'controller' } });
    const kubeConfig = loadKubeConfig({ kubeconfig: values.kubeconfig, context: values.context });
    const agentImage = values['agent-image'] ?? process.env['RESTORE_AGENT_IMAGE'] ?? DEFAULT_AGENT_IMAGE;
    const controller = new Controller(kubeConfig, {
      agent: { image: agentImage },
      resyncMs,
      concurrency,
      ...patience,
      clientLimits,
      ...(values.namespace ? { namespace: values.namespace } : {}),
      log,
    });

    const scope = values.namespace ? `namespace ${values.namespace}` : 'all namespaces';
    log.info('starting', { server: kubeConfig.getCurrentCluster()?.server, scope, agentImage, resyncMs, ...clientLimits });
    let signalled: string | undefined;
    const stopped = new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        if (signalled) return;
        signalled = signal;
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    // Until the first list of sessions succeeds (the API is unreachable, the CRDs are missing),
    // the watch retries with backoff and logs why; a signal still stops it.
    await Promise.race([controller.start(), stopped]);
    if (!signalled) log.info('running', { scope });
    await stopped;
    log.info('stopping', { signal: signalled });
    await controller.stop();
    log.info('stopped', { apiRequests: controller.cluster.counter.requests });
    return EXIT_OK;
  },
};
