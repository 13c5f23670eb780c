// The StatusWriter (DESIGN §4): renders a snapshot of the managed sessions into the status
// branch's files, commits only what changed (one commit per cycle, none when nothing changed) and
// pushes without ever forcing. A rejected push (another writer got there first) fetches the new
// tip, re-applies the rendered files on top of it and tries again with backoff, so concurrent
// writers never lose each other's commits.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { GitError, GitRemote } from '../source/remote.ts';
import type { GitRemoteOptions } from '../source/remote.ts';
import type { CommitSigner } from '../source/signatures.ts';
import { syncFs as fs } from '../source/sync-fs.ts';
import { silentLog } from '../source/types.ts';
import type { SourceLog } from '../source/types.ts';
import { DEFAULT_STATUS_BRANCH, StatusBranch } from './branch.ts';
import { parseLedgerFile } from './ledger.ts';
import { checkCluster, clusterDir, commitMessage, displayPhase, hostsText, mergeExecutions, renderSessionFile, renderStatusMd, rowOf, sessionPath, statusMdPath } from './render.ts';
import type { StatusChange, StatusRow } from './render.ts';
import { ObjectReader } from '../source/object-reader.ts';
import { objectOid } from './objects.ts';
import { buildPack } from './pack.ts';
import type { PackObject } from './pack.ts';
import { advertiseReceivePack, pushPack } from './receive-pack.ts';
import { blobOid, TreeEditor } from './tree-editor.ts';
import type { Execution, ManagedSession, StatusSnapshot } from './types.ts';

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

export class StatusWriter {
  readonly remote: GitRemote;
  readonly branch: StatusBranch;
  private readonly opts: StatusWriterOptions;
  private readonly log: SourceLog;
  /** path → what was rendered there last time, so unchanged sessions are not rendered again. */
  private readonly memo = new Map<string, { key: string; oid: string; row: StatusRow; executions: Execution[]; phase: string }>();
  /** blob oid → its STATUS.md row, for files of sessions not in the snapshot. */
  private readonly rows = new Map<string, StatusRow | null>();
  private queue: Promise<unknown> = Promise.resolve();
  private lastRejection = '';
  /** The last snapshot that is on the branch, as JSON. */
  private lastWritten: string | undefined;

