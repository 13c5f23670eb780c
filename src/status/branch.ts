// The status branch on a remote, mirrored in a no-checkout cache repository: find its tip, fetch
// it when it moved, read its files.
import { mkdir, stat } from 'node:fs/promises';
import git from 'isomorphic-git';
import { GitRemote } from '../source/remote.ts';
import { syncFs as fs } from '../source/sync-fs.ts';

export const DEFAULT_STATUS_BRANCH = 'restore-status';

export class StatusBranch {
  readonly remote: GitRemote;
  readonly branch: string;
  readonly gitdir: string;

  constructor(remote: GitRemote, branch: string, gitdir: string) {
    this.remote = remote;
    this.branch = branch;
    this.gitdir = gitdir;
  }

  get fullRef(): string {
    return `refs/heads/${this.branch}`;
  }

  async ensureRepo(): Promise<void> {
    if (await stat(`${this.gitdir}/config`).catch(() => undefined)) return;
    await mkdir(this.gitdir, { recursive: true });
    await git.init({ fs, gitdir: this.gitdir, bare: true, defaultBranch: this.branch });
    await git.addRemote({ fs, gitdir: this.gitdir, remote: 'origin', url: this.remote.url, force: true });
  }

  /** The branch's tip on the remote, fetched into the cache; null when the branch does not exist. */
  async fetchTip(cache: object): Promise<string | null> {
    await this.ensureRepo();
    let tip: string | undefined;
    try {
      const info = await git.getRemoteInfo({ http: this.remote.http, url: this.remote.url, headers: this.remote.headers });
      let node: unknown = info.refs;
      for (const part of ['heads', ...this.branch.split('/')]) node = node && typeof node === 'object' ? (node as Record<string, unknown>)[part] : undefined;
      tip = typeof node === 'string' ? node : undefined;
    } catch (e) {
      throw this.remote.explain(e, 'reading the status branch from');
    }
    return this.bringIn(tip ?? null, cache);
  }

  /** Makes sure the commit `tip` (the remote's, as advertised) is in the cache; returns it. */
  async bringIn(tip: string | null, cache: object): Promise<string | null> {
    await this.ensureRepo();
    if (!tip) return null;
    if (!(await this.has(tip, cache))) {
      try {
        await git.fetch({ fs, http: this.remote.http, gitdir: this.gitdir, url: this.remote.url, headers: this.remote.headers, cache, ref: this.branch, singleBranch: true, tags: false });
      } catch (e) {
        throw this.remote.explain(e, 'fetching the status branch from', this.branch);
      }
    }
    // Our local branch follows the remote: the next fetch sends it as "have".
    await git.writeRef({ fs, gitdir: this.gitdir, ref: this.fullRef, value: tip, force: true });
    return tip;
  }

  async has(oid: string, cache: object): Promise<boolean> {
    try {
      await git.readObject({ fs, gitdir: this.gitdir, oid, cache, format: 'deflated' });
      return true;
    } catch {
      return false;
    }
  }

  async treeOf(commit: string, cache: object): Promise<string> {
    return (await git.readCommit({ fs, gitdir: this.gitdir, oid: commit, cache })).commit.tree;
  }

  async readText(oid: string, cache: object): Promise<string> {
    const { blob } = await git.readBlob({ fs, gitdir: this.gitdir, oid, cache });
    return Buffer.from(blob).toString('utf8');
  }

  /** Every file under `prefix` at `commit` (path → text). */
  async readFiles(commit: string, prefix: string, cache: object): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    await git.walk({
      fs, gitdir: this.gitdir, cache, trees: [git.TREE({ ref: commit })],
      map: async (path, [e]) => {
        if (path === '.' || !e) return undefined;
        const inside = !prefix || path === prefix || path.startsWith(prefix + '/');
        if ((await e.type()) === 'tree') return inside || prefix.startsWith(path + '/') ? undefined : null;
        if (inside && (await e.type()) === 'blob') out.set(path, Buffer.from((await e.content())!).toString('utf8'));
        return undefined;
      },
    });
    return out;
  }
}
