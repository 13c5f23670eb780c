// `restorectl agent update-status`: the agent playing Stash's last step of a Task restore
// (stashed/stash pkg/status UpdateRestoreStatusFromFile). The steps before it write their result
// to `<output-dir>/output.json` (apimachinery pkg/restic RestoreOutput: `targetStatus.stats[]`);
// this step upserts those host stats into the session and records an event per host, so phase
// and stats read as with Stash. Two additions: a host whose steps wrote nothing (or something
// unreadable) is reported Failed, never left Running (a restore that cannot be shown is not one),
// and a host that already has a final stat (written by a step that is this project's agent) keeps it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostRestoreStats, RestoreSession } from '../api/restoresession.ts';
import { isFinalPhase, repositoryOf } from '../api/restoresession.ts';
import { errorMessage } from '../common/errors.ts';
import { nullLogger } from '../common/log.ts';
import type { Logger } from '../common/log.ts';
import { Redactor } from '../common/redact.ts';
import { withApiRetry } from '../kube/retry.ts';
import { hostFinished, withHostStat } from '../session/host-stats.ts';
import type { AgentCluster } from './cluster.ts';
import type { AgentOutcome } from './restore.ts';
import { apiRetryCapMs, retryDeadline } from './restore.ts';

/** Stash's file name in the output directory (apimachinery pkg/restic DefaultOutputFileName). */
export const OUTPUT_FILE = 'output.json';

export interface UpdateStatusOptions {
  namespace: string;
  name: string;
  /** The host this Job restores: reported Failed when the steps wrote no result for it. */
  host: string;
  /** `--output-dir` as the pod sees it (absolute); read below `root`. */
  outputDir: string;
  /** Where the pod's absolute paths are: / in a pod (RESTORE_POD_ROOT in the sandbox). */
  root: string;
  env: Record<string, string | undefined>;
  log?: Logger;
  apiRetryCapMs?: number;
}

const PHASES = new Set(['Succeeded', 'Failed', 'Unknown']);

/**
 * The host stats of a step's output.json (its text), or why they cannot be used. Pure. A stat
 * needs a hostname and a final phase (Succeeded, Failed, Unknown); `error` is kept (Stash's addons
 * put the failure there), and a Failed stat without one gets one.
 */
export function parseRestoreOutput(text: string, file: string): { stats: HostRestoreStats[] } | { problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { problem: `${file} is not JSON (${errorMessage(e)})` };
  }
  const stats = (doc as { targetStatus?: { stats?: unknown } } | null)?.targetStatus?.stats;
  if (!Array.isArray(stats) || !stats.length) return { problem: `${file} has no targetStatus.stats: the steps reported no host` };
  const out: HostRestoreStats[] = [];
  for (const [i, raw] of stats.entries()) {
    const s = raw as Record<string, unknown>;
    if (typeof s?.['hostname'] !== 'string' || !s['hostname'] || typeof s['phase'] !== 'string' || !PHASES.has(s['phase'])) {
      return { problem: `${file}: targetStatus.stats[${i}] needs a hostname and a phase of Succeeded, Failed or Unknown (it has ${JSON.stringify(raw)})` };
    }
    const stat: HostRestoreStats = { hostname: s['hostname'], phase: s['phase'] as HostRestoreStats['phase'] };
    if (typeof s['duration'] === 'string' && s['duration']) stat.duration = s['duration'];
    if (typeof s['error'] === 'string' && s['error']) stat.error = s['error'];
    else if (stat.phase === 'Failed') stat.error = 'the restore step reported the host Failed without an error';
    out.push(stat);
  }
  return { stats: out };
}

