// One commit of edited files on top of a remote branch, for people's commands (`restorectl
// suspend`, `restorectl rerun`): read the tip, let the caller compute the new contents from the
// files there, build the commit and its pack, push it never forced. A refusal (someone pushed in
// between) reads the new tip and edits again, so nobody's commit is lost.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ObjectReader } from '../store/object-reader.ts';
import { storePack } from '../store/packs.ts';
import { blobOid, encodeCommit, objectOid } from '../wire/objects.ts';
import { buildPack } from '../wire/pack-writer.ts';
import type { PackObject } from '../wire/pack-writer.ts';
import { TreeEditor } from '../wire/tree-editor.ts';
import { fetchPack } from './fetch-pack.ts';
import { pushPack } from './push.ts';
import { advertise } from './remote.ts';
import type { GitRemote } from './remote.ts';

export interface BranchEdit {
  /** Path → new text. Files equal to what the tip holds are left out; none left: no commit. */
  files: Map<string, string>;
  message: string;
}

export interface EditBranchOptions {
  /** The branch's short name (`main`, `restore-status`). */
  branch: string;
  /** A folder for the objects fetched (created). */
  gitdir: string;
  author: { name: string; email: string };
  /** Create the branch when the remote has none (default: false, an error). */
  create?: boolean;
  /** Push attempts before giving up (default 5). */
  maxAttempts?: number;
  /** What to write, from the files at the tip (`read` gives undefined for a path the tip has not). */
  edit(read: (path: string) => string | undefined, tip: string | null): BranchEdit;
  now?: () => Date;
}

export interface EditBranchResult {
  /** The commit pushed, or null when the edit changed nothing. */
  commit: string | null;
  /** The tip it was built on. */
  parent: string | null;
  files: string[];
  attempts: number;
}

const encoder = new TextEncoder();

export async function editBranch(remote: GitRemote, opts: EditBranchOptions): Promise<EditBranchResult> {
  const ref = `refs/heads/${opts.branch}`;
  const what = `pushing ${opts.branch} to`;
  mkdirSync(join(opts.gitdir, 'objects', 'pack'), { recursive: true });
  const max = opts.maxAttempts ?? 5;
  let lastReason = '';
  let refusedOn: string | null | undefined;
  for (let attempt = 1; attempt <= max; attempt++) {
    const advertised = await advertise(remote, 'git-receive-pack', what);
    const tip = advertised.refs.get(ref) ?? null;
    // Refused although nobody pushed in between: a hook or a protected branch, not a race.
    if (refusedOn !== undefined && refusedOn === tip)
      throw remote.error('GitPushRejected', what, `the remote refused the push: ${lastReason} (a protected branch, or a hook said no)`, { ref });
    if (!tip && !opts.create) {
      const heads = [...advertised.refs.keys()].filter((r) => r.startsWith('refs/heads/')).map((r) => r.slice(11));
      throw remote.error(
        'GitRefNotFound',
        what,
        `the remote has no branch "${opts.branch}"${heads.length ? ` (branches: ${heads.slice(0, 10).join(', ')})` : ''}`,
        {
          ref: opts.branch,
        },
      );
    }
    const reader = new ObjectReader(opts.gitdir);
    if (tip && !reader.has(tip)) {
      await fetchPack(remote, opts.gitdir, [tip], [], await advertise(remote, 'git-upload-pack', `fetching ${opts.branch} from`));
      reader.refresh();
    }
    const editor = new TreeEditor((oid) => reader.readTree(oid), tip ? reader.treeOf(tip) : null);
    const read = (path: string) => {
      const oid = editor.get(path);
      return oid ? reader.read(oid).data.toString('utf8') : undefined;
    };
    const edit = opts.edit(read, tip);
    const objects: PackObject[] = [];
    const files: string[] = [];
    for (const [path, text] of edit.files) {
      const content = encoder.encode(text);
      const oid = blobOid(content);
      if (editor.get(path) === oid) continue;
      objects.push({ oid, type: 'blob', content });
      editor.set(path, oid);
      files.push(path);
    }
    if (!files.length) return { commit: null, parent: tip, files, attempts: attempt };
    const tree = editor.write((content) => {
      const oid = objectOid('tree', content);
      objects.push({ oid, type: 'tree', content });
      return oid;
    });
    const when = Math.floor((opts.now ?? (() => new Date()))().getTime() / 1000);
    const stamp = `${opts.author.name} <${opts.author.email}> ${when} +0000`;
    const commitBytes = encodeCommit({ tree, parents: tip ? [tip] : [], author: stamp, committer: stamp, message: edit.message });
    const commit = objectOid('commit', commitBytes);
    objects.push({ oid: commit, type: 'commit', content: commitBytes });
    const pack = buildPack(objects);
    const outcome = await pushPack(remote, { ref, oldOid: tip, newOid: commit, pack: pack.pack }, advertised, what);
    if (outcome.ok) {
      storePack(opts.gitdir, pack.sha, pack.pack, pack.idx);
      return { commit, parent: tip, files: files.sort(), attempts: attempt };
    }
    lastReason = remote.redact(outcome.reason);
    refusedOn = tip;
    await new Promise((r) => setTimeout(r, 100 * 2 ** (attempt - 1) * (0.5 + Math.random())));
  }
  throw remote.error(
    'GitPushRejected',
    what,
    `rejected ${max} times (last: ${lastReason}); someone keeps pushing to ${opts.branch}, or the server refuses the update (a protected branch?)`,
    { ref },
  );
}
