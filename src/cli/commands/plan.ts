// `restorectl plan`: what applying a revision would do, for people (text, a pull-request comment
// in Markdown) and tools (JSON). With a base it plans a change: the head as the daemon will plan
// it after the merge, with what the change adds, changes or removes marked and listed in detail.
import type { KubeObject } from '../../api/meta.ts';
import { executionsFromLedger, ledgerView } from '../../daemon/executions.ts';
import type { Executions } from '../../daemon/executions.ts';
import { ClusterState, hasErrors, sortDiagnostics, validateSource } from '../../manifests/index.ts';
import type { DesiredSet, Diagnostic, SourceFile } from '../../manifests/index.ts';
import { ResticSnapshotSource, ledgerSessions, pinSnapshots, planRestores, planToJson, planToMarkdown, planToText, reviewChange } from '../../plan/index.ts';
import type { Action, Plan } from '../../plan/index.ts';
import { CredentialsError, GitError, readGitRevisions, revisionProblems } from '../../source/index.ts';
import { DEFAULT_STATUS_BRANCH, readLedger } from '../../status/index.ts';
import type { Command, Io } from '../command.ts';
import { EXIT_CANNOT_RUN, EXIT_ERRORS, EXIT_OK, UsageError, parseCommandArgs } from '../command.ts';
import { headCommitOf, readBaseDir, readClusterState, readPasswordFile, readSourceDir } from '../inputs.ts';

const OUTPUTS = ['text', 'markdown', 'json'] as const;

export const planCommand: Command = {
  name: 'plan',
  help: `Usage: restorectl plan --source DIR [--base-dir DIR] [options]
       restorectl plan --git-url URL --head REF [--base REF] [--path DIR] [options]

Loads and validates the manifests, then plans them against the cluster state and the ledger:
which RestoreSessions are created, re-run, pruned, blocked or left alone (noop), which executor
each uses (init-container: the workload's pods restart; job; volume-snapshot), and for every host
which snapshot it restores, from which source host, with which paths, include and exclude.

With a base (--base or --base-dir) it plans a change, such as a pull request: the head is planned
as the daemon will plan it once merged, and what the change adds, changes or removes is listed in
detail; everything else is summed up in one line. \`latest\` is looked up in the repository when
it can be read from here (see Snapshots), so each host shows the snapshot it would restore.
Output: diagnostics first (errors, then warnings), then the actions, then one line per host.

Manifests, from folders:
  --source DIR              folder holding the RestoreSession and Repository manifests (the head)
  --base-dir DIR            the same folder as on the branch the change merges into (a checkout
                            or \`git worktree add\` of the base commit)
Manifests, from a git remote (https://… smart HTTP, or ssh://… and user@host:path over OpenSSH;
nothing is checked out):
  --git-url URL             the repository; credentials in the URL are accepted, never printed
  --head REF                what to plan: a branch, tag, refs/… name (refs/pull/7/head) or commit id
  --base REF                the branch (or commit) the change merges into
  --path DIR                folder of the manifests inside the repository (default: the root)
  --git-credentials-dir DIR files username + password, or bearerToken (default: env GIT_USERNAME +
                            GIT_PASSWORD, or GIT_BEARER_TOKEN); for SSH identity and known_hosts
  --git-ssh-key-file FILE   SSH private key (default: DIR/identity, else env GIT_SSH_KEY_FILE)
  --git-ssh-known-hosts-file FILE
                            the server's host keys (default: DIR/known_hosts, else env
                            GIT_SSH_KNOWN_HOSTS_FILE)
Cluster (without either, hosts that depend on a workload are unknown and nothing has run):
  --cluster-state PATH      YAML file or folder of live objects standing in for the cluster
                            (workloads, PVCs, Nodes, Repositories, RestoreSessions), e.g. from
                            \`kubectl get … -o yaml\`, so CI plans without cluster credentials
  --status-branch NAME      read the ledger from this branch of the --git-url remote (the daemon
                            writes ${DEFAULT_STATUS_BRANCH}): restores that already ran are noop,
                            a changed spec of one is blocked, a bumped restore.gitops/rerun reruns.
                            With --source, --git-url names only the remote of the status branch.
  --cluster NAME            this cluster's folder on the status branch (default "default")
Snapshots (\`latest\` pinned to an id with \`restic snapshots --json\`, where the plan runs):
  --restic-password-file F  the repositories' password (default: env RESTIC_PASSWORD); never printed.
                            Backend keys come from the environment under the storage Secret's key
                            names (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, B2_ACCOUNT_ID, …)
  --restic-timeout SECONDS  how long restic may take per lookup before the repository counts as
                            unreachable (default 30)
  --no-restic               do not look snapshots up: \`latest\` stays latest, without warnings
Output:
  --output FORMAT           text (default), markdown (a pull-request comment; its first line is
                            the marker <!-- restorectl-plan -->) or json
  --default-namespace NS    namespace of objects that name none (default: "default")
  -h, --help                show this help

A repository that cannot be read leaves \`latest\` as "latest (not resolved: <reason>)" with a
warning; the plan goes on.
JSON output: {"sourceCommit", "diagnostics": [...], "actions": [...]} (see docs/architecture.md).
Exit status: 0 no errors, 1 at least one error diagnostic, 2 could not run.`,
  async run(argv, io) {
    const opts = parsePlanOptions(argv, process.env);
    const password = opts.restic.passwordFile ? await readPasswordFile(opts.restic.passwordFile, '--restic-password-file') : opts.restic.password;
    try {
      const inputs = await readPlanInputs(opts);
      const { plan: planned, desired } = planHead(opts, inputs);
      const plan = opts.restic.enabled ? await pinLatest(planned, desired, inputs, { password, timeoutMs: opts.restic.timeoutMs }) : planned;
      sortDiagnostics(plan.diagnostics);
      io.stdout(opts.output === 'json' ? planToJson(plan) : opts.output === 'markdown' ? planToMarkdown(plan) : planToText(plan));
      return hasErrors(plan.diagnostics) ? EXIT_ERRORS : EXIT_OK;
    } catch (e) {
      return cannotRun(e, io);
    }
  },
};

