import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_AGENT_IMAGE } from '../../controller/agent-container.ts';
import { countApiErrors } from '../../daemon/api-errors.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { parseListenAddress } from '../../daemon/http-server.ts';
import type { ListenAddress } from '../../daemon/http-server.ts';
import type { DaemonHooks } from '../../daemon/runner.ts';
import { DEFAULT_LEASE_NAME, LeaderElector, defaultLeaseNamespace } from '../../daemon/leader.ts';
import { DaemonMetrics } from '../../daemon/metrics.ts';
import { DaemonRunner } from '../../daemon/runner.ts';
import { loadWebhookSecret } from '../../daemon/webhook.ts';
import { jsonLogger } from '../../common/log.ts';
import { Redactor } from '../../common/redact.ts';
import { loadKubeConfig } from '../../kube/kubeconfig.ts';
import { GitSource, LocalSource, redactUrl, resolveCredentials } from '../../source/index.ts';
import type { Source } from '../../source/index.ts';
import { readLedger, StatusWriter, DEFAULT_STATUS_BRANCH } from '../../status/index.ts';
import { parseDuration } from '../../session/duration.ts';
import { commitSigner, readKeyringFile } from '../../source/signatures.ts';
import type { CommitSigner, Keyring } from '../../source/signatures.ts';
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
  --include GLOB            manifest files to read, relative to --path (repeatable; default
                            "**/*.y?(a)ml"); minimatch syntax
  --verify-keyring FILE     armored OpenPGP public keys: the followed commit must carry a valid
                            signature by one of them, else it is not applied (the last verified
                            revision stays in force)
Status branch:
  --status-branch NAME      default ${DEFAULT_STATUS_BRANCH}; on the --git-url remote
  --cluster NAME            this cluster's folder on the status branch (default "default")
  --signing-key-file FILE   armored OpenPGP private key signing the status branch's commits
                            (passphrase, if any, from env STATUS_SIGNING_PASSPHRASE)
  --no-status               do not write a status branch (local development only: the ledger
                            then lives in memory, and a restart forgets what ran)
Cluster:
  --kubeconfig PATH         default: $KUBECONFIG, ~/.kube/config, then in-cluster
  --namespace NS            act in namespace NS only: list, create and prune there; manifests
                            that name no namespace go there; manifests for another namespace
                            are refused (an error diagnostic, never applied). Default: all
  --agent-image IMAGE       image of the restore agent (default ${DEFAULT_AGENT_IMAGE}, env RESTORE_AGENT_IMAGE)
Cycles:
  --interval DURATION       time between cycles, jittered ±10 % (default 1m)
  --once                    run one cycle and exit: 0 if it succeeded, 1 if not
  --allow-empty             let an empty source prune every managed session
  --cache-dir DIR           git caches (default ~/.cache/restore-controller)
Push webhook (a cycle at once on every push to the followed branch):
  --webhook-addr ADDR       listen on HOST:PORT or :PORT (every interface); accepts POST from
                            GitHub (X-Hub-Signature-256), Gitea (X-Gitea-Signature) and GitLab
                            (X-Gitlab-Token). Pushes to other branches are answered and ignored;
                            a bad signature gets 401, a body over 5 MiB 413
  --webhook-secret-file PATH the shared secret (else env WEBHOOK_SECRET); the webhook never runs
                            without one. A file absent from an empty folder (an optional Secret
                            not created) leaves the webhook off, with a warning
Metrics and probes:
  --metrics-addr ADDR       HOST:PORT or :PORT serving /metrics (Prometheus), /healthz (alive)
                            and /readyz (503 with the reason while the git remote fails or before
                            the first cycle; a standby replica is ready)
Leader election (several replicas, one acting):
  --leader-elect            act only while holding a coordination.k8s.io Lease; a standby takes
                            over when the leader stops renewing it. Losing it exits with status 1
  --leader-election-namespace NS
                            the Lease's namespace (default: env POD_NAMESPACE, the service
                            account's namespace, else "default")
  --leader-election-id NAME the Lease's name (default ${DEFAULT_LEASE_NAME})
  --leader-election-lease-duration DURATION
                            how long the Lease holds without renewal (default 15s); the leader
                            renews every third of it and stops acting after two thirds

