// `restorectl status`: the ledger read straight from a remote's status branch, so anyone can ask
// "what ran, when, from which commit" without access to the cluster.
import { formatDiagnostic } from '../../manifests/diagnostic.ts';
import { CredentialsError, GitError } from '../../source/index.ts';
import { DEFAULT_STATUS_BRANCH, readLedger } from '../../status/index.ts';
import { attentionOf, displayPhase, hostsOf, hostsText, snapshotsText } from '../../status/index.ts';
import type { Command } from '../command.ts';
import { EXIT_CANNOT_RUN, EXIT_ERRORS, EXIT_OK, UsageError, parseCommandArgs } from '../command.ts';
import { sessionDetailJson, sessionDetailText } from './status-detail.ts';

const OUTPUTS = ['text', 'json'] as const;

export const statusCommand: Command = {
  name: 'status',
  help: `Usage: restorectl status --git-url URL [--status-branch B] [--cluster C] [--output text|json]
       restorectl status NAMESPACE/NAME --git-url URL [--cluster C] [--output text|json]

Reads the status branch (DESIGN §4) of the remote and prints one line per RestoreSession: its
phase, hosts succeeded/total (and how many failed), the content id and source commit of its
latest execution, and when it was accepted and finished; then the snapshot each host restores
and its time (pinned when the daemon accepted the restore, or by the agent before it restored;
with a note when latest moved after the pin); then the sessions that need attention
(blocked, failed, invalid, interrupted, waiting), each with the reason, the errors of its failed
hosts and what to do. No cluster access is needed.

With NAMESPACE/NAME it prints that one session in full: every execution (content id, phase,
source commit, accepted/started/finished, the rerun annotation it ran with), each host's phase,
duration, snapshot restored, progress and error, the conditions, the source repository, commit
and file, and the daemon's last decision with its reason. Exit 1 when no cluster on the branch
has the session. In a daemon cluster with a suspension, the text says who suspended it.

Options:
  --git-url URL               the remote (https://…, ssh://… or user@host:path); credentials in
                              the URL are accepted but never printed
  --status-branch B           default: ${DEFAULT_STATUS_BRANCH}
  --cluster C                 only this cluster (default: every cluster on the branch)
  --output FORMAT             text (default) or json
  --git-credentials-dir DIR   folder with files username + password, or bearerToken
                              (default: env GIT_USERNAME + GIT_PASSWORD, or GIT_BEARER_TOKEN);
                              for SSH the files identity and known_hosts
  --git-ssh-key-file FILE     SSH private key (default: DIR/identity, else env GIT_SSH_KEY_FILE)
  --git-ssh-known-hosts-file FILE
                              the server's host keys (default: DIR/known_hosts, else env
                              GIT_SSH_KNOWN_HOSTS_FILE)
  -h, --help                  show this help

JSON output for one session: {"url", "branch", "commit", "sessions": [{"cluster", "namespace",
"name", "file", "phase", "hosts", "source", "contentId", "repository", "executions", "status",
"decision": {"action", "reason"}, "attention"}]}.
JSON output of the list: {"url", "branch", "commit", "sessions": [{"cluster", "namespace", "name", "file",
"phase", "hosts", "hostsSucceeded", "hostsFailed", "contentId", "source", "executions", "status",
"decision", "attention": null | {"phase", "problem", "hosts": ["host: error"], "todo"}}],
"diagnostics": [...]}.
Exit status: 0 read (problems in single files are reported, not fatal), 2 could not read.`,
  async run(argv, io) {
    const opts = parseStatusOptions(argv);
    let ledger: Ledger;
    try {
      ledger = await readLedger({
        url: opts.url,
        ...(opts.statusBranch ? { branch: opts.statusBranch } : {}),
        ...(opts.cluster ? { cluster: opts.cluster } : {}),
        ...(opts.credentialsDir ? { credentialsDir: opts.credentialsDir } : {}),
        ...(opts.sshKeyFile ? { sshKeyFile: opts.sshKeyFile } : {}),
        ...(opts.knownHostsFile ? { knownHostsFile: opts.knownHostsFile } : {}),
      });
    } catch (e) {
      if (e instanceof GitError || e instanceof CredentialsError) {
        io.stderr(`restorectl status: ${e.message}\n`);
        return EXIT_CANNOT_RUN;
      }
      throw e;
    }
    if (opts.session) return showSession(ledger, opts, io);
    if (opts.output === 'json') {
      io.stdout(statusJson(ledger));
      return EXIT_OK;
    }
    io.stdout(statusText(ledger));
    for (const d of ledger.diagnostics) io.stderr(formatDiagnostic(d) + '\n');
    return EXIT_OK;
  },
};