type Output = (typeof OUTPUTS)[number];

/** Where the manifests come from: a folder (and the same folder at the base), or revisions of a remote. */
export type PlanInput = { kind: 'dir'; source: string; baseDir?: string } | { kind: 'git'; head: string; base?: string; path?: string };

export interface PlanOptions {
  input: PlanInput;
  /** --git-url: the revisions' remote, or with --source only the status branch's. */
  remote?: { url: string; credentialsDir?: string; sshKeyFile?: string; knownHostsFile?: string };
  clusterState?: string;
  /** --status-branch: read the ledger from this branch of the remote. */
  statusBranch?: string;
  cluster: string;
  /** `enabled` false with --no-restic; the password from --restic-password-file, else env RESTIC_PASSWORD. */
  restic: { enabled: boolean; timeoutMs: number; passwordFile?: string; password?: string };
  output: Output;
  defaultNamespace?: string;
}

const PLAN_FLAGS = {
  source: { type: 'string' },
  'base-dir': { type: 'string' },
  'git-url': { type: 'string' },
  head: { type: 'string' },
  base: { type: 'string' },
  path: { type: 'string' },
  'git-credentials-dir': { type: 'string' },
  'git-ssh-key-file': { type: 'string' },
  'git-ssh-known-hosts-file': { type: 'string' },
  'cluster-state': { type: 'string' },
  'status-branch': { type: 'string' },
  cluster: { type: 'string', default: 'default' },
  'restic-password-file': { type: 'string' },
  'restic-timeout': { type: 'string', default: '30' },
  'no-restic': { type: 'boolean', default: false },
  output: { type: 'string', short: 'o', default: 'text' },
  'default-namespace': { type: 'string' },
} as const;

type PlanValues = ReturnType<typeof parseCommandArgs<typeof PLAN_FLAGS>>['values'];

const usage = (flag: string, message: string) => new UsageError(`plan: ${message}`, { flag });

