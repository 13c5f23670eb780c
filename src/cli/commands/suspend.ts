// `restorectl suspend|resume`: a commit on the status branch that holds (or frees) one cluster's
// daemon. The daemon reads the record before each cycle; STATUS.md says who suspended it, when and why.
import { hostname, userInfo } from 'node:os';
import { CredentialsError, GitError } from '../../git/index.ts';
import { DEFAULT_STATUS_BRANCH, setSuspension } from '../../status/index.ts';
import type { Suspension } from '../../status/index.ts';
import type { Command, Io } from '../command.ts';
import { EXIT_CANNOT_RUN, EXIT_OK, UsageError, parseCommandArgs } from '../command.ts';
import { GIT_FLAGS, GIT_FLAGS_HELP, gitRemoteOptions } from '../git-flags.ts';

export interface SuspendOptions {
  suspended: boolean;
  cluster: string;
  reason: string;
  by: string;
  statusBranch?: string;
  remote: ReturnType<typeof gitRemoteOptions>;
}

const CLUSTER = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Who runs the command: `user@host`. */
export function defaultBy(): string {
  let user = process.env['USER'] ?? '';
  try {
    user = userInfo().username || user;
  } catch {
    // no passwd entry (a container running as a bare uid)
  }
  return `${user || 'unknown'}@${hostname()}`;
}

export function parseSuspendOptions(command: 'suspend' | 'resume', argv: string[], now: () => Date = () => new Date()): SuspendOptions & { at: string } {
  const { values, positionals } = parseCommandArgs(command, argv, {
    ...GIT_FLAGS,
    cluster: { type: 'string' },
    reason: { type: 'string' },
    by: { type: 'string' },
    'status-branch': { type: 'string' },
  });
  if (positionals.length)
    throw new UsageError(`${command}: unexpected argument "${positionals[0]}" (the reason goes in --reason "…")`, { flag: positionals[0] });
  if (!values['git-url'])
    throw new UsageError(`${command}: --git-url URL is required: the remote whose status branch the daemon writes`, { flag: '--git-url' });
  if (!values.cluster)
    throw new UsageError(`${command}: --cluster C is required: the cluster name the daemon runs with (restorectl run --cluster)`, { flag: '--cluster' });
  if (!CLUSTER.test(values.cluster))
    throw new UsageError(`${command}: --cluster "${values.cluster}" is no cluster name on the status branch (letters, digits, ".", "_", "-")`, {
      flag: '--cluster',
    });
  const reason = values.reason?.trim();
  if (!reason)
    throw new UsageError(
      `${command}: --reason TEXT is required: it is written to the status branch and STATUS.md, so others know why (e.g. --reason "storage migration, INC-123")`,
      { flag: '--reason' },
    );
  return {
    suspended: command === 'suspend',
    cluster: values.cluster,
    reason,
    by: values.by?.trim() || defaultBy(),
    at: now()
      .toISOString()
      .replace(/\.\d+Z$/, 'Z'),
    ...(values['status-branch'] ? { statusBranch: values['status-branch'] } : {}),
    remote: gitRemoteOptions(values, values['git-url']),
  };
}

function helpOf(command: 'suspend' | 'resume'): string {
  const intro =
    command === 'suspend'
      ? `Holds the daemon of one cluster: commits clusters/C/suspension.yaml (suspended: true, who, when,
why) and a banner at the top of clusters/C/STATUS.md to the status branch. From its next cycle
the daemon (restorectl run --cluster C) creates, reruns, updates and prunes nothing: each held
restore is "blocked" with the suspension as its reason; sessions that already run are still
followed to their end and their status written. Undo with \`restorectl resume\`.`
      : `Frees the daemon of one cluster held by \`restorectl suspend\`: commits suspension.yaml with
suspended: false (who resumed it, when, why) and takes the banner out of STATUS.md. From its next
cycle the daemon applies what git declares again. Not suspended: nothing is written.`;
  return `Usage: restorectl ${command} --cluster C --reason TEXT --git-url URL [--status-branch B] [--by NAME]

${intro}
The daemon reads the record before every cycle; \`restorectl reconcile\` makes that happen now.
The commit is pushed over HTTP(S) or SSH with the credentials below, never forced.

Options:
  --cluster C                 the cluster's name on the status branch (restorectl run --cluster)
  --reason TEXT               why; written to the branch and STATUS.md (required)
  --by NAME                   who (default: user@host of this machine)
  --git-url URL               the remote with the status branch (https://…, ssh://…, user@host:path)
  --status-branch B           default: ${DEFAULT_STATUS_BRANCH}
${GIT_FLAGS_HELP}
  -h, --help                  show this help

Exit status: 0 written (or already ${command === 'suspend' ? 'suspended' : 'running'}), 2 could not run (usage, git).`;
}

function command(name: 'suspend' | 'resume'): Command {
  return {
    name,
    help: helpOf(name),
    async run(argv: string[], io: Io) {
      const opts = parseSuspendOptions(name, argv);
      const suspension: Suspension = { suspended: opts.suspended, by: opts.by, at: opts.at, reason: opts.reason };
      let result: Awaited<ReturnType<typeof setSuspension>>;
      try {
        result = await setSuspension({
          ...opts.remote,
          cluster: opts.cluster,
          suspension,
          ...(opts.statusBranch ? { branch: opts.statusBranch } : {}),
        });
      } catch (e) {
        if (e instanceof GitError || e instanceof CredentialsError) {
          io.stderr(`restorectl ${name}: ${e.message}\n`);
          return EXIT_CANNOT_RUN;
        }
        throw e;
      }
      const p = result.previous;
      if (!result.commit) {
        io.stdout(
          opts.suspended
            ? `cluster ${opts.cluster} is already suspended (by ${p?.by || '?'} at ${p?.at || '?'}: ${p?.reason || '-'}); nothing written\n`
            : `cluster ${opts.cluster} is not suspended${p ? ` (resumed by ${p.by} at ${p.at})` : ''}; nothing written\n`,
        );
        return EXIT_OK;
      }
      io.stdout(
        `${opts.suspended ? 'suspended' : 'resumed'} cluster ${opts.cluster}: commit ${result.commit.slice(0, 7)} on ${result.branch} of ${result.url}\n` +
          (opts.suspended
            ? `The daemon creates, reruns, updates and prunes nothing from its next cycle (\`restorectl reconcile\` runs one now); running sessions are still followed.\nResume with: restorectl resume --cluster ${opts.cluster} --reason "…" --git-url ${result.url}\n`
            : 'The daemon applies what git declares from its next cycle (`restorectl reconcile` runs one now).\n'),
      );
      return EXIT_OK;
    },
  };
}

export const suspendCommand = command('suspend');
export const resumeCommand = command('resume');
