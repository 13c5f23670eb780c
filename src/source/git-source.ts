// The git Source (DESIGN §1): one branch (or a pinned tag or commit) of a remote, kept in a
// no-checkout cache repository. The first sync fetches everything once; later syncs ask the remote
// for the ref's tip (one GET), fetch only when it moved, diff the two trees pruning equal subtrees,
// and read only the changed blobs. A commit that fails signature verification is refused and the
// previous revision stays in force.
import { mkdir, readdir, rm } from 'node:fs/promises';
import git from 'isomorphic-git';
import { advertise, fetchPack, GitError, GitRemote, ObjectReader, syncFs as fs } from '../git/index.ts';
import type { GitRemoteOptions, TreeEntryInfo } from '../git/index.ts';
import { decodeManifestText } from '../common/text.ts';
import type { TextProblem } from '../common/text.ts';
import { PathSelector, readSelectedFiles } from './select.ts';
import { verifyDetached } from './signatures.ts';
import type { Keyring } from './signatures.ts';
import { diffFileMaps, noChanges, silentLog } from './types.ts';
import type { ChangedPaths, Source, SourceLog, SourceRevision } from './types.ts';

export interface GitSourceOptions extends GitRemoteOptions {
  /** Branch to follow; default: the remote's default branch (its HEAD). */
  branch?: string;
  /** A tag or commit to pin instead of following a branch. */
  ref?: string;
  /** Folder inside the repository holding the manifests; default the root. */
  path?: string;
  /** minimatch globs relative to `path`; default `**\/*.y?(a)ml`. */
  globs?: string[];
  /** Folder for the cache repository (created when missing, reused across restarts). */
  cacheDir: string;
  /** When set, every commit must carry a valid signature by one of these keys. */
  verify?: Keyring;
  log?: SourceLog;
  /** Fresh clone once the cache holds this many pack files (isomorphic-git has no gc). */
  maxPacks?: number;
}

const HEX_OID = /^[0-9a-f]{7,40}$/i;

export class GitSource implements Source {
  readonly remote: GitRemote;
  private readonly opts: GitSourceOptions;
  private readonly selector: PathSelector;
  private readonly gitdir: string;
  private readonly log: SourceLog;
  private branch: string | undefined;
  private rev: SourceRevision | undefined;
  /** The last full read followed a symbolic link: reads are not incremental then. */
  private followedLinks = false;

  constructor(opts: GitSourceOptions) {
    this.opts = opts;
    this.remote = new GitRemote(opts);
    this.selector = new PathSelector(opts.path, opts.globs);
    this.gitdir = opts.cacheDir;
    this.log = opts.log ?? silentLog;
    this.branch = opts.ref ? undefined : opts.branch;
  }

  get current(): SourceRevision | undefined {
    return this.rev;
  }

  /** What this source follows, for logs: `URL@branch` or `URL@ref`. */
  describe(): string {
    return `${this.remote.url}@${this.opts.ref ?? this.branch ?? 'HEAD'}`;
  }

  async sync(): Promise<SourceRevision> {
    try {
      return await this.syncOnce();
    } finally {
      this.objects = undefined; // the reader holds pack buffers: not kept between cycles
    }
  }

  private async syncOnce(): Promise<SourceRevision> {
    const cache = {}; // one per cycle, dropped afterwards
    await this.ensureRepo();
    const target = await this.resolveTarget(cache);
    const prev = this.rev;
    if (prev && prev.commit === target) {
      return prev.changed.added.length + prev.changed.modified.length + prev.changed.deleted.length === 0 && !prev.initial
        ? prev
        : (this.rev = { ...prev, changed: noChanges(), previousCommit: prev.commit, initial: false });
    }
    if (this.opts.verify) await this.checkSignature(target, cache);
    if (prev?.commit && this.branch && !(await this.isAncestor(prev.commit, target, cache))) {
      this.log.warn(
        `source ${this.describe()}: the branch was force-pushed: ${prev.commit.slice(0, 7)} is no longer in the history of ${target.slice(0, 7)}; following the new tip`,
      );
    }
    let files: Map<string, string>;
    let problems: Map<string, TextProblem>;
    let changed: ChangedPaths;
    // An incremental read cannot tell when a followed link's target changed: then the whole tree is read.
    const incremental = prev?.commit && this.reader().has(prev.commit) && !this.followedLinks ? this.readChanged(prev, target) : undefined;
    if (incremental) {
      ({ files, problems, changed } = incremental);
    } else {
      const selected = readSelectedFiles(this.reader(), target, this.selector);
      ({ files, problems } = selected);
      this.followedLinks = selected.followedLinks;
      changed = diffFileMaps(prev?.files, files);
      for (const p of problems.keys()) if (!prev?.problems?.has(p) && !changed.added.includes(p)) changed.added.push(p);
      for (const p of prev?.problems?.keys() ?? []) if (!problems.has(p) && !files.has(p)) changed.deleted.push(p);
    }
    this.rev = {
      commit: target,
      branch: this.branch ?? null,
      ref: this.opts.ref ?? null,
      url: this.remote.url,
      files,
      problems,
      changed,
      previousCommit: prev?.commit ?? null,
      initial: !prev,
    };
    return this.rev;
  }

