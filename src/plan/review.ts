// A planned change (DESIGN §1, the pull-request plan): the head revision is planned as the daemon
// would plan it after the merge; the base (the branch it merges into) says what the change itself
// does: which objects it adds, changes or removes. Pure.
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import type { DesiredSet } from '../manifests/desired.ts';
import type { Manifest } from '../manifests/load.ts';
import { canonical, contentId } from './content-id.ts';
import type { Action, Change, Plan, RemovedObject } from './types.ts';

type Kind = RemovedObject['kind'];
const keyOf = (kind: Kind, namespace: string | undefined, name: string) => `${kind}/${namespace ?? 'default'}/${name}`;

function index(desired: DesiredSet): Map<string, { kind: Kind; m: Manifest<RestoreSession> | Manifest<Repository>; fingerprint: string }> {
  const out = new Map<string, { kind: Kind; m: Manifest<RestoreSession> | Manifest<Repository>; fingerprint: string }>();
  for (const m of desired.sessions)
    out.set(keyOf('RestoreSession', m.object.metadata.namespace, m.object.metadata.name), { kind: 'RestoreSession', m, fingerprint: contentId(m.object) });
  for (const m of desired.repositories)
    out.set(keyOf('Repository', m.object.metadata.namespace, m.object.metadata.name), {
      kind: 'Repository',
      m,
      fingerprint: JSON.stringify(canonical(m.object.spec)),
    });
  return out;
}

export interface ReviewBase {
  desired: DesiredSet;
  commit: string | null;
  /** How the base is named for people: a branch, a tag, a folder. */
  label: string;
  /** Its manifest files, with paths as the head's files name them. */
  files: readonly { path: string; text: string }[];
}

/**
 * Marks every action of the head's plan with what the change does to its object (`change`), and
 * records what the change removes that has no action (nothing live to prune). A RestoreSession is
 * changed when its content id is (spec or `restore.gitops/rerun`); a Repository when its spec is.
 * An object the head declares but refuses (an error in its manifest) is not "removed".
 * Diagnostics must already be in `plan`.
 */
export function reviewChange(plan: Plan, head: DesiredSet, headFiles: readonly { path: string; text: string }[], base: ReviewBase): Plan {
  const before = index(base.desired);
  const after = index(head);
  const changeOf = (a: Action): Change => {
    const key = keyOf(a.kind, a.namespace, a.name);
    const was = before.get(key);
    const is = after.get(key);
    if (!is) return was ? 'removed' : 'unchanged'; // a prune of something removed earlier
    if (!was) return 'added';
    return was.fingerprint === is.fingerprint ? 'unchanged' : 'changed';
  };
  const actions = plan.actions.map((a) => ({ ...a, change: changeOf(a) }));
  const acted = new Set(actions.map((a) => keyOf(a.kind, a.namespace, a.name)));
  // A file the head still has but cannot load (broken YAML) removes nothing: its errors say why.
  const broken = new Set(plan.diagnostics.filter((d) => d.severity === 'error').map((d) => d.file));
  const removed: RemovedObject[] = [];
  for (const [key, { kind, m }] of before) {
    if (after.has(key) || acted.has(key) || head.refused.has(key) || broken.has(m.file)) continue;
    removed.push({ kind, namespace: m.object.metadata.namespace ?? 'default', name: m.object.metadata.name, file: m.file });
  }
  const oldText = new Map(base.files.map((f) => [f.path, f.text]));
  const newText = new Map(headFiles.map((f) => [f.path, f.text]));
  const changedFiles = [...new Set([...oldText.keys(), ...newText.keys()])].filter((p) => oldText.get(p) !== newText.get(p)).sort();
  return { ...plan, actions, review: { baseCommit: base.commit, baseLabel: base.label, removed, changedFiles } };
}
