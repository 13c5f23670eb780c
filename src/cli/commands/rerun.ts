// `restorectl rerun NS/NAME`: runs a final restore again the git-native way — one commit on the
// source branch that bumps the session's `restore.gitops/rerun` annotation, pushed over our git
// transport (never forced). When it may not push (no write access, a protected branch) or with
// --print-patch, it prints the change as a patch for a pull request instead.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RERUN_ANNOTATION } from '../../api/meta.ts';
import { CredentialsError, editBranch, GitError, GitRemote } from '../../git/index.ts';
import { readGitRevisions } from '../../source/index.ts';
import type { Command, Io } from '../command.ts';
import { EXIT_CANNOT_RUN, EXIT_ERRORS, EXIT_OK, UsageError, parseCommandArgs } from '../command.ts';
import { GIT_FLAGS, GIT_FLAGS_HELP, gitRemoteOptions } from '../git-flags.ts';
import { bumpRerun, declaresSession, unifiedDiff } from '../rerun-edit.ts';
import { parseSessionName } from './status.ts';
import { defaultBy } from './suspend.ts';

export interface RerunOptions {
  session: { namespace: string; name: string };
  branch: string;
  path?: string;
  defaultNamespace: string;
  by: string;
  printPatch: boolean;
  remote: ReturnType<typeof gitRemoteOptions>;
}

export function parseRerunOptions(argv: string[]): RerunOptions {
  const { values, positionals } = parseCommandArgs('rerun', argv, {
    ...GIT_FLAGS,
    branch: { type: 'string', default: 'main' },
    path: { type: 'string' },
    'default-namespace': { type: 'string', default: 'default' },
    by: { type: 'string' },
    'print-patch': { type: 'boolean', default: false },
  });
  if (!positionals[0]) throw new UsageError('rerun: give the session as NAMESPACE/NAME (e.g. restorectl rerun demo/sts-restore --git-url …)', {});
  if (positionals.length > 1) throw new UsageError(`rerun: unexpected argument "${positionals[1]}": give one NAMESPACE/NAME`, { flag: positionals[1] });
  if (!values['git-url']) throw new UsageError('rerun: --git-url URL is required: the repository the daemon follows', { flag: '--git-url' });
  return {
    session: parseSessionName('rerun', positionals[0]),
    branch: values.branch!,
    ...(values.path ? { path: values.path } : {}),
    defaultNamespace: values['default-namespace']!,
    by: values.by?.trim() || defaultBy(),
    printPatch: values['print-patch']!,
    remote: gitRemoteOptions(values, values['git-url']),
  };
}

/** Refusals of a push that a patch (a pull request) gets round. */
const MAY_NOT_PUSH = new Set(['GitAuthFailed', 'GitPushRejected', 'GitFailed']);