/** `restorectl plan`'s argv and environment as PlanOptions, or a UsageError naming the flag. Pure. */
export function parsePlanOptions(argv: string[], env: NodeJS.ProcessEnv = {}): PlanOptions {
  const { values, positionals } = parseCommandArgs('plan', argv, PLAN_FLAGS);
  if (positionals.length) throw new UsageError(`plan: unexpected argument "${positionals[0]}"`, { flag: positionals[0] });
  const output = values.output as Output;
  if (!OUTPUTS.includes(output)) throw usage('--output', `--output must be one of ${OUTPUTS.join(', ')}, not "${values.output}"`);
  const input = planInput(values);
  const gitUrl = values['git-url'];
  if (values['status-branch'] !== undefined && !gitUrl)
    throw usage('--status-branch', '--status-branch is read from the --git-url remote; pass --git-url URL too');
  const timeout = Number(values['restic-timeout']);
  if (!(timeout > 0)) throw usage('--restic-timeout', `--restic-timeout must be a number of seconds, not "${values['restic-timeout']}"`);
  return {
    input,
    ...(gitUrl
      ? {
          remote: {
            url: gitUrl,
            ...(values['git-credentials-dir'] ? { credentialsDir: values['git-credentials-dir'] } : {}),
            ...(values['git-ssh-key-file'] ? { sshKeyFile: values['git-ssh-key-file'] } : {}),
            ...(values['git-ssh-known-hosts-file'] ? { knownHostsFile: values['git-ssh-known-hosts-file'] } : {}),
          },
        }
      : {}),
    ...(values['cluster-state'] ? { clusterState: values['cluster-state'] } : {}),
    ...(values['status-branch'] !== undefined ? { statusBranch: values['status-branch'] } : {}),
    cluster: values.cluster!,
    restic: {
      enabled: !values['no-restic'],
      timeoutMs: timeout * 1000,
      ...(values['restic-password-file'] ? { passwordFile: values['restic-password-file'] } : {}),
      ...(env['RESTIC_PASSWORD'] ? { password: env['RESTIC_PASSWORD'] } : {}),
    },
    output,
    ...(values['default-namespace'] !== undefined ? { defaultNamespace: values['default-namespace'] } : {}),
  };
}

/** --source (with --base-dir), or --git-url with --head (and --base, --path); never a mix. */
function planInput(values: PlanValues): PlanInput {
  if (values.source !== undefined) {
    for (const flag of ['head', 'base', 'path'] as const) {
      if (values[flag] !== undefined)
        throw usage(`--${flag}`, `--${flag} reads a git revision and goes with --git-url, not --source (use --base-dir for the base folder)`);
    }
    return { kind: 'dir', source: values.source, ...(values['base-dir'] !== undefined ? { baseDir: values['base-dir'] } : {}) };
  }
  if (!values['git-url']) throw usage('--source', 'give --source DIR (a folder), or --git-url URL with --head REF');
  if (!values.head) throw usage('--head', '--git-url needs --head REF (the branch, tag or commit to plan), and --base REF to plan it as a change');
  if (values['base-dir'] !== undefined) throw usage('--base-dir', '--base-dir goes with --source; with --git-url give --base REF');
  return { kind: 'git', head: values.head, ...(values.base !== undefined ? { base: values.base } : {}), ...(values.path ? { path: values.path } : {}) };
}

interface PlanInputs {
  head: { files: SourceFile[]; diagnostics: Diagnostic[]; commit: string | null };
  base?: { files: SourceFile[]; commit: string | null; label: string };
  state?: Awaited<ReturnType<typeof readClusterState>>;
  ledger?: Awaited<ReturnType<typeof readLedger>>;
}

/** The head (and base) manifests, the cluster state and the ledger. */
async function readPlanInputs(opts: PlanOptions): Promise<PlanInputs> {
  const revisions = opts.input.kind === 'dir' ? await readFolders(opts.input) : await readRevisions(opts.input, opts.remote!);
  const state = opts.clusterState ? await readClusterState(opts.clusterState) : undefined;
  const ledger = opts.statusBranch !== undefined ? await readLedger({ ...opts.remote!, branch: opts.statusBranch, cluster: opts.cluster }) : undefined;
  return { ...revisions, ...(state ? { state } : {}), ...(ledger ? { ledger } : {}) };
}

async function readFolders(input: Extract<PlanInput, { kind: 'dir' }>): Promise<Pick<PlanInputs, 'head' | 'base'>> {
  const read = await readSourceDir(input.source);
  const head = { ...read, commit: await headCommitOf(input.source) };
  if (input.baseDir === undefined) return { head };
  const b = await readBaseDir(input.baseDir, input.source);
  const commit = await headCommitOf(input.baseDir);
  return { head, base: { files: b.files, commit, label: commit ?? input.baseDir } };
}

