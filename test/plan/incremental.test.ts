// Validation and planning kept from one run to the next (issue 16: work follows the change). Each
// test changes the source (or the cluster, or the ledger) the way a push would and checks, run
// after run, that the daemon's cached result says what a run without caches says — and what that
// is, so a cache that misses a dependency fails here: a file changed, removed or renamed, a
// Repository changed in another file, an object declared twice, the cluster and the ledger.
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/index.ts';
import { CONTENT_ID_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/api/index.ts';
import { ClusterState, ValidationCache, validateSource } from '../../src/manifests/index.ts';
import { PlanCache, planRestores } from '../../src/plan/index.ts';
import type { Action, LedgerView, Plan } from '../../src/plan/index.ts';

const session = (o: {
  name: string;
  namespace?: string;
  repo?: string;
  repoNamespace?: string;
  timeOut?: string;
  rules?: string;
}) => `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata:
  name: ${o.name}
  namespace: ${o.namespace ?? 'shop'}
spec:
  repository:
    name: ${o.repo ?? 'repo'}
${o.repoNamespace ? `    namespace: ${o.repoNamespace}\n` : ''}  target:
    ref:
      apiVersion: apps/v1
      kind: StatefulSet
      name: db-${o.name}
    volumeMounts:
      - name: data
        mountPath: /var/lib/data
    rules:
${o.rules ?? '      - paths: ["/var/lib/data"]'}
${o.timeOut ? `  timeOut: ${o.timeOut}\n` : ''}`;

const repository = (o: { namespace?: string; allowed?: 'Same' | 'All'; backend?: string } = {}) => `apiVersion: stash.appscode.com/v1alpha1
kind: Repository
metadata:
  name: repo
  namespace: ${o.namespace ?? 'shop'}
spec:
  backend:
${o.backend ?? '    s3: {endpoint: s3.amazonaws.com, bucket: backups}'}
    storageSecretName: s3-secret
${o.allowed ? `  usagePolicy:\n    allowedNamespaces:\n      from: ${o.allowed}\n` : ''}`;

/** A daemon's runs: each plans with its caches and, to compare, without; both must agree. */
class Runs {
  readonly validation = new ValidationCache();
  readonly planning = new PlanCache();
  files = new Map<string, string>();
  cluster: KubeObject[] = [];
  ledger: LedgerView | undefined;

  run(): Plan {
    const files = [...this.files].sort(([a], [b]) => (a < b ? -1 : 1)).map(([path, text]) => ({ path, text }));
    // A new cluster state every run, as the daemon builds one per cycle.
    const state = () => new ClusterState(this.cluster, { completeKinds: ['RestoreSession', 'Repository', 'Task', 'Function', 'AppBinding'] });
    const cached = planRestores({ desired: validateSource(files, state(), {}, this.validation), cluster: state(), ledger: this.ledger, cache: this.planning });
    const fresh = planRestores({ desired: validateSource(files, state()), cluster: state(), ledger: this.ledger });
    assert.deepEqual(cached, fresh, 'the cached plan differs from the plan made without caches');
    return cached;
  }
}

const action = (plan: Plan, name: string): Action => {
  const a = plan.actions.find((x) => x.name === name);
  assert.ok(a, `no action for ${name}`);
  return a;
};
const messages = (plan: Plan, file: string) => plan.diagnostics.filter((d) => d.file === file).map((d) => `${d.severity}: ${d.message}`);

describe('validation and planning across runs (the daemon keeps them, issue 16)', () => {
  it('a changed file is parsed, checked and planned again; the other files are not', () => {
    const r = new Runs();
    r.files.set('repo.yaml', repository());
    r.files.set('a.yaml', session({ name: 'a' }));
    r.files.set('b.yaml', session({ name: 'b' }));
    assert.equal(action(r.run(), 'a').action, 'create');

    r.files.set('a.yaml', session({ name: 'a', rules: '      - paths: ["/var/lib/data"]\n      - paths: ["/tmp"]' }));
    const before = { files: r.validation.files.misses, checks: r.validation.checks.misses, plans: r.planning.misses };
    const plan = r.run();
    assert.match(messages(plan, 'a.yaml').join('\n'), /error: rules 0 and 1 both have empty targetHosts/);
    assert.equal(action(plan, 'a').action, 'blocked');
    assert.equal(action(plan, 'b').action, 'create');
    assert.deepEqual(
      { files: r.validation.files.misses - before.files, checks: r.validation.checks.misses - before.checks, plans: r.planning.misses - before.plans },
      { files: 1, checks: 1, plans: 1 },
      'only the changed file is done again',
    );

    r.files.set('a.yaml', session({ name: 'a' }));
    const fixed = r.run();
    assert.deepEqual(messages(fixed, 'a.yaml'), []);
    assert.equal(action(fixed, 'a').action, 'create');
  });

  it('a removed file takes its objects, diagnostics and cache entries with it', () => {
    const r = new Runs();
    r.files.set('repo.yaml', repository());
    r.files.set('a.yaml', session({ name: 'a', timeOut: '0s' }));
    r.files.set('b.yaml', session({ name: 'b' }));
    const plan = r.run();
    assert.match(messages(plan, 'a.yaml').join('\n'), /warning: timeOut "0s" puts the deadline/);

    r.files.delete('a.yaml');
    const after = r.run();
    assert.deepEqual(messages(after, 'a.yaml'), []);
    assert.deepEqual(
      after.actions.map((a) => a.name),
      ['repo', 'b'],
    );
    assert.equal(r.validation.files.size, 2, 'the removed file is no longer cached');
    assert.equal(r.validation.admissions.size, 2);
    assert.equal(r.validation.checks.size, 2);
    assert.equal(r.planning.size, 2);
  });

  it('removing the file of a Repository a session names makes the session an error, in its own unchanged file', () => {
    const r = new Runs();
    r.files.set('repo.yaml', repository());
    r.files.set('a.yaml', session({ name: 'a' }));
    assert.equal(action(r.run(), 'a').action, 'create');

    r.files.delete('repo.yaml');
    const plan = r.run();
    assert.match(messages(plan, 'a.yaml').join('\n'), /error: Repository shop\/repo is neither declared in the source nor in the cluster state/);
    assert.equal(action(plan, 'a').action, 'blocked');

    r.files.set('repo.yaml', repository());
    assert.equal(action(r.run(), 'a').action, 'create');
  });

  it("a Repository's usage policy changed in its own file is checked again for every session of another file that uses it", () => {
    const r = new Runs();
    r.files.set('backups/repo.yaml', repository({ namespace: 'backups', allowed: 'All' }));
    r.files.set('shop/a.yaml', session({ name: 'a', repoNamespace: 'backups' }));
    r.files.set('shop/b.yaml', session({ name: 'b' })); // its own namespace's Repository: not declared
    assert.deepEqual(messages(r.run(), 'shop/a.yaml'), []);

    r.files.set('backups/repo.yaml', repository({ namespace: 'backups', allowed: 'Same' }));
    const plan = r.run();
    assert.deepEqual(messages(plan, 'shop/a.yaml'), [
      'error: Repository backups/repo may only be used from namespace backups (usagePolicy.allowedNamespaces.from: Same), not from shop',
    ]);
    assert.equal(action(plan, 'a').action, 'blocked');

    r.files.set('backups/repo.yaml', repository({ namespace: 'backups', allowed: 'All' }));
    assert.equal(action(r.run(), 'a').action, 'create');
  });

  it('a Repository that turns invalid in its file blocks the sessions of other files that use it, and frees them when fixed', () => {
    const r = new Runs();
    r.files.set('repo.yaml', repository());
    r.files.set('a.yaml', session({ name: 'a' }));
    assert.equal(action(r.run(), 'a').action, 'create');

    // A check's error (two backends) keeps the Repository in the set, with errors: the session is blocked by them…
    const twoBackends = repository({ backend: '    s3: {endpoint: s3.amazonaws.com, bucket: backups}\n    gcs: {bucket: b}' });
    r.files.set('repo.yaml', twoBackends);
    let plan = r.run();
    assert.equal(action(plan, 'repo').action, 'blocked');
    assert.match(action(plan, 'a').reason!, /its Repository shop\/repo has errors/);
    r.files.set('repo.yaml', repository());
    assert.equal(action(r.run(), 'a').action, 'create');
    // …and a schema error refuses it: the session's check says nothing more (its own diagnostics say why), the plan blocks it.
    r.files.set('repo.yaml', repository({ backend: '    s3: {endpoint: 3, bucket: backups}' }));
    plan = r.run();
    assert.deepEqual(messages(plan, 'a.yaml'), []);
    assert.equal(action(plan, 'a').action, 'blocked');
    assert.match(action(plan, 'a').reason!, /its Repository shop\/repo has errors/);
    r.files.set('repo.yaml', twoBackends);
    assert.match(action(r.run(), 'a').reason!, /its Repository shop\/repo has errors/);

    r.files.set('repo.yaml', repository());
    assert.equal(action(r.run(), 'a').action, 'create');
  });

  it('a renamed file: its diagnostics and actions name the new path', () => {
    const r = new Runs();
    const text = session({ name: 'a', timeOut: '0s' });
    r.files.set('repo.yaml', repository());
    r.files.set('old/a.yaml', text);
    assert.equal(action(r.run(), 'a').file, 'old/a.yaml');

    r.files.delete('old/a.yaml');
    r.files.set('new/a.yaml', text);
    const plan = r.run();
    assert.equal(action(plan, 'a').file, 'new/a.yaml');
    assert.deepEqual(messages(plan, 'old/a.yaml'), []);
    assert.equal(messages(plan, 'new/a.yaml').length, 1);
  });

  it('an object declared twice: both refused while both files have it, the other applied again once one goes or is renamed', () => {
    const r = new Runs();
    r.files.set('repo.yaml', repository());
    r.files.set('a.yaml', session({ name: 'same' }));
    assert.equal(action(r.run(), 'same').action, 'create');

    r.files.set('b.yaml', session({ name: 'same' }));
    let plan = r.run();
    assert.deepEqual(messages(plan, 'b.yaml'), [
      'error: RestoreSession shop/same is declared twice: here and in a.yaml:1; neither is applied until one is removed',
    ]);
    assert.equal(plan.actions.filter((a) => a.kind === 'RestoreSession').length, 0);

    // Renaming the first copy: the diagnostic moves to the copy that now comes second, and names the new path.
    r.files.delete('a.yaml');
    r.files.set('c.yaml', session({ name: 'same' }));
    plan = r.run();
    assert.deepEqual(messages(plan, 'c.yaml'), [
      'error: RestoreSession shop/same is declared twice: here and in b.yaml:1; neither is applied until one is removed',
    ]);
    assert.deepEqual(messages(plan, 'b.yaml'), []);

    r.files.delete('c.yaml');
    plan = r.run();
    assert.deepEqual(messages(plan, 'b.yaml'), []);
    assert.equal(action(plan, 'same').action, 'create');
  });

  it('what the cluster holds and the ledger records is read again every run: a live session moving on, a ledger entry, a Task installed', () => {
    const r = new Runs();
    r.files.set('repo.yaml', repository());
    r.files.set('a.yaml', session({ name: 'a' }));
    r.files.set('b.yaml', session({ name: 'b' })); // so that removing a.yaml is no empty source
    const id = action(r.run(), 'a').contentId;
    const live = (phase: string, resourceVersion: string): KubeObject =>
      ({
        apiVersion: 'stash.appscode.com/v1beta1',
        kind: 'RestoreSession',
        metadata: {
          name: 'a',
          namespace: 'shop',
          uid: 'u-a',
          resourceVersion,
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          annotations: { [CONTENT_ID_ANNOTATION]: id },
        },
        spec: {},
        status: { phase },
      }) as KubeObject;

    r.cluster = [live('Running', '10')];
    assert.match(action(r.run(), 'a').reason!, /already created \(phase Running\)/);
    r.cluster = [live('Succeeded', '11')];
    assert.match(action(r.run(), 'a').reason!, /already created \(phase Succeeded\)/);

    r.ledger = new Map([[id, { phase: 'Running' }]]);
    assert.match(action(r.run(), 'a').reason!, /already created \(phase Succeeded\)/);
    r.ledger = new Map([[id, { phase: 'Succeeded', finishedAt: '2026-01-02T03:04:05Z' }]]);
    assert.match(action(r.run(), 'a').reason!, /already ran: Succeeded at 2026-01-02T03:04:05Z/);

    // Removed from git while live: pruned; declared again: no longer.
    r.files.delete('a.yaml');
    assert.equal(action(r.run(), 'a').action, 'prune');

    r.files.set('t.yaml', `${session({ name: 't' })}  task:\n    name: my-task\n`);
    assert.match(messages(r.run(), 't.yaml').join('\n'), /Task "my-task" is neither in the cluster state nor one of Stash's addon tasks/);
    r.cluster = [
      ...r.cluster,
      {
        apiVersion: 'stash.appscode.com/v1beta1',
        kind: 'Task',
        metadata: { name: 'my-task', uid: 'u-t', resourceVersion: '12' },
        spec: { steps: [] },
      } as KubeObject,
    ];
    assert.match(messages(r.run(), 't.yaml').join('\n'), /Task "my-task" in the cluster state has no steps/);
  });

  it('a file edited back and forth, with the same text as a run before: the result of its text, never of the run before', () => {
    const r = new Runs();
    r.files.set('repo.yaml', repository());
    const good = session({ name: 'a' });
    const bad = session({ name: 'a', timeOut: 'soon' });
    for (const text of [good, bad, good, bad]) {
      r.files.set('a.yaml', text);
      const plan = r.run();
      assert.equal(messages(plan, 'a.yaml').length > 0, text === bad);
    }
  });
});
