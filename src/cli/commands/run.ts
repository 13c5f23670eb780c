import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_AGENT_IMAGE } from '../../controller/agent-container.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { jsonLogger } from '../../daemon/log.ts';
import { loadKubeConfig } from '../../kube/kubeconfig.ts';
import { GitSource, LocalSource, redactUrl } from '../../source/index.ts';
import type { Source } from '../../source/index.ts';
import { readLedger, StatusWriter, DEFAULT_STATUS_BRANCH } from '../../status/index.ts';
import { parseDuration } from '../../session/duration.ts';
import type { Command } from '../command.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, parseCommandArgs } from '../command.ts';


export const runCommand: Command = {
  name: 'run',
  help: `Usage: restorectl run (--git-url URL | --source-dir DIR) [options]

The daemon: follows a branch, plans its RestoreSessions against the cluster and the ledger on the
status branch, creates each restore exactly once, drives it to a final phase (injection or restore
Jobs), and commits the history to the status branch.

Source:
  --git-url URL             git remote (smart HTTP/HTTPS) holding the manifests
  --branch NAME             branch to follow (default main)
  --ref REF                 pin a tag or commit instead of following a branch
  --path DIR                folder inside the repository (default: the whole repository)
  --source-dir DIR          a local folder instead of a remote (development); re-read every cycle
  --git-credentials-dir DIR files username/password/bearerToken (a mounted Flux GitRepository
                            Secret); else env GIT_USERNAME + GIT_PASSWORD or GIT_BEARER_TOKEN
Status branch:
  --status-branch NAME      default ${DEFAULT_STATUS_BRANCH}; on the --git-url remote
  --cluster NAME            this cluster's folder on the status branch (default "default")
  --no-status               do not write a status branch (local development only: the ledger
                            then lives in memory, and a restart forgets what ran)
Cluster:
  --kubeconfig PATH         default: $KUBECONFIG, ~/.kube/config, then in-cluster
  --agent-image IMAGE       image of the restore agent (default ${DEFAULT_AGENT_IMAGE}, env RESTORE_AGENT_IMAGE)
Cycles:
  --interval DURATION       time between cycles, jittered ±10 % (default 1m)
  --once                    run one cycle and exit: 0 if it succeeded, 1 if not
  --allow-empty             let an empty source prune every managed session
  --cache-dir DIR           git caches (default ~/.cache/restore-controller)

Logs are JSON lines on stderr; LOG_LEVEL=debug|info|warn|error. Credentials never appear in them.
Not yet implemented (see the issue notes): --webhook-addr, --metrics-addr, --leader-elect.`,
  async run(argv, io) {
    const { values } = parseCommandArgs('run', argv, {
      'git-url': { type: 'string' },
      branch: { type: 'string', default: 'main' },
      ref: { type: 'string' },
      path: { type: 'string', default: '' },
      'source-dir': { type: 'string' },
      'git-credentials-dir': { type: 'string' },
      'status-branch': { type: 'string', default: DEFAULT_STATUS_BRANCH },
      cluster: { type: 'string', default: 'default' },
      'no-status': { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      'agent-image': { type: 'string' },
      interval: { type: 'string', default: '1m' },
      once: { type: 'boolean', default: false },
      'allow-empty': { type: 'boolean', default: false },
      'cache-dir': { type: 'string' },
    });
    const gitUrl = values['git-url'];
    const sourceDir = values['source-dir'];
    if (!gitUrl === !sourceDir) throw new UsageError('run: give exactly one of --git-url or --source-dir');
    const intervalMs = parseDuration(values.interval!);
    if (intervalMs === undefined || intervalMs < 1000) throw new UsageError(`run: --interval "${values.interval}" is not a duration of at least 1s (e.g. 30s, 5m)`);
    if (!gitUrl && !values['no-status']) throw new UsageError('run: the status branch lives on the --git-url remote; with --source-dir, pass --no-status');
    const cacheDir = values['cache-dir'] ?? join(homedir(), '.cache', 'restore-controller');
    const log = jsonLogger(io.stderr, { level: process.env['LOG_LEVEL'], component: 'daemon' });
    const remote = gitUrl ? { url: gitUrl, ...(values['git-credentials-dir'] ? { credentialsDir: values['git-credentials-dir'] } : {}) } : undefined;

    const source: Source = remote
      ? new GitSource({ ...remote, branch: values.ref ? undefined : values.branch, ref: values.ref, path: values.path, cacheDir: join(cacheDir, 'source'), log: { info: (m) => log('info', m), warn: (m) => log('warn', m) } })
      : new LocalSource({ dir: sourceDir! });
    const statusWriter = remote && !values['no-status']
      ? new StatusWriter({ ...remote, branch: values['status-branch'], cacheDir: join(cacheDir, 'status'), log: { info: (m) => log('info', m), warn: (m) => log('warn', m) } })
      : undefined;
    const ledger = remote && statusWriter ? await readLedger({ ...remote, branch: values['status-branch'], cluster: values.cluster, cacheDir: join(cacheDir, 'ledger') }) : undefined;
    for (const d of ledger?.diagnostics ?? []) log('warn', `status branch ${d.file}: ${d.message}`);

    const daemon = new Daemon({
      source,
      kubeConfig: loadKubeConfig({ kubeconfig: values.kubeconfig }),
      cluster: values.cluster!,
      controller: {
        agent: { image: values['agent-image'] ?? process.env['RESTORE_AGENT_IMAGE'] ?? DEFAULT_AGENT_IMAGE },
        log: (line) => log('info', line, { component: 'controller' }),
      },
      ...(statusWriter ? { statusWriter } : {}),
      ...(ledger ? { ledger } : {}),
      allowEmpty: values['allow-empty'],
      intervalMs,
      log,
    });

    if (values.once) {
      const report = await daemon.cycle();
      log(report.ok ? 'info' : 'error', 'cycle done', { commit: report.commit, statusCommit: report.statusCommit, actions: report.plan?.actions.map((a) => `${a.action} ${a.kind} ${a.namespace}/${a.name}`), error: report.error });
      return report.ok ? EXIT_OK : EXIT_ERRORS;
    }
    await daemon.start();
    log('info', 'running', { source: gitUrl ? redactUrl(gitUrl) : sourceDir, intervalMs });
    await new Promise<void>((resolve) => {
      const stop = () => {
        log('info', 'stopping');
        daemon.stop();
        resolve();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    return EXIT_OK;
  },
};