/** The stats to write: the output's, or the host Failed with why there are none. Pure. */
export function outcomeStats(read: { text?: string; readError?: string }, file: string, host: string): HostRestoreStats[] {
  const problem =
    read.text === undefined
      ? `the Task's steps wrote no result for host ${host} (${file}: ${read.readError ?? 'not found'}): a step failed before writing it, or does not write Stash's output; see the logs of the restore Job's containers`
      : undefined;
  if (problem) return [{ hostname: host, phase: 'Failed', error: problem }];
  const parsed = parseRestoreOutput(read.text!, file);
  if ('problem' in parsed) return [{ hostname: host, phase: 'Failed', error: parsed.problem }];
  return parsed.stats;
}

/** The storage Secret's values, to mask in what the steps reported (a step's error may quote them). */
async function redactorFor(cluster: AgentCluster, session: RestoreSession, log: Logger): Promise<Redactor> {
  const ref = repositoryOf(session);
  try {
    if (!ref) return new Redactor();
    const repo = await cluster.repository(ref.namespace, ref.name);
    const secret = repo.spec.backend.storageSecretName;
    return new Redactor(secret ? Object.values(await cluster.secretData(ref.namespace, secret)) : []);
  } catch (e) {
    log.warn(`cannot read the storage Secret to mask it: credential shapes are still masked (${errorMessage(e)})`);
    return new Redactor();
  }
}

export async function runUpdateStatus(cluster: AgentCluster, opts: UpdateStatusOptions): Promise<AgentOutcome> {
  const log = (opts.log ?? nullLogger).child({ namespace: opts.namespace, name: opts.name, host: opts.host });
  const capMs = apiRetryCapMs(opts);
  const key = `${opts.namespace}/${opts.name}`;
  const session = await withApiRetry(`read RestoreSession ${key}`, () => cluster.session(opts.namespace, opts.name), {
    deadline: Date.now() + capMs,
    log,
  });
  if (isFinalPhase(session.status?.phase)) return { code: 0, message: `session is ${session.status!.phase}: nothing to update` };

  const file = opts.outputDir ? join(opts.outputDir, OUTPUT_FILE) : '(no --output-dir)';
  let read: { text?: string; readError?: string };
  if (!opts.outputDir) read = { readError: "the step has no outputDir param, so no step's result can be read" };
  else {
    try {
      read = { text: readFileSync(join(opts.root, file), 'utf8') };
    } catch (e) {
      read = { readError: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : errorMessage(e) };
    }
  }
  const redactor = await redactorFor(cluster, session, log);
  const stats = outcomeStats(read, file, opts.host).map((s) => (s.error ? { ...s, error: redactor.text(s.error) } : s));

  let failed = 0;
  for (const stat of stats) {
    if (hostFinished(session, stat.hostname)) {
      log.info(`host ${stat.hostname} already ${session.status?.stats?.find((s) => s.hostname === stat.hostname)?.phase}: kept`);
      if (session.status?.stats?.find((s) => s.hostname === stat.hostname)?.phase === 'Failed') failed++;
      continue;
    }
    await cluster.updateStatus(opts.namespace, opts.name, (s) => (hostFinished(s, stat.hostname) ? undefined : withHostStat(s.status, stat)), {
      retry: { deadline: retryDeadline(session, Date.now(), capMs), log },
      what: `write host ${stat.hostname}'s ${stat.phase} stat to RestoreSession ${key}`,
    });
    if (stat.phase === 'Failed') {
      failed++;
      await cluster.event(session, 'Warning', 'Host Restore Failed', `restore failed for host "${stat.hostname}". Reason: ${stat.error}`, stat.hostname);
      log.error(`host ${stat.hostname} Failed: ${stat.error}`, { error: stat.error });
    } else {
      await cluster.event(
        session,
        'Normal',
        `Host Restore ${stat.phase}`,
        `restore ${(stat.phase ?? '').toLowerCase()} for host "${stat.hostname}"`,
        stat.hostname,
      );
      log.info(`host ${stat.hostname} ${stat.phase}`);
    }
  }
  const message = stats.map((s) => `${s.hostname}: ${s.phase}${s.error ? ` (${s.error})` : ''}`).join('; ');
  return { code: failed ? 1 : 0, message };
}
