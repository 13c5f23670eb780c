import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CONTENT_ID_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, RERUN_ANNOTATION } from '../../src/api/index.ts';
import type { KubeObject, RestoreSession } from '../../src/api/index.ts';
import { ClusterState, validateSource } from '../../src/manifests/index.ts';
import { contentId, planRestores } from '../../src/plan/index.ts';
import type { Action } from '../../src/plan/index.ts';
import { restorectl } from '../support/cli.ts';

const EXAMPLE = 'examples/clusters/demo/sts-restore.yaml';
const exampleText = readFileSync(new URL(`../../${EXAMPLE}`, import.meta.url), 'utf8');
const sts: KubeObject = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'recovered-statefulset', namespace: 'demo' }, spec: { replicas: 5 } };
const repo: KubeObject = parse(readFileSync(new URL('../../examples/clusters/demo/repository.yaml', import.meta.url), 'utf8'));

function planWith(live: KubeObject[], text = exampleText) {
  const desired = validateSource([{ path: EXAMPLE, text }], new ClusterState([sts, repo, ...live]));
  return planRestores({ desired, cluster: new ClusterState([sts, repo, ...live]) });
}
const sessionAction = (actions: Action[]) => actions.find((a) => a.kind === 'RestoreSession')!;

function liveCopy(opts: { phase?: string; rerun?: string; managed?: boolean; edit?: (s: RestoreSession) => void } = {}): RestoreSession {
  const s = parse(exampleText) as RestoreSession;
  opts.edit?.(s);
  if (opts.rerun) s.metadata.annotations = { [RERUN_ANNOTATION]: opts.rerun };
  s.metadata.labels = opts.managed === false ? {} : { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
  s.metadata.annotations = { ...s.metadata.annotations, [CONTENT_ID_ANNOTATION]: contentId(s) };
  if (opts.phase) s.status = { phase: opts.phase as 'Running' };
  return s;
}

describe('plan: the Stash StatefulSet example', () => {
  it('restores hosts 3 and 4 from my-sts-1 with the include, and 0–2 from themselves with the excludes', async () => {
    const r = await restorectl(['plan', '--source', 'examples/clusters/demo', '--cluster-state', 'examples/cluster-state', '--output', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(plan), ['sourceCommit', 'diagnostics', 'actions']);
    const a = plan.actions.find((x: Action) => x.name === 'sts-restore');
    assert.equal(a.action, 'create');
    assert.equal(a.executor, 'init-container');
    assert.equal(a.totalHosts, 5);
    const own = { sourceHost: undefined, paths: ['/source/data'], exclude: ['tmp.json', '*.txt'], restores: true };
    const fromOne = { sourceHost: 'my-sts-1', paths: ['/source/data'], include: ['*.json'], restores: true };
    assert.deepEqual(a.hosts, [
      { host: 'my-sts-0', ...own, sourceHost: 'my-sts-0' },
      { host: 'my-sts-1', ...own, sourceHost: 'my-sts-1' },
      { host: 'my-sts-2', ...own, sourceHost: 'my-sts-2' },
      { host: 'my-sts-3', ...fromOne },
      { host: 'my-sts-4', ...fromOne },
    ]);
  });

  it('without a cluster state, reports the StatefulSet hosts unknown with a warning and still exits 0', async () => {
    const r = await restorectl(['plan', '--source', 'examples/clusters/demo', '--output', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout);
    const a = plan.actions.find((x: Action) => x.name === 'sts-restore');
    assert.equal(a.totalHosts, undefined);
    assert.equal(a.hosts, undefined);
    assert.ok(
      plan.diagnostics.some((d: { severity: string; message: string }) => d.severity === 'warning' && /hosts unknown.*--cluster-state/.test(d.message)),
    );
  });

  it('markdown names the pods that restart and, per host, the snapshot, source host, paths and patterns, for a PR comment', async () => {
    const r = await restorectl([
      'plan',
      '--source',
      'examples/clusters/demo',
      '--cluster-state',
      'examples/cluster-state',
      '--output',
      'markdown',
      '--no-restic',
    ]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /restarts StatefulSet recovered-statefulset: 5 pods roll/);
    assert.match(r.stdout, /^\| `my-sts-3` \| latest \| `my-sts-1` \| `\/source\/data` \| `\*\.json` \| {2}\|$/m);
    assert.match(r.stdout, /^\| `my-sts-0` \| latest \| `my-sts-0` \| `\/source\/data` \| {2}\| `tmp\.json` `\*\.txt` \|$/m);
  });

  it('exits 1 on error diagnostics and 2 on a missing source', async () => {
    const bad = await restorectl(['plan', '--source', 'test/manifests/fixtures/broken']);
    assert.equal(bad.code, 1);
    const missing = await restorectl(['plan', '--source', 'nowhere']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--source nowhere: not a folder/);
  });
});

describe('plan: how it is called', () => {
  it('says which flags go together', async () => {
    const cases: [string[], RegExp][] = [
      [
        ['--source', 'examples/clusters/demo', '--head', 'main'],
        /--head reads a git revision and goes with --git-url, not --source \(use --base-dir for the base folder\)/,
      ],
      [['--git-url', 'http://127.0.0.1:9/x.git'], /--git-url needs --head REF/],
      [
        ['--source', 'examples/clusters/demo', '--status-branch', 'restore-status'],
        /--status-branch is read from the --git-url remote; pass --git-url URL too/,
      ],
      [['--source', 'examples/clusters/demo', '--base-dir', 'nowhere'], /--base-dir nowhere: not a folder/],
      [['--source', 'examples/clusters/demo', '--restic-password-file', 'nowhere'], /--restic-password-file nowhere: cannot read it \(ENOENT\)/],
      [[], /give --source DIR \(a folder\), or --git-url URL with --head REF/],
    ];
    for (const [args, message] of cases) {
      const r = await restorectl(['plan', ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, message);
    }
  });
});

describe('plan: against what the cluster holds', () => {
  it('the same restore already created is a noop', () => {
    assert.equal(sessionAction(planWith([liveCopy({ phase: 'Succeeded' })]).actions).action, 'noop');
  });

  it('a changed spec is blocked, with what to do', () => {
    const live = liveCopy({ phase: 'Succeeded', edit: (s) => (s.spec.target!.rules![0]!.include = ['*.yaml']) });
    const a = sessionAction(planWith([live]).actions);
    assert.equal(a.action, 'blocked');
    assert.match(a.reason!, /immutable: rename the session .* or bump metadata\.annotations\["restore\.gitops\/rerun"\]/);
  });

  it('a bumped rerun annotation reruns a finished restore, and waits for a running one', () => {
    const bumped = exampleText.replace('  namespace: demo\n', `  namespace: demo\n  annotations:\n    ${RERUN_ANNOTATION}: "2"\n`);
    assert.equal(sessionAction(planWith([liveCopy({ phase: 'Failed', rerun: '1' })], bumped).actions).action, 'rerun');
    assert.equal(sessionAction(planWith([liveCopy({ phase: 'Running', rerun: '1' })], bumped).actions).action, 'blocked');
  });

  it('a bumped rerun annotation on a final session runs the spec now in git, changed or not', () => {
    const changed = exampleText
      .replace('  namespace: demo\n', `  namespace: demo\n  annotations:\n    ${RERUN_ANNOTATION}: "2"\n`)
      .replace('- tmp.json', '- scratch.json');
    const a = sessionAction(planWith([liveCopy({ phase: 'Succeeded', rerun: '1' })], changed).actions);
    assert.equal(a.action, 'rerun', a.reason);
    assert.match(a.reason!, /the spec now in git runs/);
    const waiting = sessionAction(planWith([liveCopy({ phase: 'Running', rerun: '1' })], changed).actions);
    assert.equal(waiting.action, 'blocked');
    assert.match(waiting.reason!, /once the current run is final/);
  });

  it('a changed spec without a rerun bump is blocked, saying that the annotation did not change', () => {
    const changed = exampleText.replace('- tmp.json', '- scratch.json');
    const a = sessionAction(planWith([liveCopy({ phase: 'Failed' })], changed).actions);
    assert.equal(a.action, 'blocked');
    assert.match(a.reason!, /^the spec changed but restore\.gitops\/rerun did not/);
  });

  it('a manifest with a rule error (two catch-all rules) is blocked with the error, never created, and not pruned', () => {
    const twoCatchAll = exampleText.replace('targetHosts: ["my-sts-3", "my-sts-4"]', 'targetHosts: []');
    const fresh = planWith([], twoCatchAll);
    assert.ok(
      fresh.diagnostics.some((d) => d.severity === 'error' && d.file === EXAMPLE),
      JSON.stringify(fresh.diagnostics),
    );
    const a = sessionAction(fresh.actions);
    assert.equal(a.action, 'blocked');
    assert.match(a.reason!, new RegExp(`^not applied: the manifest has \\d+ errors? \\(${EXAMPLE.replace(/\./g, '\\.')}:\\d+:\\d+: error: `));
    // Where a session of the same name exists, it is neither rerun nor pruned while the manifest is broken.
    const live = planWith(
      [liveCopy({ phase: 'Succeeded', rerun: '1' })],
      twoCatchAll.replace('  namespace: demo\n', `  namespace: demo\n  annotations:\n    ${RERUN_ANNOTATION}: "2"\n`),
    );
    assert.deepEqual(
      live.actions.filter((x) => x.kind === 'RestoreSession').map((x) => x.action),
      ['blocked'],
    );
  });

  it('a session whose Repository has an error is blocked too: it would fail against it', () => {
    const badRepo = readFileSync(new URL('../../examples/clusters/demo/repository.yaml', import.meta.url), 'utf8').replace(
      'storageSecretName',
      'storageSecretNam',
    );
    const desired = validateSource(
      [
        { path: EXAMPLE, text: exampleText },
        { path: 'repository.yaml', text: badRepo },
      ],
      new ClusterState([sts]),
    );
    const a = sessionAction(planRestores({ desired, cluster: new ClusterState([sts]) }).actions);
    assert.equal(a.action, 'blocked');
    assert.match(a.reason!, /its Repository demo\/\S+ has errors/);
  });

  it('prunes a managed session removed from git once final, never a running one or one we did not create', () => {
    const other = (name: string, phase: string, managed = true) => {
      const s = liveCopy({ phase, managed });
      s.metadata.name = name;
      return s;
    };
    const actions = planWith([other('done', 'Succeeded'), other('busy', 'Running'), other('foreign', 'Succeeded', false)]).actions;
    const byName = Object.fromEntries(actions.map((a) => [a.name, a.action]));
    assert.equal(byName['done'], 'prune');
    assert.equal(byName['busy'], 'blocked');
    assert.equal(byName['foreign'], undefined);
  });

  it('a Repository is created, left alone when equal, updated when different', () => {
    const repoAction = (live: KubeObject[]) => {
      const desired = validateSource(
        [{ path: 'r.yaml', text: readFileSync(new URL('../../examples/clusters/demo/repository.yaml', import.meta.url), 'utf8') }],
        undefined,
      );
      return planRestores({ desired, cluster: new ClusterState(live) }).actions[0]!.action;
    };
    assert.equal(repoAction([]), 'create');
    assert.equal(repoAction([repo]), 'noop');
    const changed = structuredClone(repo) as any;
    changed.spec.backend.storageSecretName = 'other';
    assert.equal(repoAction([changed]), 'update');
  });
});

describe('content ids', () => {
  const base = parse(exampleText) as RestoreSession;

  it('do not change with key order or spelt-out defaults', () => {
    const reordered = { ...base, spec: { target: base.spec.target, repository: { namespace: 'demo', name: 'local-repo' }, driver: 'Restic' as const } };
    assert.equal(contentId(reordered), contentId(base));
  });

  it('change with the spec, the name and the rerun annotation', () => {
    const ids = new Set([
      contentId(base),
      contentId({ ...base, metadata: { ...base.metadata, name: 'other' } }),
      contentId({ ...base, metadata: { ...base.metadata, annotations: { [RERUN_ANNOTATION]: '1' } } }),
      contentId({ ...base, spec: { ...base.spec, timeOut: '5m' } }),
    ]);
    assert.equal(ids.size, 4);
  });
});