  constructor(opts: StatusWriterOptions) {
    this.opts = opts;
    this.remote = new GitRemote(opts);
    this.branch = new StatusBranch(this.remote, opts.branch ?? DEFAULT_STATUS_BRANCH, opts.cacheDir);
    this.log = opts.log ?? silentLog;
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
    const key = JSON.stringify(snapshot);
    if (key === this.lastWritten) return { commit: null, parent: null, files: [], changes: [], attempts: 0, message: null };
    const max = this.opts.maxAttempts ?? 8;
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(snapshot, attempt);
      if (result !== 'rejected') {
        this.lastWritten = key;
        return result;
      }
      if (attempt >= max) {
        throw new GitError('GitPushRejected', this.remote.url, `pushing ${this.branch.branch} to ${this.remote.url}: rejected ${attempt} times (last: ${this.lastRejection}); another writer keeps pushing, or the server refuses the update; giving up for this cycle`);
      }
      const base = (this.opts.backoffMs ?? 100) * 2 ** (attempt - 1);
      const wait = Math.min(5000, base * (0.5 + Math.random()));
      this.log.info(`status branch ${this.branch.branch}: push rejected (the branch moved), retrying on the new tip in ${Math.round(wait)} ms`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private async attempt(snapshot: StatusSnapshot, attempt: number): Promise<WriteResult | 'rejected'> {
    const cache = {};
    const { gitdir } = this.branch;
    const cluster = snapshot.cluster;
    this.compactCache();
    // One ref advertisement serves both ends: the tip to build on, and the push's capabilities.
    const advertised = await advertiseReceivePack(this.remote);
    const tip = await this.branch.bringIn(advertised.refs.get(this.branch.fullRef) ?? null, cache);
    const reader = new ObjectReader(gitdir);
    const readText = (oid: string) => reader.read(oid).data.toString('utf8');
    const editor = new TreeEditor(gitdir, reader, tip ? reader.treeOf(tip) : null);
    const files: string[] = [];
    const changes: StatusChange[] = [];
    const rows: StatusRow[] = [];
    const present = new Set<string>();

    const objects: PackObject[] = [];
    const put = (path: string, text: string, known?: string) => {
      const bytes = encoder.encode(text);
      const oid = known ?? blobOid(bytes);
      objects.push({ oid, type: 'blob', content: bytes });
      editor.set(path, oid);
      files.push(path);
    };

    const parse = (path: string, oid: string) => {
      const old = parseLedgerFile(path, readText(oid)).session;
      return old ? { executions: old.executions, phase: displayPhase(old) } : undefined;
    };
    const sessions = new Map<string, ManagedSession>();
    for (const s of snapshot.sessions) sessions.set(sessionPath(cluster, s.namespace, s.name), s);
    for (const [path, s] of sessions) {
      present.add(path);
      const existing = editor.get(path);
      const key = JSON.stringify(s);
      const memo = this.memo.get(path);
      if (memo && memo.key === key && memo.oid === existing) {
        rows.push(memo.row);
        continue;
      }
      let merged = s;
      let text = renderSessionFile(cluster, merged);
      let oid = blobOid(encoder.encode(text));
      let before: string | undefined;
      if (existing && existing !== oid) {
        // What we wrote there last time needs no reading back.
        const old = memo && memo.oid === existing ? { executions: memo.executions, phase: memo.phase } : parse(path, existing);
        if (old) {
          before = old.phase;
          // Executions already on the branch are never dropped, even if the daemon forgot them.
          merged = { ...s, executions: mergeExecutions(old.executions, s.executions) };
          text = renderSessionFile(cluster, merged);
          oid = blobOid(encoder.encode(text));
        }
      }
      const row = rowOf(merged);
      if (existing !== oid) {
        put(path, text, oid);
        changes.push({ namespace: s.namespace, name: s.name, from: before, to: displayPhase(merged), hosts: hostsText(merged) });
      }
      this.memo.set(path, { key, oid, row, executions: merged.executions, phase: displayPhase(merged) });
      rows.push(row);
    }

    // Sessions on the branch but not in this snapshot (pruned, or another writer's) stay listed.
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

    const md = renderStatusMd(cluster, snapshot.source, rows, snapshot.diagnostics);
    const mdOid = blobOid(encoder.encode(md));
    if ((editor.get(statusMdPath(cluster))) !== mdOid) put(statusMdPath(cluster), md, mdOid);

    if (!files.length) return { commit: null, parent: tip, files, changes, attempts: attempt, message: null };

    const tree = editor.write((content) => {
      const oid = objectOid('tree', content);
      objects.push({ oid, type: 'tree', content });
      return oid;
    });
    const message = commitMessage(cluster, snapshot.source, changes, snapshot.diagnostics);
    const commitBytes = await this.commitObject(tree, tip, message);
    const commit = objectOid('commit', commitBytes);
    objects.push({ oid: commit, type: 'commit', content: commitBytes });
    const { pack, idx, sha } = buildPack(objects);

    const outcome = await pushPack(this.remote, this.branch.fullRef, tip, commit, pack, advertised);
    if (!outcome.ok) {
      this.lastRejection = outcome.reason;
      return 'rejected';
    }
    // Keep what was pushed: the next cycle builds on it without fetching it back.
    writeFileSync(join(gitdir, 'objects', 'pack', `pack-${sha}.pack`), pack);
    writeFileSync(join(gitdir, 'objects', 'pack', `pack-${sha}.idx`), idx);
    await git.writeRef({ fs, gitdir, ref: this.branch.fullRef, value: commit, force: true });
    return { commit, parent: tip, files: files.sort(), changes, attempts: attempt, message };
  }

  /** The commit object's bytes (signed when a signer is configured), in git's format. */
  private async commitObject(tree: string, parent: string | null, message: string): Promise<Buffer> {
    const who = this.opts.author ?? { name: 'restore-controller', email: 'restore-controller@localhost' };
    const stamp = `${who.name} <${who.email}> ${Math.floor(Date.now() / 1000)} +0000`;
    const head = [`tree ${tree}`, ...(parent ? [`parent ${parent}`] : []), `author ${stamp}`, `committer ${stamp}`];
    const text = message.endsWith('\n') ? message : message + '\n';
    if (!this.opts.signer) return Buffer.from(`${head.join('\n')}\n\n${text}`, 'utf8');
    const payload = `${head.join('\n')}\n\n${text}`;
    const { signature } = await this.opts.signer.onSign({ payload, secretKey: this.opts.signer.signingKey });
    const gpgsig = 'gpgsig ' + signature.trimEnd().split('\n').join('\n ');
    return Buffer.from(`${head.join('\n')}\n${gpgsig}\n\n${text}`, 'utf8');
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