export const rerunCommand: Command = {
  name: 'rerun',
  help: `Usage: restorectl rerun NAMESPACE/NAME --git-url URL [--branch main] [--path DIR] [--print-patch]

Runs a restore again, from git: finds the manifest that declares the RestoreSession on the branch
(a document, or an item of a List), bumps its metadata.annotations["${RERUN_ANNOTATION}"] ("2" → "3";
none → "1") and pushes that one-line change as a commit on the branch, never forced. The daemon
then runs the spec now in git once the current run is final (DESIGN §2); nothing else in the file
changes. Without write access (HTTP 401/403, a protected branch, a refused push), or with
--print-patch, it prints the change as a patch instead (\`git apply\` it and open a pull request).

Options:
  --git-url URL               the repository the daemon follows
  --branch B                  the branch the daemon follows (default: main)
  --path DIR                  only manifests under this folder (as restorectl run --path)
  --default-namespace NS      the namespace of manifests that name none (default: default)
  --by NAME                   who asks, in the commit message (default: user@host)
  --print-patch               print the patch; push nothing
${GIT_FLAGS_HELP}
  -h, --help                  show this help

Exit status: 0 pushed (or the patch printed with --print-patch), 1 the push was refused and the
patch is printed instead, 2 could not run (no such session on the branch, git unreachable).`,
  async run(argv: string[], io: Io) {
    const opts = parseRerunOptions(argv);
    const { namespace, name } = opts.session;
    const key = `${namespace}/${name}`;
    const gitdir = await mkdtemp(join(tmpdir(), 'restorectl-rerun-'));
    try {
      const remote = new GitRemote(opts.remote);
      let files: Map<string, string>;
      let commit: string;
      try {
        const [rev] = await readGitRevisions({ ...opts.remote, cacheDir: gitdir, ...(opts.path ? { path: opts.path } : {}) }, [opts.branch]);
        files = rev!.files;
        commit = rev!.commit;
      } catch (e) {
        if (e instanceof GitError || e instanceof CredentialsError) {
          io.stderr(`restorectl rerun: ${e.message}\n`);
          return EXIT_CANNOT_RUN;
        }
        throw e;
      }
      const declaring = [...files].filter(([, text]) => declaresSession(text, namespace, name, opts.defaultNamespace)).map(([p]) => p);
      if (declaring.length !== 1) {
        io.stderr(
          declaring.length
            ? `restorectl rerun: RestoreSession ${key} is declared in ${declaring.length} files (${declaring.join(', ')}) on ${opts.branch} of ${remote.url}; the daemon applies neither: fix that first\n`
            : `restorectl rerun: no manifest on ${opts.branch}@${commit.slice(0, 7)} of ${remote.url}${opts.path ? ` under ${opts.path}` : ''} declares RestoreSession ${key}; check the name, --branch and --path (\`restorectl status --git-url …\` lists the sessions)\n`,
        );
        return EXIT_CANNOT_RUN;
      }
      const file = declaring[0]!;
      const planned = bumpRerun(files.get(file)!, namespace, name, new Date(), opts.defaultNamespace)!;
      const patch = unifiedDiff(file, files.get(file)!, planned.text);
      const change = `${RERUN_ANNOTATION} ${planned.from === undefined ? '(none)' : JSON.stringify(planned.from)} → ${JSON.stringify(planned.to)}`;
      if (opts.printPatch) {
        io.stdout(patch);
        io.stderr(`restorectl rerun: ${key} in ${file}: ${change}; apply with \`git apply\`, commit and push (or open a pull request)\n`);
        return EXIT_OK;
      }
      let pushed: Awaited<ReturnType<typeof editBranch>>;
      let to = planned.to;
      try {
        pushed = await editBranch(remote, {
          branch: opts.branch,
          gitdir,
          author: { name: opts.by, email: 'restorectl@localhost' },
          edit: (read) => {
            // On the tip as it is now (someone may have pushed since it was read).
            const now = read(file);
            const e = now === undefined ? undefined : bumpRerun(now, namespace, name, new Date(), opts.defaultNamespace);
            if (!e) return { files: new Map(), message: '' };
            to = e.to;
            return {
              files: new Map([[file, e.text]]),
              message: `rerun(${key}): ${RERUN_ANNOTATION} ${e.from === undefined ? '(none)' : JSON.stringify(e.from)} → ${JSON.stringify(e.to)}\n\nRuns the restore again with the spec now in git, once its current run is final.\n\nRequested-By: ${opts.by}\n`,
            };
          },
        });
      } catch (e) {
        if (e instanceof GitError && MAY_NOT_PUSH.has(e.code)) {
          io.stdout(patch);
          io.stderr(
            `restorectl rerun: cannot push to ${opts.branch} (${e.message}); the change is printed above as a patch: \`git apply\` it, commit and push, or open a pull request\n`,
          );
          return EXIT_ERRORS;
        }
        if (e instanceof GitError || e instanceof CredentialsError) {
          io.stderr(`restorectl rerun: ${e.message}\n`);
          return EXIT_CANNOT_RUN;
        }
        throw e;
      }
      if (!pushed.commit) {
        io.stderr(`restorectl rerun: ${file} no longer declares ${key} on the branch's tip; nothing pushed\n`);
        return EXIT_CANNOT_RUN;
      }
      io.stdout(
        `pushed ${pushed.commit.slice(0, 7)} to ${opts.branch} of ${remote.url}: ${key} in ${file}, ${RERUN_ANNOTATION} → ${JSON.stringify(to)}\n` +
          'The daemon runs the spec now in git once the current run is final (`restorectl reconcile` starts a cycle now; `restorectl status` shows it).\n',
      );
      return EXIT_OK;
    } finally {
      await rm(gitdir, { recursive: true, force: true });
    }
  },
};