  // ---- the cache repository ----

  private async ensureRepo(): Promise<void> {
    const packs = await readdir(`${this.gitdir}/objects/pack`).catch(() => undefined);
    if (packs && packs.filter((p) => p.endsWith('.pack')).length > (this.opts.maxPacks ?? 200)) {
      this.log.info(`source ${this.describe()}: compacting the cache (fresh fetch)`);
      await rm(this.gitdir, { recursive: true, force: true });
    } else if (packs) {
      const url = await git.getConfig({ fs, gitdir: this.gitdir, path: 'remote.origin.url' }).catch(() => undefined);
      if (url === this.remote.url) return;
      this.log.info(`source ${this.describe()}: the cache at ${this.gitdir} belongs to ${url ?? 'another remote'}; starting afresh`);
      await rm(this.gitdir, { recursive: true, force: true });
    }
    await mkdir(this.gitdir, { recursive: true });
    await git.init({ fs, gitdir: this.gitdir, bare: true, defaultBranch: 'main' });
    // The URL stored is the clean one: credentials only ever travel in a header.
    await git.addRemote({ fs, gitdir: this.gitdir, remote: 'origin', url: this.remote.url, force: true });
  }

  /** Brings the wanted commit into the cache and returns its oid (tags peeled). */
  private async resolveTarget(cache: object): Promise<string> {
    const pinned = this.opts.ref;
    if (pinned && HEX_OID.test(pinned)) return this.resolvePinnedCommit(pinned, cache);
    const advertised = await advertise(this.remote, 'git-upload-pack', 'fetching from');
    const remoteRefs = advertised.refs;
    let fullRef: string;
    if (pinned) {
      fullRef = pinned.startsWith('refs/') ? pinned : remoteRefs.has(`refs/tags/${pinned}`) ? `refs/tags/${pinned}` : `refs/heads/${pinned}`;
    } else {
      if (!this.branch) {
        const head = remoteRefs.get('HEAD');
        const name = advertised.head ?? [...remoteRefs.entries()].find(([k, v]) => k.startsWith('refs/heads/') && v === head)?.[0];
        if (!name) throw this.remote.error('GitRefNotFound', 'fetching from', 'the remote has no default branch (an empty repository?); set --branch');
        this.branch = name.slice('refs/heads/'.length);
      }
      fullRef = `refs/heads/${this.branch}`;
    }
    const tip = remoteRefs.get(fullRef);
    if (!tip) {
      const what = pinned ? `tag or branch "${pinned}"` : `branch "${this.branch}"`;
      throw this.remote.error('GitRefNotFound', 'fetching from', `the remote has no ${what}; check --branch/--ref`, { ref: pinned ?? fullRef });
    }
    const peeled = remoteRefs.get(`${fullRef}^{}`) ?? tip;
    const localRef = fullRef.startsWith('refs/tags/') ? fullRef : `refs/heads/${fullRef.replace(/^refs\/heads\//, '')}`;
    if (peeled === this.rev?.commit) return peeled; // nothing moved: nothing to read
    if (!this.reader().has(peeled)) {
      // Tell the remote what we have: the revision in force and the ref's last known tip.
      const haves = [this.rev?.commit, await git.resolveRef({ fs, gitdir: this.gitdir, ref: localRef }).catch(() => undefined)].filter(
        (h): h is string => !!h && this.reader().has(h),
      );
      await fetchPack(this.remote, this.gitdir, [tip], haves, advertised);
      this.reader().refresh();
    }
    // Keep a local ref at the tip, so the next fetch tells the remote what we already have.
    await git.writeRef({ fs, gitdir: this.gitdir, ref: localRef, value: tip, force: true });
    if (pinned && this.rev?.commit && this.rev.commit !== peeled) {
      this.log.warn(`source ${this.describe()}: the pinned ref moved from ${this.rev.commit.slice(0, 7)} to ${peeled.slice(0, 7)}`);
    }
    return this.peel(peeled);
  }

