// .github/workflows/restore-plan.yml: its Plan step's script is run with bash as the runner runs it
// (a checkout with history, the base added with `git worktree`), against the real program, git and
// a real git server for the status branch. GitHub itself is the one thing not here: the comment
// script runs against a stand-in for its issues API that records what it is asked.
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { PLAN_COMMENT_MARKER, contentId } from '../../src/plan/index.ts';
import { StatusWriter } from '../../src/status/index.ts';
import { REPO_ROOT, restorectl } from '../support/cli.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import type { GitHttpServer } from '../support/git-server.ts';

interface Step {
  name?: string;
  id?: string;
  uses?: string;
  if?: string;
  run?: string;
  env?: Record<string, string>;
  with?: Record<string, unknown>;
}
interface Workflow {
  on: Record<string, unknown>;
  env: Record<string, string>;
  permissions: Record<string, string>;
  jobs: { plan: { steps: Step[] } };
}

const WORKFLOW_PATH = join(REPO_ROOT, '.github/workflows/restore-plan.yml');
const workflow = parse(readFileSync(WORKFLOW_PATH, 'utf8')) as Workflow;
const steps = workflow.jobs.plan.steps;
const step = (pred: (s: Step) => boolean, what: string) => {
  const i = steps.findIndex(pred);
  assert.ok(i >= 0, `the workflow has no ${what} step`);
  return { s: steps[i]!, i };
};
const planStep = step((s) => s.id === 'plan', 'Plan (id: plan)');
const commentStep = step((s) => s.uses?.startsWith('actions/github-script@') ?? false, 'actions/github-script');
const failStep = step((s) => s.name === 'Fail on plan errors', 'failure');

/** Shell words of a line (quotes removed; `"${cluster[@]}"` kept as one word). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

/** `${{ expr }}` replaced from `values`; an expression the test does not know fails it. */
function expand(value: string, values: Record<string, string>): string {
  return value.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => {
    assert.ok(expr in values, `the workflow uses \${{ ${expr} }}, which this test does not provide`);
    return values[expr]!;
  });
}

