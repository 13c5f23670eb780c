// The status branch on a remote, mirrored in a no-checkout cache repository: find its tip, fetch
// it when it moved, read its files, push a commit on top of it.
import { mkdir, stat } from 'node:fs/promises';
import git from 'isomorphic-git';
import { advertise, fetchPack, ObjectReader, pushPack, storePack, syncFs as fs } from '../git/index.ts';
import type { PackCache } from '../git/index.ts';
import type { Advertisement, GitRemote, PushOutcome } from '../git/index.ts';

export const DEFAULT_STATUS_BRANCH = 'restore-status';

const PUSHING = 'pushing the status branch to';

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
  async fetchTip(): Promise<string | null> {
    await this.ensureRepo();
    const advertised = await advertise(this.remote, 'git-upload-pack', 'reading the status branch from');
    return this.bringIn(advertised.refs.get(this.fullRef) ?? null, advertised);
  }

  /** GET info/refs?service=git-receive-pack: the tip to build on, and the push's capabilities. */
  advertiseReceivePack(): Promise<Advertisement> {
    return advertise(this.remote, 'git-receive-pack', PUSHING);
  }

  /** Makes sure the commit `tip` (the remote's, as advertised) is in the cache; returns it. Reads the cache's packs through `packs` when given. */
  async bringIn(tip: string | null, uploadAdvert?: Advertisement, packs?: PackCache): Promise<string | null> {
    await this.ensureRepo();
    if (!tip) return null;
    if (!new ObjectReader(this.gitdir, packs).has(tip)) {
      const advertised = uploadAdvert ?? (await advertise(this.remote, 'git-upload-pack', 'fetching the status branch from'));
      const mine = await git.resolveRef({ fs, gitdir: this.gitdir, ref: this.fullRef }).catch(() => undefined);
      await fetchPack(this.remote, this.gitdir, [tip], mine ? [mine] : [], advertised);
    }
    // Our local branch follows the remote: the next fetch sends it as "have".
    await this.setLocalTip(tip);
    return tip;
  }

  /** Pushes `commit` (with `pack`) on top of `tip`, never forced. */
  push(tip: string | null, commit: string, pack: Buffer, advertised: Advertisement): Promise<PushOutcome> {
    return pushPack(this.remote, { ref: this.fullRef, oldOid: tip, newOid: commit, pack }, advertised, PUSHING);
  }

  /** Keeps what was pushed: the next cycle builds on it without fetching it back. */
  async keepPushed(commit: string, pack: { pack: Buffer; idx: Buffer; sha: string }): Promise<void> {
    storePack(this.gitdir, pack.sha, pack.pack, pack.idx);
    await this.setLocalTip(commit);
  }

  private async setLocalTip(oid: string): Promise<void> {
    await git.writeRef({ fs, gitdir: this.gitdir, ref: this.fullRef, value: oid, force: true });
  }

  /** Every file under `prefix` at `commit` (path → text). */
  readFiles(commit: string, prefix: string): Map<string, string> {
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
