// Several revisions of one remote read at once, for `restorectl plan --base … --head …`: one ref
// advertisement, one upload-pack request whose wants are every revision asked for (so the objects
// they share cross the wire once), then the manifests of each commit's tree under the path. A
// throw-away cache folder: nothing is kept between runs, nothing is checked out.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { advertise, fetchPack, GitRemote, ObjectReader } from '../git/index.ts';
import type { Advertisement, GitRemoteOptions } from '../git/index.ts';
import type { TextProblem } from '../common/text.ts';
import { PathSelector, readSelectedFiles } from './select.ts';

export interface GitRevisionsOptions extends GitRemoteOptions {
  /** Folder inside the repository holding the manifests; default the root. */
  path?: string;
  /** minimatch globs relative to `path`; default `**\/*.y?(a)ml`. */
  globs?: string[];
  /** Cache folder to fetch into (kept); default a temporary folder removed afterwards. */
  cacheDir?: string;
}

export interface GitRevision {
  /** The ref as asked for (`main`, `v1.2`, `refs/pull/7/head`, a commit id). */
  ref: string;
  /** The commit it resolved to (tags peeled). */
  commit: string;
  /** Manifest files under the path, repository-relative path → UTF-8 text, sorted by path. */
  files: Map<string, string>;
  /** Selected files that could not be read as manifests (not UTF-8, a link that leads nowhere). */
  problems: Map<string, TextProblem>;
}

const FULL_OID = /^[0-9a-f]{40}$/i;
const SHORT_OID = /^[0-9a-f]{7,39}$/i;

/**
 * Reads each ref's manifests. A ref is a branch, a tag, a full ref name (`refs/pull/7/head`),
 * `HEAD`, or a commit id (full, or a prefix of an advertised tip). Throws GitError: GitRefNotFound
 * naming the ref and what the remote has, or the transport errors of GitRemote.explain.
 */
export async function readGitRevisions(opts: GitRevisionsOptions, refs: readonly string[]): Promise<GitRevision[]> {
  const remote = new GitRemote(opts);
  const gitdir = opts.cacheDir ?? mkdtempSync(join(tmpdir(), 'restorectl-revisions-'));
  try {
    mkdirSync(join(gitdir, 'objects', 'pack'), { recursive: true });
    const advertised = await advertise(remote, 'git-upload-pack', 'fetching from');
    const resolved = refs.map((ref) => ({ ref, ...resolveRef(remote, advertised, ref) }));
    const reader = new ObjectReader(gitdir);
    const missing = [...new Set(resolved.flatMap((w) => (w.oid ? [w.oid] : [])))].filter((oid) => !reader.has(oid));
    // A commit prefix that is no tip (`--base 1a2b3c4`, an older commit) is looked for in the history of every branch and tag.
    const prefixes = resolved.filter((w) => !w.oid);
    if (missing.length || prefixes.length) {
      await fetchWanted(
        remote,
        gitdir,
        missing,
        advertised,
        resolved.filter((w) => !w.advertised).map((w) => w.ref),
        prefixes.length > 0,
      );
      reader.refresh();
    }
    const wanted = resolved.map((w) => ({ ref: w.ref, oid: w.oid ?? commitWithPrefix(remote, reader, w.ref) }));
    const selector = new PathSelector(opts.path, opts.globs);
    return wanted.map((w) => {
      if (!reader.has(w.oid)) {
        throw remote.error(
          'GitRefNotFound',
          'reading',
          `commit ${w.ref} is on none of the remote's branches or tags; give a branch, a tag or the full id of a pushed commit`,
          { ref: w.ref },
        );
      }
      const { oid: commit, object } = reader.peel(w.oid);
      if (object.type !== 'commit') throw remote.error('GitRefNotFound', 'reading', `${w.ref} is a ${object.type}, not a commit`, { ref: w.ref });
      const { files, problems } = readSelectedFiles(reader, commit, selector);
      return { ref: w.ref, commit, files, problems };
    });
  } finally {
    if (!opts.cacheDir) rmSync(gitdir, { recursive: true, force: true });
  }
}

/**
 * The full ref names `ref` may mean, most literal first: `main` is a branch or a tag; `heads/main`,
 * `tags/v1` and `pull/7/head` sit under refs/; `origin/main` and `refs/remotes/origin/main` (what a
 * CI checkout calls the base) are the remote's branch `main`.
 */
