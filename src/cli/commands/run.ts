// `restorectl run`: the daemon as a process. parseRunOptions (run-options.ts) turns argv into
// RunOptions; the steps below read the secrets, build the source, the status writer and the
// Daemon, and run it once (--once) or until a signal or a lost Lease (DaemonRunner).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { DEFAULT_AGENT_IMAGE } from '../../controller/agent-container.ts';
import { jsonLogger } from '../../common/log.ts';
import type { Logger } from '../../common/log.ts';
import { Redactor } from '../../common/redact.ts';
import { countApiErrors } from '../../daemon/api-errors.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { DEFAULT_LEASE_NAME, LeaderElector, defaultLeaseNamespace } from '../../daemon/leader.ts';
import { DaemonMetrics } from '../../daemon/metrics.ts';
import { DaemonRunner } from '../../daemon/runner.ts';
import type { DaemonHooks, RunnerExit } from '../../daemon/runner.ts';
import { loadWebhookSecret } from '../../daemon/webhook.ts';
import { DEFAULT_CLIENT_LIMITS } from '../../kube/client.ts';
import { loadKubeConfig } from '../../kube/kubeconfig.ts';
import { stripUrlCredentials as redactUrl } from '../../common/index.ts';
import { GitSource, LocalSource, resolveCredentials } from '../../source/index.ts';
import type { Source } from '../../source/index.ts';
import { readLedger, StatusWriter, DEFAULT_STATUS_BRANCH } from '../../status/index.ts';
import { commitSigner, readKeyringFile } from '../../source/signatures.ts';
import type { CommitSigner, Keyring } from '../../source/signatures.ts';
import type { Command } from '../command.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError } from '../command.ts';
import { parseRunOptions } from './run-options.ts';
import { patienceHelp } from './patience-options.ts';
import type { RunOptions } from './run-options.ts';
import { errorMessage } from '../../common/errors.ts';
import { Notifier, webhookSecrets } from '../../notify/notifier.ts';
import { NOTIFY_HELP } from './notify-options.ts';

