// The StatusWriter (DESIGN §4): renders a snapshot of the managed sessions into the status
// branch's files, commits only what changed (one commit per cycle, none when nothing changed) and
// pushes without ever forcing. A rejected push (another writer got there first) fetches the new
// tip, re-applies the rendered files on top of it and tries again with backoff, so concurrent
// writers never lose each other's commits.
//
// One attempt, in steps: read the tip (network), render the changed files onto its tree (local
// reads of the cache only), build the commit and its pack (pure, apart from signing), push
// (network), and on success keep what was pushed, on rejection report it for the retry loop.
import { createHash } from 'node:crypto';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { blobOid, buildPack, commitPayload, encodeCommit, GitError, GitRemote, objectOid, ObjectReader, PackCache, TreeEditor } from '../git/index.ts';
import type { Advertisement, CommitFields, GitRemoteOptions, PackObject } from '../git/index.ts';
import { silentLog } from '../source/index.ts';
import type { CommitSigner, SourceLog } from '../source/index.ts';
import { DEFAULT_STATUS_BRANCH, StatusBranch } from './branch.ts';
import { parseLedgerFile } from './ledger.ts';
import {
  checkCluster,
  clusterDir,
  commitMessage,
  displayPhase,
  hostsText,
  mergeExecutions,
  renderSessionFile,
  renderStatusMd,
  rowOf,
  sessionPath,
  statusMdPath,
} from './render.ts';
import type { StatusChange, StatusRow } from './render.ts';
import { readSuspension } from './suspend.ts';
import type { Execution, ManagedSession, StatusSnapshot, Suspension } from './types.ts';

export interface StatusWriterOptions extends GitRemoteOptions {
  /** Default `restore-status`. */
  branch?: string;
  /** Folder for the cache repository. */
  cacheDir: string;
  author?: { name: string; email: string };
  /** Signs every commit (OpenPGP). */
  signer?: CommitSigner;
  /** Push attempts before giving up (default 8). */
  maxAttempts?: number;
  /** First backoff after a rejected push, doubled each time, with jitter (default 100 ms). */
  backoffMs?: number;
  log?: SourceLog;
  /** Fresh cache once it holds this many pack files (default 50). */
  maxPacks?: number;
}

export interface WriteResult {
  /** The commit pushed; null when nothing changed (no commit, no push). */
  commit: string | null;
  /** The branch tip it was made on; null for the first (orphan) commit. */
  parent: string | null;
  /** Paths written. */
  files: string[];
  changes: StatusChange[];
  /** Push attempts (1 when nobody else pushed in between). */
  attempts: number;
  message: string | null;
}

const encoder = new TextEncoder();

/** Where an attempt starts: the remote's tip (null: no branch yet) and an editor over its tree. */
interface Base {
  advertised: Advertisement;
  tip: string | null;
  editor: TreeEditor;
  readText: (oid: string) => string;
}

/** What a snapshot changes on top of a tip. */
interface Rendered {
  /** New blobs, already placed in the editor. */
  blobs: PackObject[];
  files: string[];
  changes: StatusChange[];
}

interface Built {
  commit: string;
  message: string;
  pack: { pack: Buffer; idx: Buffer; sha: string };
}

/**
 * The digest of a value's JSON: what the memos compare, kept instead of the JSON itself (a
 * session's is over a KiB, kept for every session between cycles).
 */
function digest(v: unknown): string {
  return createHash('sha256').update(JSON.stringify(v)).digest('base64');
}

/** What was rendered at a path last time, so an unchanged session is not rendered again. */
interface Memo {
  /** digest() of the session rendered. */
  key: string;
  oid: string;
  row: StatusRow;
  executions: Execution[];
  phase: string;
}

export class StatusWriter {
  readonly remote: GitRemote;
  readonly branch: StatusBranch;
  private readonly opts: StatusWriterOptions;
  private readonly log: SourceLog;
  /** path → what was rendered there last time, so unchanged sessions are not rendered again. */
  private readonly memo = new Map<string, Memo>();
  /** blob oid → its STATUS.md row, for files of sessions not in the snapshot. */
  private readonly rows = new Map<string, StatusRow | null>();
  private queue: Promise<unknown> = Promise.resolve();
  private lastRejection = '';
  /** The digest of the last snapshot that is on the branch. */
  private lastWritten: string | undefined;

  constructor(opts: StatusWriterOptions) {
    this.opts = opts;
    this.remote = new GitRemote(opts);
    this.branch = new StatusBranch(this.remote, opts.branch ?? DEFAULT_STATUS_BRANCH, opts.cacheDir);
    this.log = opts.log ?? silentLog;
  }

  /** The cluster's suspension record at the branch's tip (`restorectl suspend`), read before a cycle plans. */
  readSuspension(cluster: string): Promise<Suspension | undefined> {
    const run = this.queue.then(() => readSuspension(this.branch, cluster));
    this.queue = run.catch(() => {});
    return run;
  }