export function refCandidates(ref: string): string[] {
  if (ref === 'HEAD') return ['HEAD'];
  const remoteBranch = /^refs\/remotes\/[^/]+\/(.+)$/.exec(ref);
  if (remoteBranch) return [`refs/heads/${remoteBranch[1]}`];
  if (ref.startsWith('refs/')) return [ref];
  const out = [`refs/heads/${ref}`, `refs/tags/${ref}`, `refs/${ref}`];
  const slash = ref.indexOf('/');
  if (slash > 0) out.push(`refs/heads/${ref.slice(slash + 1)}`);
  return out;
}

/** A commit prefix that is no tip, after every branch and tag was fetched: the one commit it names, or GitRefNotFound. */
function commitWithPrefix(remote: GitRemote, reader: ObjectReader, prefix: string): string {
  const commits = reader.idsWithPrefix(prefix.toLowerCase()).filter((oid) => reader.read(oid).type === 'commit');
  if (commits.length === 1) return commits[0]!;
  if (commits.length > 1)
    throw remote.error(
      'GitRefNotFound',
      'reading',
      `the commit prefix ${prefix} is ambiguous (${commits.map((c) => c.slice(0, 12)).join(', ')}); give more characters`,
      {
        ref: prefix,
      },
    );
  throw remote.error(
    'GitRefNotFound',
    'reading',
    `${prefix} is no branch or tag, and no commit of the remote's branches and tags starts with it; check the id (\`git rev-parse ${prefix}\`) and that it was pushed`,
    { ref: prefix },
  );
}

/**
 * The oid a ref names, and whether the remote advertised it (a server hands out advertised tips);
 * no oid for a commit prefix that is no tip (looked for once the history is fetched).
 */
function resolveRef(remote: GitRemote, adv: Advertisement, ref: string): { oid?: string; advertised: boolean } {
  const refs = adv.refs;
  const named = refCandidates(ref);
  for (const name of named) {
    // The ref's own oid (a tag object for an annotated tag): servers refuse wants of peeled ids.
    const oid = refs.get(name);
    if (oid) return { oid, advertised: true };
  }
  if (FULL_OID.test(ref)) {
    const oid = ref.toLowerCase();
    return { oid, advertised: [...refs.values()].includes(oid) };
  }
  if (SHORT_OID.test(ref)) {
    const matches = [...new Set([...refs.values()].filter((oid) => oid.startsWith(ref.toLowerCase())))];
    if (matches.length === 1) return { oid: matches[0]!, advertised: true };
    if (matches.length > 1) throw remote.error('GitRefNotFound', 'reading', `the commit prefix ${ref} is ambiguous; give the full commit id`, { ref });
    return { advertised: false };
  }
  const heads = [...refs.keys()].filter((r) => r.startsWith('refs/heads/')).map((r) => r.slice('refs/heads/'.length));
  throw remote.error(
    'GitRefNotFound',
    'reading',
    `the remote has no branch or tag "${ref}"${heads.length ? ` (branches: ${heads.slice(0, 10).join(', ')}${heads.length > 10 ? ', …' : ''})` : ''}; check --base/--head`,
    { ref },
  );
}

/**
 * Fetches the wanted commits. Advertised tips are always allowed; a commit id that is not a tip is
 * asked for directly when the server says it allows that, else (and for `allTips`: a commit prefix
 * to look for) every branch and tag is fetched and the commit looked for among them.
 */
async function fetchWanted(remote: GitRemote, gitdir: string, oids: string[], adv: Advertisement, unadvertised: string[], allTips = false): Promise<void> {
  const caps = adv.capabilities;
  const direct = !allTips && (unadvertised.length === 0 || caps.has('allow-reachable-sha1-in-want') || caps.has('allow-any-sha1-in-want'));
  if (direct) {
    await fetchPack(remote, gitdir, oids, [], adv);
    return;
  }
  const tips = [...adv.refs].filter(([name]) => /^refs\/(heads|tags)\//.test(name) && !name.endsWith('^{}')).map(([, oid]) => oid);
  const advertisedOids = new Set(adv.refs.values());
  await fetchPack(remote, gitdir, [...new Set([...oids.filter((o) => advertisedOids.has(o)), ...tips])], [], adv);
}
