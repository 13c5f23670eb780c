import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { validateSource } from '../../src/manifests/index.ts';
import { contentId, ledgerSessions, planRestores, planToMarkdown, planToText, reviewChange } from '../../src/plan/index.ts';
import type { LedgerRecord } from '../../src/plan/index.ts';
import { ClusterState } from '../../src/manifests/index.ts';
import type { RestoreSession } from '../../src/api/index.ts';

const example = (f: string) => ({ path: `clusters/demo/${f}`, text: readFileSync(new URL(`../../examples/clusters/demo/${f}`, import.meta.url), 'utf8') });
const EXAMPLES = ['repository.yaml', 'deployment-restore.yaml', 'pvc-restore.yaml', 'snapshot-restore.yaml', 'sts-restore.yaml'].map(example);
const edit = (files: { path: string; text: string }[], path: string, f: (t: string) => string | undefined) =>
  files.flatMap((x) => (x.path !== `clusters/demo/${path}` ? [x] : f(x.text) === undefined ? [] : [{ ...x, text: f(x.text)! }]));

function review(head: { path: string; text: string }[], base = EXAMPLES) {
  const desired = validateSource(head, undefined);
  const baseDesired = validateSource(base, undefined);
  return reviewChange(planRestores({ desired, cluster: undefined, sourceCommit: 'h'.repeat(40) }), desired, head, {
    desired: baseDesired,
    commit: 'b'.repeat(40),
    label: 'main',
    files: base,
  });
}

describe('plan of a change: what it adds, changes and removes', () => {
  it('marks added, changed and removed objects, and sums up the rest in one line', () => {
    let head = edit(EXAMPLES, 'pvc-restore.yaml', (t) => t.replace('storage: 1Gi', 'storage: 2Gi'));
    head = edit(head, 'snapshot-restore.yaml', () => undefined);
    head.push({ path: 'clusters/demo/new.yaml', text: example('deployment-restore.yaml').text.replace('name: deployment-restore', 'name: new-restore') });
    const plan = review(head);
    const change = Object.fromEntries(plan.actions.map((a) => [a.name, a.change]));
    assert.deepEqual(change, {
      'local-repo': 'unchanged',
      'deployment-restore': 'unchanged',
      'new-restore': 'added',
      'pvc-restore': 'changed',
      'sts-restore': 'unchanged',
    });
    assert.deepEqual(plan.review!.removed, [
      { kind: 'RestoreSession', namespace: 'demo', name: 'snapshot-restore', file: 'clusters/demo/snapshot-restore.yaml' },
    ]);
    assert.deepEqual(plan.review!.changedFiles, ['clusters/demo/new.yaml', 'clusters/demo/pvc-restore.yaml', 'clusters/demo/snapshot-restore.yaml']);

    const text = planToText(plan);
    assert.match(text, /^\+ create RestoreSession demo\/new-restore \[added\]/m);
    assert.match(text, /^\+ create RestoreSession demo\/pvc-restore \[changed\]/m);
    assert.match(
      text,
      /^- removed RestoreSession demo\/snapshot-restore \[removed\] {2}\(was clusters\/demo\/snapshot-restore\.yaml\): nothing live to prune$/m,
    );
    assert.match(text, /^Not touched by this change: 2 RestoreSessions, 1 Repository: 3 create$/m);
    assert.doesNotMatch(text, /sts-restore|deployment-restore /, 'untouched sessions are not detailed');
  });

  it('shows errors wherever they are, but warnings only of the files the change touches', () => {
    const plan = review(
      EXAMPLES.concat({ path: 'clusters/demo/new.yaml', text: example('sts-restore.yaml').text.replace('name: sts-restore', 'name: again') }),
    );
    // Without a cluster state both StatefulSet restores warn that their hosts are unknown.
    assert.equal(plan.diagnostics.filter((d) => /hosts unknown/.test(d.message)).length, 2);
    const md = planToMarkdown(plan);
    assert.match(md, /⚠️ warning `clusters\/demo\/new\.yaml:\d+:\d+` hosts unknown/);
    assert.doesNotMatch(md, /sts-restore\.yaml:\d+/);
    assert.match(md, /^- … and 1 warning\(s\) in files this change does not touch \(all are in `--output json`\)$/m);
  });

  it('a file the change breaks removes nothing: its error says what is wrong', () => {
    const plan = review(edit(EXAMPLES, 'pvc-restore.yaml', () => 'apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata: [broken\n'));
    assert.ok(plan.diagnostics.some((d) => d.severity === 'error' && d.file === 'clusters/demo/pvc-restore.yaml'));
    assert.deepEqual(plan.review!.removed, []);
  });

  it('a change that touches no restore says so', () => {
    const plan = review(EXAMPLES);
    assert.match(planToText(plan), /This change adds, changes and removes no RestoreSession or Repository\./);
    assert.match(planToText(plan), /^Plan for commit h{12} merged into main \(b{12}\): this change: nothing to do; whole plan: 5 create;/);
  });
});

describe("plan from the ledger: the daemon's live sessions, inferred", () => {
  const sts = example('sts-restore.yaml');
  const id = contentId(validateSource([sts], undefined).sessions[0]!.object);
  const ledger = (phase: string): LedgerRecord[] => [
    {
      namespace: 'demo',
      name: 'sts-restore',
      executions: [
        { contentId: 'older', phase: 'Succeeded' },
        { contentId: id, phase },
      ],
    },
  ];

  it("stands in a session for the base's restore whose latest execution was created, with its phase", () => {
    const base = validateSource([sts], undefined);
    const { sessions } = ledgerSessions(ledger('Succeeded'), base, base, undefined);
    assert.equal(sessions.length, 1);
    assert.equal(sessions[0]!.status?.phase, 'Succeeded');
    assert.equal(sessions[0]!.metadata.annotations?.['restore.gitops/content-id'], id);
    assert.equal(ledgerSessions(ledger('Accepted'), base, base, undefined).sessions.length, 0, 'accepted: not created yet');
    assert.equal(ledgerSessions(ledger('Interrupted'), base, base, undefined).sessions.length, 0, 'interrupted: its session vanished');
    const live = { ...(sessions[0] as RestoreSession) };
    assert.equal(ledgerSessions(ledger('Succeeded'), base, base, new ClusterState([live])).sessions.length, 0, 'the cluster state wins');
  });

  it('without a base, says it cannot tell a rerun from a blocked change of a restore that ran', () => {
    const bumped = { ...sts, text: sts.text.replace('  namespace: demo\n', '  namespace: demo\n  annotations:\n    restore.gitops/rerun: "2"\n') };
    const { sessions, diagnostics } = ledgerSessions(ledger('Succeeded'), undefined, validateSource([bumped], undefined), undefined);
    assert.equal(sessions.length, 0);
    assert.equal(diagnostics.length, 1);
    assert.match(
      diagnostics[0]!.message,
      /records an earlier restore demo\/sts-restore \(content id [0-9a-f]+, Succeeded\).*cannot be told here; plan with --base \(or --base-dir\) to know/,
    );
  });
});
