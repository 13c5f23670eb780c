// `restorectl run`'s options: argv and the environment in, a typed RunOptions out, or a UsageError
// that names the flag and says what to give instead. Pure: nothing is read from disk or the
// network here (secrets, keyrings and the kubeconfig are read by the wiring in run.ts).
import { join } from 'node:path';
import { DEFAULT_AGENT_IMAGE } from '../../controller/agent-container.ts';
import { parseListenAddress } from '../../daemon/http-server.ts';
import type { ListenAddress } from '../../daemon/http-server.ts';
import { DEFAULT_LEASE_NAME } from '../../daemon/leader.ts';
import type { FollowedRef } from '../../daemon/webhook.ts';
import { isRestoreError } from '../../common/errors.ts';
import { parseDuration } from '../../session/duration.ts';
import { DEFAULT_STATUS_BRANCH } from '../../status/index.ts';
import type { ClientLimits } from '../../kube/client.ts';
import { UsageError, parseCommandArgs } from '../command.ts';
import { NOTIFY_FLAGS, parseNotifyOptions } from './notify-options.ts';
import type { NotifyOptions } from './notify-options.ts';
import type { Patience } from './patience-options.ts';
import { PATIENCE_FLAGS, parsePatience } from './patience-options.ts';
import { CLIENT_LIMIT_FLAGS, parseClientLimits } from './client-limits.ts';

/** The manifests come from a git remote... */
export interface GitRunSource {
  kind: 'git';
  url: string;
  /** A branch to follow, or a pinned `--ref`. */
  follow: FollowedRef;
  /** Folder inside the repository ('' for the root). */
  path: string;
  credentialsDir?: string;
  /** --git-ssh-key-file, --git-ssh-known-hosts-file: for ssh:// and user@host:path URLs. */
  sshKeyFile?: string;
  knownHostsFile?: string;
  /** --verify-keyring: armored public keys the followed commit must be signed by. */
  verifyKeyring?: string;
  /** --signing-key-file: signs the status branch's commits. */
  signingKeyFile?: string;
}

/** ... or from a local folder, re-read every cycle. */
export interface DirRunSource {
  kind: 'dir';
  dir: string;
}

export interface RunOptions {
  source: GitRunSource | DirRunSource;
  /** --include globs; absent: the source's default. */
  include?: string[];
  /** The status branch on the --git-url remote; absent with --no-status (the ledger lives in memory). */
  status?: { branch: string };
  cluster: string;
  kubeconfig?: string;
  /** --namespace: act in this namespace only. */
  namespace?: string;
  agentImage: string;
  intervalMs: number;
  once: boolean;
  allowEmpty: boolean;
  cacheDir: string;
  /** --webhook-addr, with --webhook-secret-file if given (else env WEBHOOK_SECRET, read at wiring). */
  webhook?: { addr: ListenAddress; secretFile?: string };
  metricsAddr?: ListenAddress;
  /** --leader-elect; `namespace` undefined: the pod's (env POD_NAMESPACE, the service account's, else default). */
  leaderElection?: { namespace?: string; name: string; leaseDurationMs: number };
  /** --stuck-after, --orphaned-hook-after: the controller's patience (absent: its defaults). */
  patience?: Patience;
  /** env LOG_LEVEL. */
  logLevel?: string;
  /** env STATUS_SIGNING_PASSPHRASE: the --signing-key-file key's passphrase. */
  signingPassphrase?: string;
  /** --notify-*: notices when a restore is final or blocked. */
  notify?: NotifyOptions;
  /** --kube-api-qps and --kube-api-burst: the controller's client-side rate limit. */
  clientLimits: ClientLimits;
}