describe('.github/workflows/restore-plan.yml', function () {
  it('runs on pull requests with full history, Node 22, npm ci and restic from apt', () => {
    assert.ok('pull_request' in workflow.on);
    assert.equal(workflow.permissions['pull-requests'], 'write');
    const checkout = step((s) => s.uses?.startsWith('actions/checkout@') ?? false, 'checkout').s;
    assert.equal(checkout.with?.['fetch-depth'], 0);
    assert.equal(step((s) => s.uses?.startsWith('actions/setup-node@') ?? false, 'setup-node').s.with?.['node-version'], 22);
    assert.ok(steps.some((s) => s.run?.trim() === 'npm ci'));
    assert.match(steps.find((s) => s.name === 'Install restic')!.run!, /apt-get install -y restic/);
    assert.ok(planStep.i < commentStep.i && commentStep.i < failStep.i, 'plan, then comment, then fail');
  });

  it('runs a `restorectl plan` whose every flag `restorectl plan --help` documents', async () => {
    const help = await restorectl(['plan', '--help']);
    assert.equal(help.code, 0);
    const documented = new Set(help.stdout.match(/--[a-z][a-z-]+/g));
    const script = planStep.s.run!;
    const invocation = script.split('\n').find((l) => l.includes('bin/restorectl.js plan'));
    assert.ok(invocation, 'the Plan step runs bin/restorectl.js plan');
    const extra = [...script.matchAll(/cluster\+=\(([^)]*)\)/g)].map((m) => m[1]!);
    const flags = [...words(invocation!), ...extra.flatMap(words)].filter((w) => w.startsWith('--'));
    assert.deepEqual(
      flags.filter((f) => !documented.has(f)),
      [],
      'flags plan --help does not know',
    );
    for (const f of ['--source', '--base-dir', '--output', '--cluster-state', '--git-url', '--status-branch', '--cluster']) assert.ok(flags.includes(f), f);
    assert.ok(words(invocation!).join(' ').includes('--output markdown'));
  });

  it('fails the check after commenting, when the plan exits 1 or 2', () => {
    assert.equal(commentStep.s.if, "always() && steps.plan.outputs.exit-code != ''");
    assert.equal(failStep.s.if, "always() && steps.plan.outputs.exit-code != '0'");
    for (const [code, message] of [
      ['1', /the restore plan has errors/],
      ['2', /restorectl plan could not run \(exit 2\)/],
    ] as const) {
      const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', failStep.s.run!], {
        env: { ...process.env, PLAN_EXIT: expand(failStep.s.env!.PLAN_EXIT!, { 'steps.plan.outputs.exit-code': code }) },
        encoding: 'utf8',
      });
      assert.equal(r.status, 1);
      assert.match(r.stdout, message);
    }
  });

  describe('its Plan step and comment, on a pull request', function () {
    let server: GitHttpServer;
    let tmp: string;
    let close: () => Promise<void>;
    let checkout: WorkTree;
    let base: string;
    const token = 'ghs-workflow-token-0b7d';

    before(async () => {
      ({ server, tmp, close } = await startGitServer({ username: 'x-access-token', password: token }));
      server.createRepo('acme-restores');
      // The repository as actions/checkout leaves it: this project with the examples; `bin` is
      // this checkout's, so the step runs the program under test.
      checkout = new WorkTree(join(tmp, 'checkout'), server.repoPath('acme-restores'));
      cpSync(join(REPO_ROOT, 'examples'), join(checkout.dir, 'examples'), { recursive: true });
      symlinkSync(join(REPO_ROOT, 'bin'), join(checkout.dir, 'bin'));
      writeFileSync(join(checkout.dir, '.git/info/exclude'), 'bin\n');
      base = checkout.commit('The examples');
      checkout.push();
    });
    after(async () => close?.());

    /**
     * Runs the Plan step's script as the runner would; returns its outputs and the plan it wrote.
     * Asynchronously: the git server answering the step lives in this process.
     */
    async function runPlanStep(
      settings: Record<string, string> = {},
    ): Promise<{ outputs: Record<string, string>; plan: string; stderr: string; status: number | null }> {
      const runnerTemp = join(tmp, `runner-${Date.now()}-${Math.random().toString(16).slice(2)}`);
      mkdirSync(runnerTemp);
      const values = { 'github.event.pull_request.base.sha': base, 'secrets.RESTIC_PASSWORD': '', 'github.token': token };
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...workflow.env,
        ...settings,
        ...Object.fromEntries(Object.entries(planStep.s.env ?? {}).map(([k, v]) => [k, expand(String(v), values)])),
        RUNNER_TEMP: runnerTemp,
        GITHUB_OUTPUT: join(runnerTemp, 'output'),
        GITHUB_STEP_SUMMARY: join(runnerTemp, 'summary'),
        GITHUB_SERVER_URL: server.baseUrl,
        GITHUB_REPOSITORY: 'acme-restores',
      };
      const r = await new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
        const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', planStep.s.run!], {
          cwd: checkout.dir,
          env,
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('error', reject);
        child.on('close', (status) => resolve({ status, stderr }));
      });
      execFileSync('git', ['worktree', 'remove', '--force', join(runnerTemp, 'restore-plan-base')], { cwd: checkout.dir });
      const outputs = Object.fromEntries(
        readFileSync(join(runnerTemp, 'output'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.split('=') as [string, string]),
      );
      return { outputs, plan: readFileSync(join(runnerTemp, 'plan.md'), 'utf8'), stderr: r.stderr, status: r.status };
    }

    it('plans the head merged into the base, against the cluster state, marker first', async () => {
      checkout.git(['checkout', '--quiet', '-b', 'add-restore', base]);
      const added = readFileSync(join(REPO_ROOT, 'examples/clusters/demo/sts-restore.yaml'), 'utf8').replace('name: sts-restore', 'name: sts-restore-again');
      checkout.write({ 'examples/clusters/demo/sts-restore-again.yaml': added });
      const head = checkout.commit('Restore the StatefulSet once more');
      const r = await runPlanStep();
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.outputs['exit-code'], '0');
      const lines = r.plan.split('\n');
      assert.equal(lines[0], PLAN_COMMENT_MARKER);
      assert.equal(lines[1], `### restore-controller plan for commit ${head.slice(0, 12)} merged into commit ${base.slice(0, 12)}`);
      assert.match(r.plan, /^\| \+ \| create \| added \| RestoreSession `demo\/sts-restore-again` \| init-container \| 5 \|/m);
      assert.equal(lines.filter((l) => /^\| `my-sts-\d` \| latest \(not resolved\) \|/.test(l)).length, 5, 'a line per host');
      assert.match(r.plan, /Snapshots not resolved: no restic password: set RESTIC\\_PASSWORD/);
      assert.match(r.plan, /^\*\*Not touched by this change:\*\* 4 RestoreSessions, 1 Repository: 5 create$/m);
    });

    it('reads the status branch when STATUS_BRANCH is set: what already ran is noop', async () => {
      checkout.git(['checkout', '--quiet', '-f', 'add-restore']);
      const ran = (file: string) => {
        const s = parse(readFileSync(join(checkout.dir, 'examples/clusters/demo', file), 'utf8')) as RestoreSession;
        const id = contentId(s);
        return {
          namespace: 'demo',
          name: s.metadata.name,
          contentId: id,
          source: { url: server.url('acme-restores'), branch: 'main', commit: base, file },
          executions: [{ contentId: id, phase: 'Succeeded' as const, acceptedAt: '2026-11-29T03:00:00Z', finishedAt: '2026-11-29T03:02:46Z' }],
          status: { phase: 'Succeeded' as const },
        };
      };
      await new StatusWriter({
        url: server.url('acme-restores'),
        cacheDir: join(tmp, 'status'),
        env: { GIT_USERNAME: 'x-access-token', GIT_PASSWORD: token },
      }).writeStatus({
        cluster: 'demo',
        source: { url: server.url('acme-restores'), branch: 'main', commit: base },
        sessions: ['sts-restore.yaml', 'deployment-restore.yaml', 'pvc-restore.yaml', 'snapshot-restore.yaml'].map(ran),
      });
      const r = await runPlanStep({ STATUS_BRANCH: 'restore-status' });
      assert.equal(r.outputs['exit-code'], '0', r.stderr + r.plan);
      assert.match(r.plan, /^\*\*Not touched by this change:\*\* 4 RestoreSessions, 1 Repository: 1 create, 4 noop$/m);
      assert.ok(!r.plan.includes(token) && !r.stderr.includes(token), 'the token is never printed');
    });

    it('exits 1 for a pull request with an error, which the failure step turns into a failed check', async () => {
      checkout.git(['checkout', '--quiet', '-f', '-b', 'broken', base]);
      checkout.write({
        'examples/clusters/demo/secret.yaml':
          'apiVersion: v1\nkind: Secret\nmetadata:\n  name: restic\n  namespace: demo\nstringData:\n  RESTIC_PASSWORD: hunter2\n',
      });
      checkout.commit('Add the password (wrongly)');
      const r = await runPlanStep();
      assert.equal(r.outputs['exit-code'], '1');
      assert.match(
        r.plan.split('\n').slice(0, 8).join('\n'),
        /#### Diagnostics\n\n- ❌ error `examples\/clusters\/demo\/secret\.yaml:2:7` Secret restic refused: a Secret does not belong in git/,
      );
    });

    it('posts the plan once and updates that comment on later pushes', async () => {
      const script = String(commentStep.s.with!.script);
      assert.ok(script.includes(`'${PLAN_COMMENT_MARKER}'`), 'the comment is found by the marker the plan starts with');
      const comments: { id: number; body: string; user: { type: string } }[] = [
        { id: 1, body: `${PLAN_COMMENT_MARKER} quoted by a person`, user: { type: 'User' } },
      ];
      const calls: string[] = [];
      const github = {
        paginate: async (fn: (a: unknown) => Promise<{ data: unknown[] }>, args: unknown) => (await fn(args)).data,
        rest: {
          issues: {
            listComments: async () => ({ data: comments.map((c) => ({ ...c })) }),
            createComment: async (a: { body: string }) => {
              calls.push('create');
              comments.push({ id: comments.length + 1, body: a.body, user: { type: 'Bot' } });
            },
            updateComment: async (a: { comment_id: number; body: string }) => {
              calls.push(`update ${a.comment_id}`);
              comments.find((c) => c.id === a.comment_id)!.body = a.body;
            },
          },
        },
      };
      const context = { repo: { owner: 'acme', repo: 'restores' }, payload: { pull_request: { number: 7 } } };
      const post = async (plan: string, exit: string, err = '') => {
        const dir = join(tmp, `comment-${calls.length}`);
        mkdirSync(dir);
        writeFileSync(join(dir, 'plan.md'), plan);
        writeFileSync(join(dir, 'plan.err'), err);
        const env = Object.fromEntries(
          Object.entries(commentStep.s.env!).map(([k, v]) => [k, expand(v, { 'runner.temp': dir, 'steps.plan.outputs.exit-code': exit })]),
        );
        const saved = { ...process.env };
        Object.assign(process.env, env);
        try {
          // As actions/github-script runs it: an async function of github, context, require.
          await new Function('github', 'context', 'require', `return (async () => {\n${script}\n})();`)(github, context, createRequire(import.meta.url));
        } finally {
          for (const k of Object.keys(env))
            if (saved[k] === undefined) delete process.env[k];
            else process.env[k] = saved[k];
        }
      };
      await post(`${PLAN_COMMENT_MARKER}\nfirst plan\n`, '0');
      await post(`${PLAN_COMMENT_MARKER}\nsecond plan\n`, '1');
      assert.deepEqual(calls, ['create', 'update 2']);
      assert.equal(comments.length, 2);
      assert.equal(comments[0]!.body, `${PLAN_COMMENT_MARKER} quoted by a person`, "a person's comment is left alone");
      assert.equal(comments[1]!.body, `${PLAN_COMMENT_MARKER}\nsecond plan\n`);
      await post('', '2', 'restorectl plan: --base-dir /x: not a folder.');
      assert.deepEqual(calls, ['create', 'update 2', 'update 2']);
      assert.match(
        comments[1]!.body,
        /^<!-- restorectl-plan -->\n### restore-controller plan could not run\n\n`restorectl plan` exited with 2:\n\n```\nrestorectl plan: --base-dir \/x: not a folder\.\n```/,
      );
    });
  });
});
