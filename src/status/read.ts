// Reading the ledger straight from a remote's status branch (for `restorectl status` and the
// daemon's start-up).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitRemote } from '../git/index.ts';
import type { GitRemoteOptions } from '../git/index.ts';
import { DEFAULT_STATUS_BRANCH, StatusBranch } from './branch.ts';
import { buildLedger } from './ledger.ts';
import type { Ledger } from './ledger.ts';

export interface ReadLedgerOptions extends GitRemoteOptions {
  branch?: string;
  /** Only this cluster's sessions. */
  cluster?: string;
  /** Cache repository to reuse; default a temporary folder removed afterwards. */
  cacheDir?: string;
}

export async function readLedger(opts: ReadLedgerOptions): Promise<Ledger & { url: string; branch: string }> {
  const remote = new GitRemote(opts);
  const branchName = opts.branch ?? DEFAULT_STATUS_BRANCH;
  const tmp = opts.cacheDir ? undefined : await mkdtemp(join(tmpdir(), 'restorectl-status-'));
  try {
    const branch = new StatusBranch(remote, branchName, opts.cacheDir ?? join(tmp!, 'cache'));
    const tip = await branch.fetchTip();
    const files = tip ? branch.readFiles(tip, opts.cluster ? `clusters/${opts.cluster}` : 'clusters') : new Map<string, string>();
    return { ...buildLedger(files, { commit: tip, ...(opts.cluster ? { cluster: opts.cluster } : {}) }), url: remote.url, branch: branchName };
  } finally {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  }
}