type Ledger = Awaited<ReturnType<typeof readLedger>>;

/** `restorectl status NS/NAME`: the session in each cluster that has it, or exit 1 saying which sessions there are. */
function showSession(ledger: Ledger, opts: StatusOptions, io: { stdout(t: string): void; stderr(t: string): void }): number {
  const { namespace, name } = opts.session!;
  const found = ledger.sessions.filter((s) => s.namespace === namespace && s.name === name);
  if (!found.length) {
    const where = `${ledger.url} ${ledger.branch}${opts.cluster ? ` (cluster ${opts.cluster})` : ''}`;
    const inNs = ledger.sessions.filter((s) => s.namespace === namespace).map((s) => s.name);
    const known = inNs.length ? `sessions in ${namespace}: ${[...new Set(inNs)].slice(0, 10).join(', ')}` : `no session in namespace ${namespace}`;
    io.stderr(
      ledger.commit
        ? `restorectl status: no RestoreSession ${namespace}/${name} on ${where} (${known}); check the name, the namespace and --cluster\n`
        : `restorectl status: ${where}: the branch does not exist yet, so nothing has been recorded; check --status-branch, or wait for the daemon's first cycle\n`,
    );
    return EXIT_ERRORS;
  }
  const where = { url: ledger.url, branch: ledger.branch, commit: ledger.commit };
  if (opts.output === 'json') io.stdout(JSON.stringify({ ...where, sessions: found.map(sessionDetailJson) }, null, 2) + '\n');
  else io.stdout(found.map((s) => sessionDetailText(s, where)).join('\n'));
  for (const d of ledger.diagnostics.filter((d) => found.some((s) => s.file === d.file))) io.stderr(formatDiagnostic(d) + '\n');
  return EXIT_OK;
}

export interface StatusOptions {
  /** `NAMESPACE/NAME`: show that one session in full. */
  session?: { namespace: string; name: string };
  url: string;
  statusBranch?: string;
  cluster?: string;
  credentialsDir?: string;
  sshKeyFile?: string;
  knownHostsFile?: string;
  output: (typeof OUTPUTS)[number];
}