Logs are JSON lines on stderr; LOG_LEVEL=debug|info|warn|error. Credentials and the webhook secret
never appear in them. SIGTERM or SIGINT: the cycle under way finishes, the Lease is released, the
servers close, exit 0.`,
  async run(argv, io) {
    const { values } = parseCommandArgs('run', argv, {
      'git-url': { type: 'string' },
      branch: { type: 'string', default: 'main' },
      ref: { type: 'string' },
      path: { type: 'string', default: '' },
      'source-dir': { type: 'string' },
      'git-credentials-dir': { type: 'string' },
      include: { type: 'string', multiple: true },
      'verify-keyring': { type: 'string' },
      'signing-key-file': { type: 'string' },
      'status-branch': { type: 'string', default: DEFAULT_STATUS_BRANCH },
      cluster: { type: 'string', default: 'default' },
      'no-status': { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
      namespace: { type: 'string' },
      'agent-image': { type: 'string' },
      interval: { type: 'string', default: '1m' },
      once: { type: 'boolean', default: false },
      'allow-empty': { type: 'boolean', default: false },
      'cache-dir': { type: 'string' },
      'webhook-addr': { type: 'string' },
      'webhook-secret-file': { type: 'string' },
      'metrics-addr': { type: 'string' },
      'leader-elect': { type: 'boolean', default: false },
      'leader-election-namespace': { type: 'string' },
      'leader-election-id': { type: 'string' },
      'leader-election-lease-duration': { type: 'string' },
    });
    const gitUrl = values['git-url'];
    const sourceDir = values['source-dir'];
    if (!gitUrl === !sourceDir) throw new UsageError('run: give exactly one of --git-url or --source-dir');
    const intervalMs = parseDuration(values.interval!);
    if (intervalMs === undefined || intervalMs < 1000) throw new UsageError(`run: --interval "${values.interval}" is not a duration of at least 1s (e.g. 30s, 5m)`);
    if (!gitUrl && !values['no-status']) throw new UsageError('run: the status branch lives on the --git-url remote; with --source-dir, pass --no-status');
    const namespace = values.namespace;
    if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) throw new UsageError(`run: --namespace "${namespace}" is not a namespace name (lower-case letters, digits and "-", at most 63)`);
    if (values.once) {
      for (const flag of ['webhook-addr', 'metrics-addr', 'leader-elect'] as const) {
        if (values[flag]) throw new UsageError(`run: --once runs one cycle and exits; it cannot be combined with --${flag} (a one-off cycle next to a running daemon would not wait for its Lease: scale the daemon to 0 first)`);
      }
    }
    if (!values['leader-elect']) {
      for (const flag of ['leader-election-namespace', 'leader-election-id', 'leader-election-lease-duration'] as const) {
        if (values[flag] !== undefined) throw new UsageError(`run: --${flag} has no effect without --leader-elect`);
      }
    }
    const leaseDurationMs = parseDuration(values['leader-election-lease-duration'] ?? '15s');
    if (leaseDurationMs === undefined || leaseDurationMs < 3000) throw new UsageError(`run: --leader-election-lease-duration "${values['leader-election-lease-duration']}" is not a duration of at least 3s (e.g. 15s)`);
    if (!gitUrl && values['verify-keyring']) throw new UsageError('run: --verify-keyring checks commits of a --git-url remote; a --source-dir folder has none to check');
    if (!gitUrl && values['signing-key-file']) throw new UsageError('run: --signing-key-file signs status-branch commits, which need --git-url');
    if (values['webhook-addr'] && !gitUrl) throw new UsageError('run: --webhook-addr needs --git-url: a push webhook reports pushes to a remote, and --source-dir reads a local folder every cycle');
    if (values['webhook-secret-file'] && !values['webhook-addr']) throw new UsageError('run: --webhook-secret-file has no effect without --webhook-addr');
    const address = (flag: 'webhook-addr' | 'metrics-addr'): ListenAddress | undefined => {
      const text = values[flag];
      if (text === undefined) return undefined;
      try {
        return parseListenAddress(`--${flag}`, text);
      } catch (e) {
        throw new UsageError(`run: ${(e as Error).message}`);
      }
    };
    const webhookAddr = address('webhook-addr');
    const metricsAddr = address('metrics-addr');

    // Everything secret goes into the logger's redaction list before the first line is logged.
    const secrets: string[] = [];
    const webhookSecret = webhookAddr ? loadWebhookSecret({ file: values['webhook-secret-file'] }) : undefined;
    if (webhookSecret && 'secret' in webhookSecret) secrets.push(webhookSecret.secret);
    if (process.env['STATUS_SIGNING_PASSPHRASE']) secrets.push(process.env['STATUS_SIGNING_PASSPHRASE']);
    if (gitUrl) {
      const { credentials } = resolveCredentials(gitUrl, values['git-credentials-dir'] ? { credentialsDir: values['git-credentials-dir'] } : {});
      for (const v of [credentials?.password, credentials?.bearerToken]) if (v) secrets.push(v);
      if (credentials?.username && credentials.password) secrets.push(Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64'));
    }
    const cacheDir = values['cache-dir'] ?? join(homedir(), '.cache', 'restore-controller');
    const log = jsonLogger(io.stderr, { level: process.env['LOG_LEVEL'], redactor: new Redactor(secrets), fields: { component: 'daemon' } });
    const controllerLog = log.child({ component: 'controller' });
    const remote = gitUrl ? { url: gitUrl, ...(values['git-credentials-dir'] ? { credentialsDir: values['git-credentials-dir'] } : {}) } : undefined;
    const metrics = new DaemonMetrics();
    const kubeConfig = countApiErrors(loadKubeConfig({ kubeconfig: values.kubeconfig }), (code) => metrics.apiError(code));

    const globs = values.include?.length ? { globs: values.include } : {};
    const verify = values['verify-keyring'] ? { verify: await readKeyringOption(values['verify-keyring']) } : {};
    const signer = values['signing-key-file'] ? { signer: await readSignerOption(values['signing-key-file']) } : {};
    const source: Source = remote
      ? new GitSource({ ...remote, branch: values.ref ? undefined : values.branch, ref: values.ref, path: values.path, cacheDir: join(cacheDir, 'source'), log, ...globs, ...verify })
      : new LocalSource({ dir: sourceDir!, ...globs });
    const statusWriter = remote && !values['no-status'] ? new StatusWriter({ ...remote, branch: values['status-branch'], cacheDir: join(cacheDir, 'status'), log, ...signer }) : undefined;

    /** Reads the ledger as it is now: called when this replica starts acting, not before. */
    const createDaemon = async (hooks?: DaemonHooks): Promise<Daemon> => {
      const ledger = remote && statusWriter ? await readLedger({ ...remote, branch: values['status-branch'], cluster: values.cluster, cacheDir: join(cacheDir, 'ledger') }) : undefined;
      for (const d of ledger?.diagnostics ?? []) log.warn(`status branch ${d.file}: ${d.message}`);
      return new Daemon({
        source: hooks ? hooks.observeSource(source) : source,
        kubeConfig,
        cluster: values.cluster!,
        controller: {
          agent: { image: values['agent-image'] ?? process.env['RESTORE_AGENT_IMAGE'] ?? DEFAULT_AGENT_IMAGE },
          log: (line) => controllerLog.info(line),
          ...(namespace ? { namespace } : {}),
        },
        ...(statusWriter ? { statusWriter } : {}),
        ...(ledger ? { ledger } : {}),
        ...(namespace ? { namespace } : {}),
        ...(hooks ? { observer: hooks.observer } : {}),
        allowEmpty: values['allow-empty'],
        intervalMs,
        log,
      });
    };

    if (values.once) {
      const report = await (await createDaemon()).cycle();
      log[report.ok ? 'info' : 'error']('cycle done', { commit: report.commit, statusCommit: report.statusCommit, actions: report.plan?.actions.map((a) => `${a.action} ${a.kind} ${a.namespace}/${a.name}`), error: report.error });
      return report.ok ? EXIT_OK : EXIT_ERRORS;
    }

    if (webhookSecret && 'absent' in webhookSecret) log.warn(`webhook off: no secret (${webhookSecret.absent}); cycles run every --interval. Create the Secret to turn it on`);
    const elector = values['leader-elect']
      ? new LeaderElector({ kubeConfig, namespace: values['leader-election-namespace'] ?? defaultLeaseNamespace(), name: values['leader-election-id'] ?? DEFAULT_LEASE_NAME, leaseDurationMs, log })
      : undefined;
    const runner = new DaemonRunner({
      log,
      metrics,
      ...(metricsAddr ? { metricsAddr } : {}),
      ...(webhookAddr && webhookSecret && 'secret' in webhookSecret ? { webhook: { addr: webhookAddr, secret: webhookSecret.secret, follow: values.ref ? { ref: values.ref } : { branch: values.branch! } } } : {}),
      ...(elector ? { elector } : {}),
      createDaemon,
    });
    const onSignal = (signal: string) => void runner.stop(`${signal} received`);
    const onTerm = () => onSignal('SIGTERM');
    const onInt = () => onSignal('SIGINT');
    process.once('SIGTERM', onTerm);
    process.once('SIGINT', onInt);
    try {
      await runner.start();
    } catch (e) {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      throw e;
    }
    log.info('running', { source: gitUrl ? redactUrl(gitUrl) : sourceDir, intervalMs, ...(namespace ? { namespace } : {}), ...(elector ? { identity: elector.identity } : {}) });
    const exit = await runner.exited;
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    // A lost Lease must end the process even if some request of the cycle under way lingers.
    if (exit.code !== EXIT_OK) setTimeout(() => process.exit(exit.code), 1000).unref();
    return exit.code;
  },
};

async function readKeyringOption(path: string): Promise<Keyring> {
  try {
    return await readKeyringFile(path);
  } catch (e) {
    throw new UsageError(`run: --verify-keyring ${path}: ${(e as Error).message} (give a file of armored OpenPGP public keys)`);
  }
}

async function readSignerOption(path: string): Promise<CommitSigner> {
  let armored: string;
  try {
    armored = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`run: --signing-key-file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return await commitSigner(armored, process.env['STATUS_SIGNING_PASSPHRASE']);
  } catch (e) {
    throw new UsageError(`run: --signing-key-file ${path}: ${(e as Error).message} (give an armored OpenPGP private key; its passphrase in STATUS_SIGNING_PASSPHRASE)`);
  }
}