async function readRevisions(
  input: Extract<PlanInput, { kind: 'git' }>,
  remote: NonNullable<PlanOptions['remote']>,
): Promise<Pick<PlanInputs, 'head' | 'base'>> {
  const refs = input.base !== undefined ? [input.head, input.base] : [input.head];
  const [h, b] = await readGitRevisions({ ...remote, ...(input.path ? { path: input.path } : {}) }, refs);
  const files = (m: Map<string, string>) => [...m].map(([path, text]) => ({ path, text }));
  const head = { files: files(h!.files), diagnostics: revisionProblems(h!), commit: h!.commit };
  return b ? { head, base: { files: files(b.files), commit: b.commit, label: input.base! } } : { head };
}

/** Plans the head as the daemon will after the merge; with a base, as a change against it. */
function planHead(opts: PlanOptions, { head, base, state, ledger }: PlanInputs): { plan: Plan; desired: DesiredSet } {
  const validate = { defaultNamespace: opts.defaultNamespace };
  const desired = validateSource(head.files, state?.cluster, validate);
  desired.diagnostics.unshift(...head.diagnostics, ...(state?.diagnostics ?? []));
  const baseDesired = base ? validateSource(base.files, state?.cluster, validate) : undefined;
  let cluster = state?.cluster;
  const extra: Diagnostic[] = [];
  let executions: Executions | undefined;
  if (ledger) {
    const inferred = ledgerSessions(ledger.sessions, baseDesired, desired, state?.cluster);
    extra.push(...inferred.diagnostics, ...statusBranchDiagnostics(ledger, opts.statusBranch!, opts.cluster));
    if (inferred.sessions.length) cluster = new ClusterState([...(state?.objects ?? []), ...(inferred.sessions as KubeObject[])]);
    // The daemon's view of the ledger, built as the daemon builds it from the status branch.
    executions = executionsFromLedger(ledger, opts.cluster);
  }
  let plan: Plan = planRestores({ desired, cluster, ...(executions ? { ledger: ledgerView(executions) } : {}), sourceCommit: head.commit });
  plan.diagnostics.push(...extra);
  if (base) plan = reviewChange(plan, desired, head.files, { desired: baseDesired!, commit: base.commit, label: base.label, files: base.files });
  return { plan, desired };
}

/** Pins `latest` where the repository can be read from here (with a base: only what the change touches). */
async function pinLatest(
  plan: Plan,
  desired: DesiredSet,
  { base, state }: PlanInputs,
  restic: { password: string | undefined; timeoutMs: number },
): Promise<Plan> {
  const source = new ResticSnapshotSource(restic);
  try {
    return await pinSnapshots(plan, desired, state?.cluster, source, base ? (a: Action) => a.change !== 'unchanged' : undefined);
  } finally {
    await source.close();
  }
}

/** The status branch's own problems, named as files on that branch; and a branch not there yet. */
function statusBranchDiagnostics(ledger: Awaited<ReturnType<typeof readLedger>>, branch: string, cluster: string): Diagnostic[] {
  const out = ledger.diagnostics.map((d) => ({ ...d, file: d.file ? `${branch}:${d.file}` : branch, message: `status branch: ${d.message}` }));
  if (!ledger.commit) {
    out.push({
      file: '',
      line: 0,
      column: 0,
      path: '',
      severity: 'warning',
      message: `${ledger.url} has no branch "${branch}" yet: no restore has been recorded, so none counts as already run (check --status-branch)`,
    });
  } else if (!ledger.sessions.length) {
    out.push({
      file: '',
      line: 0,
      column: 0,
      path: '',
      severity: 'warning',
      message: `branch "${branch}" records no session for cluster "${cluster}" (clusters/${cluster}/ is empty or missing): check --cluster`,
    });
  }
  return out;
}

function cannotRun(e: unknown, io: Io): number {
  if (e instanceof GitError || e instanceof CredentialsError) {
    io.stderr(`restorectl plan: ${e.message}\n`);
    return EXIT_CANNOT_RUN;
  }
  throw e;
}