  private async resolvePinnedCommit(pinned: string, cache: object): Promise<string> {
    const local = await this.expand(pinned, cache);
    if (local) return local;
    // Servers only hand out advertised refs, so fetch every branch and tag and look for the commit there.
    const advertised = await advertise(this.remote, 'git-upload-pack', 'fetching from');
    const tips = [
      ...new Set([...advertised.refs].filter(([name]) => /^refs\/(heads|tags)\//.test(name) && !name.endsWith('^{}')).map(([, oid]) => oid)),
    ].filter((oid) => !this.reader().has(oid));
    if (tips.length) {
      const haves = [this.rev?.commit].filter((h): h is string => !!h && this.reader().has(h));
      await fetchPack(this.remote, this.gitdir, tips, haves, advertised);
      this.reader().refresh();
    }
    const found = await this.expand(pinned, cache);
    if (!found)
      throw this.remote.error('GitRefNotFound', 'fetching from', `commit ${pinned} is on none of the remote's branches or tags; check --ref`, { ref: pinned });
    return found;
  }

  /** The commit a full or abbreviated id names, when the cache holds it (a non-commit is an error). */
  private async expand(oid: string, cache: object): Promise<string | undefined> {
    let full: string;
    try {
      full = oid.length === 40 ? oid.toLowerCase() : await git.expandOid({ fs, gitdir: this.gitdir, oid, cache });
    } catch {
      return undefined;
    }
    return this.reader().has(full) ? this.peel(full) : undefined;
  }

  /** One reader per sync cycle (it holds the pack buffers); re-listed after a fetch. */
  private objects: ObjectReader | undefined;

  private reader(): ObjectReader {
    return (this.objects ??= new ObjectReader(this.gitdir));
  }

  /** The commit `oid` names (tags peeled); the ref must name a commit. */
  private peel(oid: string): string {
    const { oid: peeled, object } = this.reader().peel(oid);
    if (object.type !== 'commit')
      throw new GitError('GitRefNotFound', `${this.describe()}: ${oid} is a ${object.type}, not a commit`, { url: this.remote.url, oid });
    return peeled;
  }

  private async isAncestor(ancestor: string, oid: string, cache: object): Promise<boolean> {
    try {
      return await git.isDescendent({ fs, gitdir: this.gitdir, oid, ancestor, depth: -1, cache });
    } catch {
      return false;
    }
  }

  private async checkSignature(commit: string, cache: object): Promise<void> {
    const { commit: c, payload } = await git.readCommit({ fs, gitdir: this.gitdir, oid: commit, cache });
    const check = await verifyDetached(payload, c.gpgsig, this.opts.verify!);
    if (check.ok) return;
    const keep = this.rev?.commit ? `the source stays at ${this.rev.commit.slice(0, 7)}` : 'no revision is in force yet';
    const by = check.signer ? ` (signer: ${check.signer})` : check.keyId ? ` (signer key ${check.keyId})` : '';
    throw new GitError(
      'GitSignatureInvalid',
      `${this.describe()}: commit ${commit.slice(0, 7)} by ${c.author.name} <${c.author.email}> refused: ${check.reason}${by}; ${keep}`,
      { url: this.remote.url, oid: commit },
    );
  }

  // ---- reading manifests out of trees ----

  /**
   * Diffs the two commits' trees, skipping equal subtrees, and reads only the changed blobs; or
   * undefined when a symbolic link changed (the whole tree is read then, links followed).
   */
  private readChanged(
    prev: SourceRevision,
    commit: string,
  ): { files: Map<string, string>; problems: Map<string, TextProblem>; changed: ChangedPaths } | undefined {
    const files = new Map(prev.files);
    const problems = new Map(prev.problems ?? []);
    const changed = noChanges();
    const sel = this.selector;
    const reader = this.reader();
    const isFile = (e: TreeEntryInfo | undefined) => e?.type === 'blob' && e.mode !== '120000';
    const isLink = (e: TreeEntryInfo | undefined) => e?.type === 'blob' && e.mode === '120000';
    let linkChanged = false;
    const readInto = (path: string, e: TreeEntryInfo) => {
      const existed = files.has(path) || problems.has(path);
      const decoded = decodeManifestText(reader.read(e.oid).data);
      files.delete(path);
      problems.delete(path);
      if ('text' in decoded) files.set(path, decoded.text);
      else problems.set(path, decoded);
      (existed ? changed.modified : changed.added).push(path);
    };
    const drop = (path: string) => {
      const had = problems.delete(path);
      if (files.delete(path) || had) changed.deleted.push(path);
    };
    const diff = (a: string | undefined, b: string | undefined, prefix: string) => {
      const left = new Map((a ? reader.readTree(a) : []).map((e) => [e.name, e]));
      const right = new Map((b ? reader.readTree(b) : []).map((e) => [e.name, e]));
      for (const name of new Set([...left.keys(), ...right.keys()])) {
        const x = left.get(name);
        const y = right.get(name);
        if (x && y && x.oid === y.oid && x.mode === y.mode) continue; // unchanged: prune
        const path = prefix ? `${prefix}/${name}` : name;
        if ((isLink(x) || isLink(y)) && (sel.selects(path) || sel.descends(path))) linkChanged = true;
        if (x?.type === 'tree' || y?.type === 'tree') {
          if (!sel.descends(path)) continue;
          diff(x?.type === 'tree' ? x.oid : undefined, y?.type === 'tree' ? y.oid : undefined, path);
          // A file that became a folder (or the reverse).
          if (x && x.type !== 'tree') drop(path);
          if (isFile(y) && sel.selects(path)) readInto(path, y!);
          continue;
        }
        if (!sel.selects(path)) continue;
        if (isFile(y)) readInto(path, y!);
        else drop(path);
      }
    };
    diff(reader.treeOf(prev.commit!), reader.treeOf(commit), '');
    if (linkChanged) return undefined;
    for (const list of [changed.added, changed.modified, changed.deleted]) list.sort();
    const sorted = <T>(m: Map<string, T>) => new Map([...m.entries()].sort(([x], [y]) => (x < y ? -1 : 1)));
    return { files: sorted(files), problems: sorted(problems), changed };
  }
}