/** `restorectl status`'s argv as StatusOptions, or a UsageError naming the flag. */
export function parseStatusOptions(argv: string[]): StatusOptions {
  const { values, positionals } = parseCommandArgs('status', argv, {
    'git-url': { type: 'string' },
    'status-branch': { type: 'string' },
    cluster: { type: 'string' },
    output: { type: 'string', short: 'o', default: 'text' },
    'git-credentials-dir': { type: 'string' },
    'git-ssh-key-file': { type: 'string' },
    'git-ssh-known-hosts-file': { type: 'string' },
  });
  if (positionals.length > 1) throw new UsageError(`status: unexpected argument "${positionals[1]}": give one NAMESPACE/NAME`, { flag: positionals[1] });
  const session = positionals[0] !== undefined ? parseSessionName('status', positionals[0]) : undefined;
  if (!values['git-url']) throw new UsageError('status: --git-url URL is required', { flag: '--git-url' });
  const output = values.output as StatusOptions['output'];
  if (!OUTPUTS.includes(output)) throw new UsageError(`status: --output must be one of ${OUTPUTS.join(', ')}, not "${values.output}"`, { flag: '--output' });
  return {
    ...(session ? { session } : {}),
    url: values['git-url'],
    ...(values['status-branch'] ? { statusBranch: values['status-branch'] } : {}),
    ...(values.cluster ? { cluster: values.cluster } : {}),
    ...(values['git-credentials-dir'] ? { credentialsDir: values['git-credentials-dir'] } : {}),
    ...(values['git-ssh-key-file'] ? { sshKeyFile: values['git-ssh-key-file'] } : {}),
    ...(values['git-ssh-known-hosts-file'] ? { knownHostsFile: values['git-ssh-known-hosts-file'] } : {}),
    output,
  };
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** `NAMESPACE/NAME` of a RestoreSession, or a UsageError saying what the argument should look like. */
export function parseSessionName(command: string, text: string): { namespace: string; name: string } {
  const m = /^([^/]+)\/([^/]+)$/.exec(text);
  if (!m || !DNS_LABEL.test(m[1]!) || m[1]!.length > 63 || !DNS_SUBDOMAIN.test(m[2]!) || m[2]!.length > 253)
    throw new UsageError(`${command}: "${text}" is not NAMESPACE/NAME of a RestoreSession (e.g. demo/sts-restore; lower-case letters, digits and "-")`, {
      flag: text,
    });
  return { namespace: m[1]!, name: m[2]! };
}

/** `--output json`: the ledger's sessions with their display phase and hosts. */
export function statusJson(ledger: Ledger): string {
  return (
    JSON.stringify(
      {
        url: ledger.url,
        branch: ledger.branch,
        commit: ledger.commit,
        sessions: ledger.sessions.map((s) => ({
          cluster: s.cluster,
          namespace: s.namespace,
          name: s.name,
          file: s.file,
          phase: attentionOf(s)?.phase ?? displayPhase(s),
          hosts: hostsText(s),
          hostsSucceeded: hostsOf(s).done,
          hostsFailed: hostsOf(s).failed + hostsOf(s).unknown,
          contentId: s.contentId ?? null,
          source: s.source ?? null,
          executions: s.executions,
          status: s.status ?? null,
          decision: s.decision ?? null,
          attention: attentionOf(s) ?? null,
        })),
        diagnostics: ledger.diagnostics,
      },
      null,
      2,
    ) + '\n'
  );
}

/** The text output: a heading, then one row per session under aligned column headers. */
export function statusText(ledger: Ledger): string {
  if (!ledger.commit) return `${ledger.url}: no branch "${ledger.branch}" yet: nothing has been recorded.\n`;
  let out = `${ledger.url} ${ledger.branch} at ${ledger.commit.slice(0, 7)}: ${ledger.sessions.length} session(s)\n\n`;
  const header = ['CLUSTER', 'SESSION', 'PHASE', 'HOSTS', 'CONTENT ID', 'SOURCE', 'ACCEPTED', 'FINISHED'];
  const rows = ledger.sessions.map((s) => {
    const last = s.executions[s.executions.length - 1];
    const commit = last?.sourceCommit ?? s.source?.commit ?? '';
    return [
      s.cluster,
      `${s.namespace}/${s.name}`,
      attentionOf(s)?.phase ?? displayPhase(s),
      hostsText(s),
      last?.contentId ?? s.contentId ?? '-',
      commit ? `${s.source?.branch ? s.source.branch + '@' : ''}${commit.slice(0, 7)}${s.source?.file ? ':' + s.source.file : ''}` : '-',
      last?.acceptedAt || '-',
      last?.finishedAt || '-',
    ];
  });
  if (!rows.length) return out;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [header, ...rows]) out += r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ') + '\n';
  return out + snapshotsLines(ledger) + attentionText(ledger);
}

/** The snapshot each host restores and its time (the effective RPO), per session that has one. */
function snapshotsLines(ledger: Ledger): string {
  const lines = ledger.sessions.flatMap((s) => {
    const text = snapshotsText(s);
    return text ? [`  ${s.cluster} ${s.namespace}/${s.name}: ${text}\n`] : [];
  });
  return lines.length ? `\nSnapshots:\n${lines.join('')}` : '';
}

/** The sessions that need people, after the table: why, each failed host's error, and what to do. */
function attentionText(ledger: Ledger): string {
  const needing = ledger.sessions.map((s) => ({ s, a: attentionOf(s) })).filter((x) => x.a);
  if (!needing.length) return '';
  let out = `\nNeeds attention (${needing.length}):\n`;
  for (const { s, a } of needing) {
    out += `  ${s.cluster} ${s.namespace}/${s.name}: ${a!.phase}${/^\d/.test(a!.problem) ? ' ' : ': '}${a!.problem}\n`;
    for (const h of a!.hosts) out += `    host ${h}\n`;
    out += `    to do: ${a!.todo}\n`;
  }
  return out;
}