const FLAGS = {
  'git-url': { type: 'string' },
  branch: { type: 'string', default: 'main' },
  ref: { type: 'string' },
  path: { type: 'string', default: '' },
  'source-dir': { type: 'string' },
  'git-credentials-dir': { type: 'string' },
  'git-ssh-key-file': { type: 'string' },
  'git-ssh-known-hosts-file': { type: 'string' },
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
  ...NOTIFY_FLAGS,
  ...PATIENCE_FLAGS,
  ...CLIENT_LIMIT_FLAGS,
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof FLAGS>>['values'];

const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const usage = (flag: string, message: string) => new UsageError(`run: ${message}`, { flag });

/**
 * `restorectl run`'s argv and environment as RunOptions. `home` is where the default cache lives
 * (`~/.cache/restore-controller`). Checks run in a fixed order, so the first mistake is the one named.
 */
export function parseRunOptions(argv: string[], env: NodeJS.ProcessEnv = {}, home = ''): RunOptions {
  const { values } = parseCommandArgs('run', argv, FLAGS);
  checkSource(values);
  const intervalMs = durationFlag(values, 'interval', 1000, 'at least 1s (e.g. 30s, 5m)');
  if (!values['git-url'] && !values['no-status'])
    throw usage('--no-status', 'the status branch lives on the --git-url remote; with --source-dir, pass --no-status');
  const namespace = values.namespace;
  if (namespace !== undefined && !NAMESPACE_NAME.test(namespace))
    throw usage('--namespace', `--namespace "${namespace}" is not a namespace name (lower-case letters, digits and "-", at most 63)`);
  checkCombinations(values);
  const leaseDurationMs = durationFlag(values, 'leader-election-lease-duration', 3000, 'at least 3s (e.g. 15s)', '15s');
  checkGitOnly(values);
  const webhookAddr = addressFlag(values, 'webhook-addr');
  const metricsAddr = addressFlag(values, 'metrics-addr');
  const notify = parseNotifyOptions(values, values['git-url']);
  const patience = parsePatience('run', values);
  const clientLimits = parseClientLimits('run', values);
  return {
    clientLimits,
    source: sourceOption(values),
    ...(values.include?.length ? { include: values.include } : {}),
    ...(values['git-url'] && !values['no-status'] ? { status: { branch: values['status-branch']! } } : {}),
    cluster: values.cluster!,
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(namespace ? { namespace } : {}),
    agentImage: values['agent-image'] ?? env['RESTORE_AGENT_IMAGE'] ?? DEFAULT_AGENT_IMAGE,
    intervalMs,
    once: values.once!,
    allowEmpty: values['allow-empty']!,
    cacheDir: values['cache-dir'] ?? join(home, '.cache', 'restore-controller'),
    ...(webhookAddr ? { webhook: { addr: webhookAddr, ...(values['webhook-secret-file'] ? { secretFile: values['webhook-secret-file'] } : {}) } } : {}),
    ...(metricsAddr ? { metricsAddr } : {}),
    ...(values['leader-elect']
      ? { leaderElection: { namespace: values['leader-election-namespace'], name: values['leader-election-id'] ?? DEFAULT_LEASE_NAME, leaseDurationMs } }
      : {}),
    ...(Object.keys(patience).length ? { patience } : {}),
    ...(env['LOG_LEVEL'] !== undefined ? { logLevel: env['LOG_LEVEL'] } : {}),
    ...(env['STATUS_SIGNING_PASSPHRASE'] !== undefined ? { signingPassphrase: env['STATUS_SIGNING_PASSPHRASE'] } : {}),
    ...(notify ? { notify } : {}),
  };
}

function checkSource(values: Values): void {
  if (!values['git-url'] === !values['source-dir']) throw usage('--git-url', 'give exactly one of --git-url or --source-dir');
}

/** --once next to the servers or a Lease; the leader-election flags without --leader-elect. */
function checkCombinations(values: Values): void {
  if (values.once) {
    for (const flag of ['webhook-addr', 'metrics-addr', 'leader-elect'] as const) {
      if (values[flag])
        throw usage(
          `--${flag}`,
          `--once runs one cycle and exits; it cannot be combined with --${flag} (a one-off cycle next to a running daemon would not wait for its Lease: scale the daemon to 0 first)`,
        );
    }
  }
  if (!values['leader-elect']) {
    for (const flag of ['leader-election-namespace', 'leader-election-id', 'leader-election-lease-duration'] as const) {
      if (values[flag] !== undefined) throw usage(`--${flag}`, `--${flag} has no effect without --leader-elect`);
    }
  }
}

/** The flags that only mean something for a --git-url remote (or next to another flag). */
function checkGitOnly(values: Values): void {
  const git = !!values['git-url'];
  if (!git && values['verify-keyring'])
    throw usage('--verify-keyring', '--verify-keyring checks commits of a --git-url remote; a --source-dir folder has none to check');
  if (!git && values['signing-key-file']) throw usage('--signing-key-file', '--signing-key-file signs status-branch commits, which need --git-url');
  if (values['webhook-addr'] && !git)
    throw usage(
      '--webhook-addr',
      '--webhook-addr needs --git-url: a push webhook reports pushes to a remote, and --source-dir reads a local folder every cycle',
    );
  if (values['webhook-secret-file'] && !values['webhook-addr'])
    throw usage('--webhook-secret-file', '--webhook-secret-file has no effect without --webhook-addr');
}

function durationFlag(values: Values, flag: 'interval' | 'leader-election-lease-duration', minMs: number, what: string, fallback?: string): number {
  const ms = parseDuration(values[flag] ?? fallback!);
  if (ms === undefined || ms < minMs) throw usage(`--${flag}`, `--${flag} "${values[flag]}" is not a duration of ${what}`);
  return ms;
}

function addressFlag(values: Values, flag: 'webhook-addr' | 'metrics-addr'): ListenAddress | undefined {
  const text = values[flag];
  if (text === undefined) return undefined;
  try {
    return parseListenAddress(`--${flag}`, text);
  } catch (e) {
    if (!isRestoreError(e)) throw e;
    throw new UsageError(`run: ${e.message}`, { flag: `--${flag}` }, { cause: e });
  }
}

function sourceOption(values: Values): GitRunSource | DirRunSource {
  const url = values['git-url'];
  if (!url) return { kind: 'dir', dir: values['source-dir']! };
  return {
    kind: 'git',
    url,
    follow: values.ref ? { ref: values.ref } : { branch: values.branch! },
    path: values.path!,
    ...(values['git-credentials-dir'] ? { credentialsDir: values['git-credentials-dir'] } : {}),
    ...(values['git-ssh-key-file'] ? { sshKeyFile: values['git-ssh-key-file'] } : {}),
    ...(values['git-ssh-known-hosts-file'] ? { knownHostsFile: values['git-ssh-known-hosts-file'] } : {}),
    ...(values['verify-keyring'] ? { verifyKeyring: values['verify-keyring'] } : {}),
    ...(values['signing-key-file'] ? { signingKeyFile: values['signing-key-file'] } : {}),
  };
}
