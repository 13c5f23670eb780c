// The status branch on a remote, mirrored in a no-checkout cache repository: find its tip, fetch
// it when it moved, read its files.
import { mkdir, stat } from 'node:fs/promises';
import git from 'isomorphic-git';
import { GitRemote } from '../source/remote.ts';
import { fetchPack } from '../source/fetch-pack.ts';
import { ObjectReader } from '../source/object-reader.ts';
import { advertise } from '../source/smart-http.ts';
import type { Advertisement } from '../source/smart-http.ts';
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
    const advertised = await advertise(this.remote, 'git-upload-pack', 'reading the status branch from');
    return this.bringIn(advertised.refs.get(this.fullRef) ?? null, cache, advertised);
  }

  /** Makes sure the commit `tip` (the remote's, as advertised) is in the cache; returns it. */
  async bringIn(tip: string | null, cache: object, uploadAdvert?: Advertisement): Promise<string | null> {
    await this.ensureRepo();
    if (!tip) return null;
    if (!(await this.has(tip, cache))) {
      const advertised = uploadAdvert ?? (await advertise(this.remote, 'git-upload-pack', 'fetching the status branch from'));
      const mine = await git.resolveRef({ fs, gitdir: this.gitdir, ref: this.fullRef }).catch(() => undefined);
      await fetchPack(this.remote, this.gitdir, [tip], mine ? [mine] : [], advertised);
    }
    // Our local branch follows the remote: the next fetch sends it as "have".
    await git.writeRef({ fs, gitdir: this.gitdir, ref: this.fullRef, value: tip, force: true });
    return tip;
  }

  async has(oid: string, _cache?: object): Promise<boolean> {
    return new ObjectReader(this.gitdir).has(oid);
  }

  async treeOf(commit: string, cache: object): Promise<string> {
    return (await git.readCommit({ fs, gitdir: this.gitdir, oid: commit, cache })).commit.tree;
  }

  async readText(oid: string, cache: object): Promise<string> {
    const { blob } = await git.readBlob({ fs, gitdir: this.gitdir, oid, cache });
    return Buffer.from(blob).toString('utf8');
  }

  /** Every file under `prefix` at `commit` (path → text). */
  async readFiles(commit: string, prefix: string, _cache?: object): Promise<Map<string, string>> {
    const reader = new ObjectReader(this.gitdir);
    const out = new Map<string, string>();
    const walk = (tree: string, dir: string) => {
      for (const e of reader.readTree(tree)) {
        const path = dir ? `${dir}/${e.name}` : e.name;
        const inside = !prefix || path === prefix || path.startsWith(prefix + '/');
        if (e.type === 'tree') {
          if (inside || prefix.startsWith(path + '/')) walk(e.oid, path);
        } else if (inside && e.type === 'blob') {
          out.set(path, reader.read(e.oid).data.toString('utf8'));
        }
      }
    };
    walk(reader.treeOf(commit), '');
    return out;
  }
}