  /** Writes one cycle's snapshot. Calls on one writer run one after another. */
  writeStatus(snapshot: StatusSnapshot): Promise<WriteResult> {
    const run = this.queue.then(() => this.write(snapshot));
    this.queue = run.catch(() => {});
    return run;
  }

  private async write(snapshot: StatusSnapshot): Promise<WriteResult> {
    checkCluster(snapshot.cluster);
    // The same snapshot as the one last written (or found already there) needs no round trip:
    // the branch holds it. Edits made by others in between are kept until the session changes,
    // as with any unchanged session.
    const key = digest(snapshot);
    if (key === this.lastWritten) return { commit: null, parent: null, files: [], changes: [], attempts: 0, message: null };
    const max = this.opts.maxAttempts ?? 8;
    // The cache's packs are parsed once for this write's attempts and dropped after it: none are kept between cycles.
    const packs = new PackCache();
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(snapshot, attempt, packs);
      if (result !== 'rejected') {
        this.lastWritten = key;
        return result;
      }
      if (attempt >= max) {
        throw new GitError(
          'GitPushRejected',
          `pushing ${this.branch.branch} to ${this.remote.url}: rejected ${attempt} times (last: ${this.lastRejection}); another writer keeps pushing, or the server refuses the update; giving up for this cycle`,
          { url: this.remote.url, ref: this.branch.fullRef },
        );
      }
      const base = (this.opts.backoffMs ?? 100) * 2 ** (attempt - 1);
      const wait = Math.min(5000, base * (0.5 + Math.random()));
      this.log.info(`status branch ${this.branch.branch}: push rejected (the branch moved), retrying on the new tip in ${Math.round(wait)} ms`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private async attempt(snapshot: StatusSnapshot, attempt: number, packs: PackCache): Promise<WriteResult | 'rejected'> {
    const base = await this.readTip(packs);
    const { blobs, files, changes } = this.renderChanged(snapshot, base);
    if (!files.length) return { commit: null, parent: base.tip, files, changes, attempts: attempt, message: null };
    const built = await this.buildCommit(snapshot, base, blobs, changes);
    const outcome = await this.branch.push(base.tip, built.commit, built.pack.pack, base.advertised);
    if (!outcome.ok) return this.rejected(outcome.reason);
    await this.branch.keepPushed(built.commit, built.pack);
    return { commit: built.commit, parent: base.tip, files: files.sort(), changes, attempts: attempt, message: built.message };
  }

  /** Step 1: the branch's tip from one receive-pack ref advertisement (which also serves the push), brought into the cache. */
  private async readTip(packs: PackCache): Promise<Base> {
    this.compactCache();
    const advertised = await this.branch.advertiseReceivePack();
    const tip = await this.branch.bringIn(advertised.refs.get(this.branch.fullRef) ?? null, undefined, packs);
    const reader = new ObjectReader(this.branch.gitdir, packs);
    return {
      advertised,
      tip,
      editor: new TreeEditor((oid) => reader.readTree(oid), tip ? reader.treeOf(tip) : null),
      readText: (oid) => reader.read(oid).data.toString('utf8'),
    };
  }

  /**
   * Step 2: renders the sessions whose input changed (or whose file on the branch differs), keeps
   * the executions already on the branch, lists the sessions of others, and renders STATUS.md.
   * Changed files go into the editor; nothing leaves the process.
   */
  private renderChanged(snapshot: StatusSnapshot, base: Base): Rendered {
    const { editor } = base;
    const cluster = snapshot.cluster;
    const out: Rendered = { blobs: [], files: [], changes: [] };
    const put = (path: string, text: string, oid: string) => {
      out.blobs.push({ oid, type: 'blob', content: encoder.encode(text) });
      editor.set(path, oid);
      out.files.push(path);
    };
    const rows: StatusRow[] = [];
    // One session per path (the last one given wins).
    const sessions = new Map<string, ManagedSession>();
    for (const s of snapshot.sessions) sessions.set(sessionPath(cluster, s.namespace, s.name), s);
    const present = new Set(sessions.keys());
    for (const [path, s] of sessions) {
      const rendered = this.renderSession(cluster, path, s, editor.get(path), base.readText);
      if (rendered.text !== undefined) {
        put(path, rendered.text, rendered.oid);
        out.changes.push(rendered.change!);
      }
      rows.push(rendered.row);
    }
    rows.push(...this.otherRows(cluster, editor, present, base.readText));
    const md = renderStatusMd(cluster, snapshot.source, rows, snapshot.diagnostics, snapshot.suspension);
    const mdOid = blobOid(encoder.encode(md));
    if (editor.get(statusMdPath(cluster)) !== mdOid) put(statusMdPath(cluster), md, mdOid);
    return out;
  }

  /**
   * One session's file: its text and oid when it differs from what the branch holds (`existing`),
   * its STATUS.md row, and the change for the commit message. Executions on the branch are merged in.
   */
  private renderSession(
    cluster: string,
    path: string,
    s: ManagedSession,
    existing: string | undefined,
    readText: (oid: string) => string,
  ): { row: StatusRow; oid: string; text?: string; change?: StatusChange } {
    const key = digest(s);
    const memo = this.memo.get(path);
    if (memo && memo.key === key && memo.oid === existing) return { row: memo.row, oid: memo.oid };
    let merged = s;
    let text = renderSessionFile(cluster, merged);
    let oid = blobOid(encoder.encode(text));
    let before: string | undefined;
    if (existing && existing !== oid) {
      // What we wrote there last time needs no reading back.
      const old = memo && memo.oid === existing ? { executions: memo.executions, phase: memo.phase } : readOld(path, readText(existing));
      if (old) {
        before = old.phase;
        // Executions already on the branch are never dropped, even if the daemon forgot them.
        merged = { ...s, executions: mergeExecutions(old.executions, s.executions) };
        text = renderSessionFile(cluster, merged);
        oid = blobOid(encoder.encode(text));
      }
    }
    const row = rowOf(merged);
    this.memo.set(path, { key, oid, row, executions: merged.executions, phase: displayPhase(merged) });
    if (existing === oid) return { row, oid };
    return { row, oid, text, change: { namespace: s.namespace, name: s.name, from: before, to: displayPhase(merged), hosts: hostsText(merged) } };
  }

  /** Sessions on the branch but not in this snapshot (pruned, or another writer's) stay listed. */
  private otherRows(cluster: string, editor: TreeEditor, present: Set<string>, readText: (oid: string) => string): StatusRow[] {
    const rows: StatusRow[] = [];
    for (const ns of editor.list(clusterDir(cluster))) {
      if (ns.type !== 'tree') continue;
      for (const f of editor.list(`${clusterDir(cluster)}/${ns.path}`)) {
        const path = `${clusterDir(cluster)}/${ns.path}/${f.path}`;
        if (f.type !== 'blob' || present.has(path) || !/\.ya?ml$/.test(f.path)) continue;
        let row = this.rows.get(f.oid);
        if (row === undefined) {
          const old = parseLedgerFile(path, readText(f.oid)).session;
          row = old ? rowOf(old) : null;
          this.rows.set(f.oid, row);
        }
        if (row) rows.push(row);
      }
    }
    return rows;
  }

  /** Step 3: the changed trees, the (optionally signed) commit on top of the tip, and one pack of every new object. */
  private async buildCommit(snapshot: StatusSnapshot, base: Base, blobs: PackObject[], changes: StatusChange[]): Promise<Built> {
    const objects = [...blobs];
    const tree = base.editor.write((content) => {
      const oid = objectOid('tree', content);
      objects.push({ oid, type: 'tree', content });
      return oid;
    });
    const message = commitMessage(snapshot.cluster, snapshot.source, changes, snapshot.diagnostics);
    const commitBytes = await this.commitObject(tree, base.tip, message);
    const commit = objectOid('commit', commitBytes);
    objects.push({ oid: commit, type: 'commit', content: commitBytes });
    return { commit, message, pack: buildPack(objects) };
  }

  /** Step 5 on a refusal: remembered for the error after the last attempt; the loop retries. */
  private rejected(reason: string): 'rejected' {
    this.lastRejection = reason;
    return 'rejected';
  }

  /** The commit object's bytes (signed when a signer is configured), in git's format. */
  private async commitObject(tree: string, parent: string | null, message: string): Promise<Buffer> {
    const who = this.opts.author ?? { name: 'restore-controller', email: 'restore-controller@localhost' };
    const stamp = `${who.name} <${who.email}> ${Math.floor(Date.now() / 1000)} +0000`;
    const fields: CommitFields = { tree, parents: parent ? [parent] : [], author: stamp, committer: stamp, message };
    if (!this.opts.signer) return encodeCommit(fields);
    const { signature } = await this.opts.signer.onSign({ payload: commitPayload(fields), secretKey: this.opts.signer.signingKey });
    return encodeCommit(fields, signature);
  }

  /** One pack per pushed commit accumulates in the cache; past a limit, start over with one fetch. */
  private compactCache(): void {
    let packs = 0;
    try {
      packs = readdirSync(join(this.branch.gitdir, 'objects', 'pack')).filter((f) => f.endsWith('.pack')).length;
    } catch {
      return;
    }
    if (packs > (this.opts.maxPacks ?? 50)) {
      this.log.info(`status branch ${this.branch.branch}: compacting the cache (${packs} packs; one fresh fetch)`);
      rmSync(this.branch.gitdir, { recursive: true, force: true });
    }
  }
}

/** The executions and phase of a session file already on the branch. */
function readOld(path: string, text: string): { executions: Execution[]; phase: string } | undefined {
  const old = parseLedgerFile(path, text).session;
  return old ? { executions: old.executions, phase: displayPhase(old) } : undefined;
}