export const runCommand: Command = {
  name: 'run',
  help: `Usage: restorectl run (--git-url URL | --source-dir DIR) [options]

The daemon: follows a branch, plans its RestoreSessions against the cluster and the ledger on the
status branch, creates each restore exactly once, drives it to a final phase (injection or restore
Jobs), and commits the history to the status branch.

Source:
  --git-url URL             git remote holding the manifests: https://… (smart HTTP), or
                            ssh://[user@]host[:port]/path or user@host:path (OpenSSH, deploy key)
  --branch NAME             branch to follow (default main)
  --ref REF                 pin a tag or commit instead of following a branch
  --path DIR                folder inside the repository (default: the whole repository)
  --source-dir DIR          a local folder instead of a remote (development); re-read every cycle
  --git-credentials-dir DIR files username/password/bearerToken (a mounted Flux GitRepository
                            Secret); else env GIT_USERNAME + GIT_PASSWORD or GIT_BEARER_TOKEN;
                            for SSH the files identity (private key) and known_hosts
  --git-ssh-key-file FILE   SSH private key (default: DIR/identity, else env GIT_SSH_KEY_FILE)
  --git-ssh-known-hosts-file FILE
                            the server's host keys (default: DIR/known_hosts, else env
                            GIT_SSH_KNOWN_HOSTS_FILE); an unknown host key is refused
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
  --kube-api-qps N          the controller's sustained API requests per second (default ${DEFAULT_CLIENT_LIMITS.qps}; 0: no
                            limit); the Applier is bounded by its concurrency instead (32 in flight)
  --kube-api-burst N        requests the controller may send at once above that (default ${DEFAULT_CLIENT_LIMITS.burst})
Cycles:
  --interval DURATION       time between cycles, jittered ±10 % (default 1m)
  --once                    run one cycle and exit: 0 if it succeeded, 1 if not
  --allow-empty             let an empty source prune every managed session
  --cache-dir DIR           git caches (default ~/.cache/restore-controller)
Sessions that cannot progress (the controller):
${patienceHelp(28)}
Push webhook (a cycle at once on every push to the followed branch):
  --webhook-addr ADDR       listen on HOST:PORT or :PORT (every interface); accepts POST from
                            GitHub (X-Hub-Signature-256), Gitea (X-Gitea-Signature) and GitLab
                            (X-Gitlab-Token). Pushes to other branches are answered and ignored;
                            a bad signature gets 401, a body over 5 MiB 413
  --webhook-secret-file PATH the shared secret (else env WEBHOOK_SECRET); the webhook never runs
                            without one. A file absent from an empty folder (an optional Secret
                            not created) leaves the webhook off, with a warning
${NOTIFY_HELP}
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
    const opts = parseRunOptions(argv, process.env, homedir());
    // Everything secret goes into the logger's redaction before the first line is logged.
    const secrets = loadRunSecrets(opts, process.env);
    const log = jsonLogger(io.stderr, { level: opts.logLevel, redactor: secrets.redactor, fields: { component: 'daemon' } });
    const metrics = new DaemonMetrics();
    const kubeConfig = countApiErrors(loadKubeConfig({ kubeconfig: opts.kubeconfig }), (code) => metrics.apiError(code));
    const notifier = buildNotifier(opts, secrets, log, metrics);
    const createDaemon = await daemonFactory(opts, kubeConfig, log, notifier);
    if (opts.once) return runOnce(createDaemon, log);

    if (secrets.webhook && 'absent' in secrets.webhook)
      log.warn(`webhook off: no secret (${secrets.webhook.absent}); cycles run every --interval. Create the Secret to turn it on`);
    const elector = opts.leaderElection
      ? new LeaderElector({
          kubeConfig,
          namespace: opts.leaderElection.namespace ?? defaultLeaseNamespace(),
          name: opts.leaderElection.name,
          leaseDurationMs: opts.leaderElection.leaseDurationMs,
          log,
        })
      : undefined;
    const runner = new DaemonRunner({
      log,
      metrics,
      ...(opts.metricsAddr ? { metricsAddr: opts.metricsAddr } : {}),
      ...(opts.webhook && secrets.webhook && 'secret' in secrets.webhook && opts.source.kind === 'git'
        ? { webhook: { addr: opts.webhook.addr, secret: secrets.webhook.secret, follow: opts.source.follow } }
        : {}),
      ...(elector ? { elector } : {}),
      createDaemon,
    });
    const exit = await untilStopped(runner, () =>
      log.info('running', {
        source: opts.source.kind === 'git' ? redactUrl(opts.source.url) : opts.source.dir,
        intervalMs: opts.intervalMs,
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
        ...(elector ? { identity: elector.identity } : {}),
      }),
    );
    // A lost Lease must end the process even if some request of the cycle under way lingers.
    if (exit.code !== EXIT_OK) setTimeout(() => process.exit(exit.code), 1000).unref();
    return exit.code;
  },
};

interface RunSecrets {
  /** The webhook's secret, or why it is off; undefined without --webhook-addr. */
  webhook: ReturnType<typeof loadWebhookSecret> | undefined;
  /** Knows the webhook secret, the signing passphrase, the git credentials and the notification URLs and token. */
  redactor: Redactor;
  /** The commit-status API token (--notify-token-file, else env NOTIFY_TOKEN). */
  notifyToken?: string;
}

/** Reads the webhook secret and the git credentials, so the log can mask them from its first line. */
function loadRunSecrets(opts: RunOptions, env: NodeJS.ProcessEnv): RunSecrets {
  const secrets: string[] = [];
  const webhook = opts.webhook ? loadWebhookSecret({ file: opts.webhook.secretFile, env }) : undefined;
  if (webhook && 'secret' in webhook) secrets.push(webhook.secret);
  if (opts.signingPassphrase) secrets.push(opts.signingPassphrase);
  const notifyToken = opts.notify?.commitStatus ? readNotifyToken(opts.notify.commitStatus.tokenFile, env) : undefined;
  if (notifyToken) secrets.push(notifyToken);
  // A Slack-style webhook URL is its own credential: its path is masked wherever it would show.
  for (const url of opts.notify?.webhooks ?? []) secrets.push(...webhookSecrets(url));
  if (opts.source.kind === 'git') {
    const { credentials } = resolveCredentials(opts.source.url, { ...(opts.source.credentialsDir ? { credentialsDir: opts.source.credentialsDir } : {}), env });
    for (const v of [credentials?.password, credentials?.bearerToken]) if (v) secrets.push(v);
    if (credentials?.username && credentials.password) secrets.push(Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64'));
    // An SSH deploy key is read by ssh only; its text is masked all the same, should a line of it ever reach the log.
    const keyFile = opts.source.sshKeyFile ?? credentials?.identityFile;
    if (keyFile && existsSync(keyFile)) secrets.push(readFileSync(keyFile, 'utf8'));
  }
  return { webhook, redactor: new Redactor(secrets), ...(notifyToken ? { notifyToken } : {}) };
}

function readNotifyToken(file: string | undefined, env: NodeJS.ProcessEnv): string {
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`run: cannot read --notify-token-file ${file}: ${errorMessage(e)}`, { flag: '--notify-token-file' }, { cause: e });
    }
    const token = text.trim();
    if (!token) throw new UsageError(`run: --notify-token-file ${file} is empty: put the API token in it`, { flag: '--notify-token-file' });
    return token;
  }
  const token = env['NOTIFY_TOKEN']?.trim();
  if (!token)
    throw new UsageError('run: --notify-commit-status needs an API token: give --notify-token-file FILE or set env NOTIFY_TOKEN', {
      flag: '--notify-token-file',
    });
  return token;
}

/** The notifier of --notify-*, or undefined when no notification is asked for. */
function buildNotifier(opts: RunOptions, secrets: RunSecrets, log: Logger, metrics: DaemonMetrics): Notifier | undefined {
  const n = opts.notify;
  if (!n) return undefined;
  const cs = n.commitStatus;
  return new Notifier({
    webhooks: n.webhooks,
    ...(cs && secrets.notifyToken
      ? {
          commitStatus: {
            provider: cs.provider,
            apiUrl: cs.apiUrl,
            repo: cs.repo,
            ...(cs.targetUrl ? { targetUrl: cs.targetUrl } : {}),
            token: secrets.notifyToken,
          },
        }
      : {}),
    log: log.child({ component: 'notify' }),
    sent: (sink, ok) => metrics.notification(sink, ok),
  });
}

type CreateDaemon = (hooks?: DaemonHooks) => Promise<Daemon>;

/**
 * Builds the source and the status writer (reading the keyring and the signing key) and returns
 * what builds the Daemon: its first cycles read the ledger as it is then, once this replica acts.
 */
async function daemonFactory(opts: RunOptions, kubeConfig: k8s.KubeConfig, log: Logger, notifier?: Notifier): Promise<CreateDaemon> {
  const { source, remote, statusWriter } = await buildSource(opts, log);
  const controllerLog = log.child({ component: 'controller' });
  // The ledger is read by the daemon's first cycles, not here: a git outage at start-up must not
  // stop the controller from driving the sessions already in the cluster (issue 17).
  const loadLedger =
    remote && statusWriter
      ? () => readLedger({ ...remote, branch: opts.status!.branch, cluster: opts.cluster, cacheDir: join(opts.cacheDir, 'ledger') })
      : undefined;
  return async (hooks) => {
    return new Daemon({
      source: hooks ? hooks.observeSource(source) : source,
      kubeConfig,
      cluster: opts.cluster,
      controller: {
        agent: { image: opts.agentImage },
        ...opts.patience,
        log: controllerLog,
        clientLimits: opts.clientLimits,
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
      },
      ...(statusWriter ? { statusWriter } : {}),
      ...(loadLedger ? { loadLedger } : {}),
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      ...(hooks ? { observer: hooks.observer } : {}),
      ...(notifier ? { notifier } : {}),
      allowEmpty: opts.allowEmpty,
      intervalMs: opts.intervalMs,
      pinSnapshots: {},
      log,
    });
  };
}

/** The Source the daemon follows and, on a --git-url remote, the StatusWriter of its status branch. */
async function buildSource(
  opts: RunOptions,
  log: Logger,
): Promise<{ source: Source; remote?: { url: string; credentialsDir?: string; sshKeyFile?: string; knownHostsFile?: string }; statusWriter?: StatusWriter }> {
  const globs = opts.include ? { globs: opts.include } : {};
  const src = opts.source;
  if (src.kind === 'dir') return { source: new LocalSource({ dir: src.dir, ...globs }) };
  const remote = {
    url: src.url,
    ...(src.credentialsDir ? { credentialsDir: src.credentialsDir } : {}),
    ...(src.sshKeyFile ? { sshKeyFile: src.sshKeyFile } : {}),
    ...(src.knownHostsFile ? { knownHostsFile: src.knownHostsFile } : {}),
  };
  const verify = src.verifyKeyring ? { verify: await readKeyringOption(src.verifyKeyring) } : {};
  const signer = src.signingKeyFile ? { signer: await readSignerOption(src.signingKeyFile, opts.signingPassphrase) } : {};
  const source = new GitSource({
    ...remote,
    branch: src.follow.branch,
    ref: src.follow.ref,
    path: src.path,
    cacheDir: join(opts.cacheDir, 'source'),
    log,
    ...globs,
    ...verify,
  });
  const statusWriter = opts.status
    ? new StatusWriter({ ...remote, branch: opts.status.branch, cacheDir: join(opts.cacheDir, 'status'), log, ...signer })
    : undefined;
  return { source, remote, ...(statusWriter ? { statusWriter } : {}) };
}

/** `--once`: one cycle, its report logged; 0 if it succeeded, 1 if not. */
async function runOnce(createDaemon: CreateDaemon, log: Logger): Promise<number> {
  const daemon = await createDaemon();
  const report = await daemon.cycle();
  await daemon.drain(); // the notifications the cycle queued
  log[report.ok ? 'info' : 'error']('cycle done', {
    commit: report.commit,
    statusCommit: report.statusCommit,
    actions: report.plan?.actions.map((a) => `${a.action} ${a.kind} ${a.namespace}/${a.name}`),
    error: report.error,
  });
  return report.ok ? EXIT_OK : EXIT_ERRORS;
}

/**
 * Starts the runner with SIGTERM and SIGINT stopping it (the cycle under way finishes), calls
 * `started` once it runs, and resolves with how it ended.
 */
async function untilStopped(runner: DaemonRunner, started: () => void): Promise<RunnerExit> {
  const onSignal = (signal: string) => void runner.stop(`${signal} received`);
  const onTerm = () => onSignal('SIGTERM');
  const onInt = () => onSignal('SIGINT');
  process.once('SIGTERM', onTerm);
  process.once('SIGINT', onInt);
  try {
    await runner.start();
    started();
    return await runner.exited;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  }
}

async function readKeyringOption(path: string): Promise<Keyring> {
  try {
    return await readKeyringFile(path);
  } catch (e) {
    throw new UsageError(
      `run: --verify-keyring ${path}: ${errorMessage(e)} (give a file of armored OpenPGP public keys)`,
      { flag: '--verify-keyring' },
      { cause: e },
    );
  }
}

async function readSignerOption(path: string, passphrase: string | undefined): Promise<CommitSigner> {
  let armored: string;
  try {
    armored = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(
      `run: --signing-key-file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : errorMessage(e)}`,
      { flag: '--signing-key-file' },
      { cause: e },
    );
  }
  try {
    return await commitSigner(armored, passphrase);
  } catch (e) {
    throw new UsageError(
      `run: --signing-key-file ${path}: ${errorMessage(e)} (give an armored OpenPGP private key; its passphrase in STATUS_SIGNING_PASSPHRASE)`,
      { flag: '--signing-key-file' },
      { cause: e },
    );
  }
}
