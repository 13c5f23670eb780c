// Suspending a cluster's daemon from git (`restorectl suspend|resume`): a file on the status branch,
// `clusters/<cluster>/suspension.yaml`, says whether the daemon may change the cluster, who decided
// it, when and why. A suspended daemon creates, reruns, updates and prunes nothing, and keeps
// following the sessions that run; STATUS.md says so at the top. Rendering and reading are pure.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { Redactor } from '../common/redact.ts';
import { editBranch, GitRemote } from '../git/index.ts';
import type { GitRemoteOptions } from '../git/index.ts';
import { DEFAULT_STATUS_BRANCH } from './branch.ts';
import type { StatusBranch } from './branch.ts';
import { BANNER, checkCluster, clusterDir, statusMdPath, suspensionBanner } from './render.ts';
import type { Suspension } from './types.ts';
import { toYaml } from './yaml-emit.ts';

export const suspensionPath = (cluster: string) => `${clusterDir(cluster)}/suspension.yaml`;

const redactor = new Redactor();

export function renderSuspension(cluster: string, s: Suspension): string {
  return (
    '# Written by `restorectl suspend|resume` (status branch). While suspended is true the daemon of this\n' +
    '# cluster creates, reruns, updates and prunes nothing; it keeps following running sessions.\n' +
    toYaml(redactor.deep({ kind: 'RestoreSuspension', cluster, suspended: s.suspended, by: s.by, at: s.at, reason: s.reason }))
  );
}

/**
 * The file's record. A file that cannot be read as one (edited by hand) counts as suspended, with a
 * reason saying so: when in doubt the daemon changes nothing, and says why at the top of STATUS.md.
 */
export function parseSuspension(cluster: string, text: string): Suspension {
  const doc = parseDocument(text);
  const v = doc.errors.length ? undefined : (doc.toJS() as unknown);
  if (!v || typeof v !== 'object' || Array.isArray(v) || typeof (v as Record<string, unknown>)['suspended'] !== 'boolean') {
    const why = doc.errors.length ? `not YAML (${doc.errors[0]!.message.split('\n')[0]})` : 'no "suspended: true|false" in it';
    return {
      suspended: true,
      by: '?',
      at: '',
      reason: `${suspensionPath(cluster)} cannot be read: ${why}; \`restorectl resume --cluster ${cluster}\` (or suspend) writes a valid one`,
    };
  }
  const o = v as Record<string, unknown>;
  const str = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : o[k] instanceof Date ? (o[k] as Date).toISOString() : '');
  return { suspended: o['suspended'] as boolean, by: str('by'), at: str('at'), reason: str('reason') };
}

/** The cluster's record at the status branch's tip (fetched into the branch's cache); undefined when there is none. */
export async function readSuspension(branch: StatusBranch, cluster: string): Promise<Suspension | undefined> {
  checkCluster(cluster);
  const tip = await branch.fetchTip();
  if (!tip) return undefined;
  const text = branch.readFiles(tip, suspensionPath(cluster)).get(suspensionPath(cluster));
  return text === undefined ? undefined : parseSuspension(cluster, text);
}

export interface SetSuspensionOptions extends GitRemoteOptions {
  cluster: string;
  branch?: string;
  /** The record to write (`suspended: false` resumes). */
  suspension: Suspension;
  author?: { name: string; email: string };
}

export interface SetSuspensionResult {
  /** The commit pushed; null when the cluster already was in that state (nothing written). */
  commit: string | null;
  /** The record there before. */
  previous: Suspension | undefined;
  url: string;
  branch: string;
}

/**
 * Writes the record and STATUS.md's banner in one commit on the status branch (created if absent),
 * never forced. Already in the asked state: no commit, and `previous` says since when and by whom.
 */
export async function setSuspension(opts: SetSuspensionOptions): Promise<SetSuspensionResult> {
  checkCluster(opts.cluster);
  const remote = new GitRemote(opts);
  const branch = opts.branch ?? DEFAULT_STATUS_BRANCH;
  const gitdir = await mkdtemp(join(tmpdir(), 'restorectl-suspend-'));
  const s = opts.suspension;
  let previous: Suspension | undefined;
  try {
    const result = await editBranch(remote, {
      branch,
      gitdir,
      create: true,
      author: opts.author ?? { name: s.by || 'restorectl', email: 'restorectl@localhost' },
      edit: (read) => {
        const old = read(suspensionPath(opts.cluster));
        previous = old === undefined ? undefined : parseSuspension(opts.cluster, old);
        if ((previous?.suspended ?? false) === s.suspended && old !== undefined && parseDocument(old).errors.length === 0)
          return { files: new Map(), message: '' };
        if (!previous && !s.suspended) return { files: new Map(), message: '' };
        const md = withSuspensionBanner(read(statusMdPath(opts.cluster)), opts.cluster, s);
        const verb = s.suspended ? 'suspended' : 'resumed';
        return {
          files: new Map([
            [suspensionPath(opts.cluster), renderSuspension(opts.cluster, s)],
            [statusMdPath(opts.cluster), md],
          ]),
          message: `${s.suspended ? 'suspend' : 'resume'}(${opts.cluster}): ${verb} by ${redactor.text(s.by)}: ${redactor.text(s.reason.split('\n')[0]!)}\n\nCluster: ${opts.cluster}\n`,
        };
      },
    });
    return { commit: result.commit, previous, url: remote.url, branch };
  } finally {
    await rm(gitdir, { recursive: true, force: true });
  }
}

/**
 * STATUS.md with the banner set to `s` (put in after the title, or taken out), for the command that
 * suspends: people see it at once, before the daemon's next cycle renders the same.
 */
export function withSuspensionBanner(md: string | undefined, cluster: string, s: Suspension | undefined): string {
  const banner = suspensionBanner(cluster, s);
  if (md === undefined) return [`# Restores in cluster \`${cluster}\``, '', ...banner, 'Nothing recorded yet.', ''].join('\n');
  const lines = md.split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.startsWith(BANNER)) {
      // the banner's two lines and the blank after them
      i += lines[i + 1]?.startsWith('> ') ? (lines[i + 2] === '' ? 2 : 1) : 0;
      continue;
    }
    kept.push(lines[i]!);
  }
  const title = kept.findIndex((l) => l.startsWith('# '));
  const at = title < 0 ? 0 : title + 1 + (kept[title + 1] === '' ? 1 : 0);
  return [...kept.slice(0, at), ...banner, ...kept.slice(at)].join('\n');
}

export type { Suspension };
export { checkCluster, statusMdPath, suspensionBanner };
