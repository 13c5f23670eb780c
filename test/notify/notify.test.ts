// Notifications (issue #15, item 8): which sessions are announced when (pure), and the requests
// they become, sent by the Notifier to a local receiver that checks each one against the API its
// provider documents (test/support/notify-receiver.ts).
import assert from 'node:assert/strict';
import { sinkLogger } from '../../src/common/log.ts';
import { announce, newlyFinal, phasesOf } from '../../src/notify/events.ts';
import type { Notification } from '../../src/notify/events.ts';
import { Notifier } from '../../src/notify/notifier.ts';
import { commitStatusRequest, commitStatusTargetOf } from '../../src/notify/requests.ts';
import type { CommitStatusProvider } from '../../src/notify/requests.ts';
import type { Execution, ManagedSession, StatusSnapshot } from '../../src/status/types.ts';
import { startNotifyReceiver } from '../support/notify-receiver.ts';
import type { NotifyReceiver } from '../support/notify-receiver.ts';

const COMMIT = 'a'.repeat(40);
const TOKEN = 'notify-test-token-5f2b9c';
const NOW = new Date('2026-12-01T12:00:00Z');

const execution = (contentId: string, phase: Execution['phase']): Execution => ({
  contentId,
  phase,
  acceptedAt: '2026-12-01T11:00:00Z',
  sourceCommit: COMMIT,
  ...(phase === 'Succeeded' || phase === 'Failed' ? { finishedAt: '2026-12-01T11:30:00Z' } : {}),
});
const session = (name: string, executions: Execution[], extra: Partial<ManagedSession> = {}): ManagedSession => ({
  namespace: 'demo',
  name,
  source: { url: 'https://git.example/team/restores.git', branch: 'main', commit: 'b'.repeat(40), file: `clusters/demo/${name}.yaml` },
  contentId: executions.at(-1)?.contentId ?? `${name}-declared`,
  executions,
  ...extra,
});
const snapshot = (sessions: ManagedSession[]): StatusSnapshot => ({
  cluster: 'prod',
  source: { url: 'https://git.example/team/restores.git', branch: 'main', commit: 'b'.repeat(40) },
  sessions,
  diagnostics: [],
});
const tracked = (...executions: Execution[]) => executions.map((execution) => ({ execution }));

describe('notify: what is announced', () => {
  it('announces an execution once, when it turns final; one already final at start is not announced', () => {
    const before = phasesOf(tracked(execution('old', 'Succeeded'), execution('run', 'Running'), execution('new-running', 'Accepted')));
    const after = tracked(execution('old', 'Succeeded'), execution('run', 'Failed'), execution('new-running', 'Running'), execution('fresh', 'Succeeded'));
    assert.deepEqual(newlyFinal(before, after).sort(), ['fresh', 'run']);
    assert.deepEqual(newlyFinal(phasesOf(after), after), []);
  });

  it('a finished notification carries the phase, the hosts, the commit that declared it and what to do', () => {
    const failed = session('wrong-password', [execution('c1', 'Failed')], {
      status: {
        phase: 'Failed',
        totalHosts: 1,
        stats: [{ hostname: 'host-0', phase: 'Failed', error: 'restic: wrong password or no key found' }],
      },
    });
    const { notifications } = announce(snapshot([failed]), new Set(['c1']), new Map(), NOW);
    assert.equal(notifications.length, 1);
    const n = notifications[0]!;
    assert.equal(n.event, 'finished');
    assert.equal(n.phase, 'Failed');
    assert.equal(n.source.commit, COMMIT, 'the execution’s source commit, not the daemon’s current one');
    assert.deepEqual(n.hosts, { succeeded: 0, failed: 1, unknown: 0, total: 1 });
    assert.match(n.problem!, /host-0: restic: wrong password/);
    assert.match(n.todo!, /rerun/);
    assert.equal(n.at, '2026-12-01T11:30:00Z');
  });

  it('a blocked restore is announced when its reason appears or changes, not every cycle', () => {
    const blocked = (reason: string) => session('broken', [], { decision: { action: 'blocked', reason } });
    const first = announce(snapshot([blocked('not applied: spec.target: two catch-all rules')]), new Set(), new Map(), NOW);
    assert.equal(first.notifications.length, 1);
    assert.equal(first.notifications[0]!.phase, 'Blocked');
    assert.equal(first.notifications[0]!.source.commit, 'b'.repeat(40));
    const again = announce(snapshot([blocked('not applied: spec.target: two catch-all rules')]), new Set(), first.blocked, NOW);
    assert.equal(again.notifications.length, 0);
    const changed = announce(snapshot([blocked('not applied: spec.repository: missing')]), new Set(), again.blocked, NOW);
    assert.equal(changed.notifications.length, 1);
    assert.equal(announce(snapshot([session('broken', [])]), new Set(), changed.blocked, NOW).blocked.size, 0, 'fixed: forgotten, so a new block is told');
  });
});

describe('notify: commit statuses and webhooks as the providers document them', function () {
  this.timeout(60_000);
  let rx: NotifyReceiver;
  before(async () => (rx = await startNotifyReceiver(TOKEN)));
  after(() => rx.close());
  beforeEach(() => {
    rx.accepted.length = 0;
    rx.rejected.length = 0;
  });

  const finished = (phase: Notification['phase'], problem?: string): Notification => ({
    event: 'finished',
    cluster: 'prod',
    namespace: 'demo',
    name: 'sts-restore',
    phase,
    contentId: 'c1',
    source: { url: 'https://git.example/team/restores.git', commit: COMMIT, file: 'clusters/demo/sts-restore.yaml' },
    hosts: { succeeded: phase === 'Succeeded' ? 3 : 2, failed: phase === 'Succeeded' ? 0 : 1, unknown: 0, total: 3 },
    ...(problem ? { problem, todo: 'fix it' } : {}),
    at: '2026-12-01T11:30:00Z',
  });
  const apiUrl = (p: CommitStatusProvider) => `${rx.url}/${p}${p === 'gitlab' ? '/api/v4' : p === 'gitea' ? '/api/v1' : ''}`;
  const notifier = (p: CommitStatusProvider, repo: string, lines: string[] = []) =>
    new Notifier({
      webhooks: [`${rx.url}/hook/T000/B000/secretpart`],
      commitStatus: { provider: p, apiUrl: apiUrl(p), repo, token: TOKEN, targetUrl: 'https://git.example/team/restores/src/branch/restore-status' },
      retryDelayMs: 10,
      log: sinkLogger(({ level, msg }) => lines.push(`${level} ${msg}`)),
    });

  const expected: Record<CommitStatusProvider, { success: string; failure: string; blocked: string }> = {
    github: { success: 'success', failure: 'failure', blocked: 'error' },
    gitlab: { success: 'success', failure: 'failed', blocked: 'failed' },
    gitea: { success: 'success', failure: 'failure', blocked: 'error' },
  };
  for (const p of ['github', 'gitlab', 'gitea'] as const) {
    it(`${p}: a status per notification on the declaring commit, accepted by the documented API`, async () => {
      const repo = p === 'gitlab' ? 'team/sub group/restores' : 'team/restores';
      const n = notifier(p, repo);
      const long = `host-2: ${'restic: Fatal: unable to open repository '.repeat(6)}`;
      const blocked: Notification = { ...finished('Blocked', 'not applied: two catch-all rules'), event: 'blocked' };
      n.notify([finished('Succeeded'), finished('Failed', long), blocked]);
      await n.flush();
      assert.deepEqual(rx.rejected, []);
      const statuses = rx.accepted.filter((r) => r.provider === p);
      assert.deepEqual(
        statuses.map((r) => r.body.state),
        [expected[p].success, expected[p].failure, expected[p].blocked],
      );
      for (const s of statuses) {
        assert.equal(s.sha, COMMIT);
        assert.equal(s.repo, repo);
        assert.equal(s.body[p === 'gitlab' ? 'name' : 'context'], 'restore-controller/prod/demo/sts-restore');
        assert.equal(s.body.target_url, 'https://git.example/team/restores/src/branch/restore-status');
      }
      assert.match(String(statuses[0]!.body.description), /^Succeeded 3\/3 hosts$/);
      assert.ok([...String(statuses[1]!.body.description)].length <= 140, 'a long problem is cut to GitHub’s limit');
      assert.equal(rx.accepted.filter((r) => r.provider === 'webhook').length, 3);
    });
  }

  it('the webhook carries Slack’s text and the structured fields', async () => {
    const n = notifier('github', 'team/restores');
    n.notify([finished('Failed', 'host-1: wrong password')]);
    await n.flush();
    const hook = rx.accepted.find((r) => r.provider === 'webhook')!;
    assert.equal(hook.body.text, 'Restore demo/sts-restore on cluster prod Failed: host-1: wrong password');
    assert.equal(hook.body.event, 'finished');
    assert.equal(hook.body.phase, 'Failed');
    assert.deepEqual(hook.body.hosts, { succeeded: 2, failed: 1, unknown: 0, total: 3 });
    assert.deepEqual(hook.body.source, { url: 'https://git.example/team/restores.git', commit: COMMIT, file: 'clusters/demo/sts-restore.yaml' });
  });

  it('retries a receiver that is down for a moment; gives up on a refusal with a warning that holds no secret', async () => {
    const lines: string[] = [];
    const n = notifier('github', 'team/restores', lines);
    rx.failNext(2);
    n.notify([finished('Succeeded')]);
    await n.flush();
    assert.equal(rx.accepted.length, 2, 'both sinks delivered after the 503s');
    const bad = new Notifier({
      commitStatus: { provider: 'github', apiUrl: apiUrl('github'), repo: 'team/restores', token: 'a-wrong-token-7d1e' },
      webhooks: [`${rx.url}/nohook/T000/B000/secretpart`],
      retryDelayMs: 10,
      log: sinkLogger(({ level, msg }) => lines.push(`${level} ${msg}`)),
    });
    bad.notify([finished('Succeeded')]);
    await bad.flush();
    const warnings = lines.filter((l) => l.startsWith('warn'));
    assert.equal(warnings.length, 2, lines.join('\n'));
    assert.match(warnings.join('\n'), /github commit status team\/restores: not sent after 1 attempt\(s\): HTTP 422/);
    assert.match(warnings.join('\n'), /webhook http:\/\/127\.0\.0\.1:\d+: not sent after 1 attempt\(s\): HTTP 404/);
    for (const secret of ['a-wrong-token-7d1e', 'secretpart', TOKEN]) assert.ok(!lines.join('\n').includes(secret), secret);
  });

  it('a remote’s URL names the API and the repository', () => {
    assert.deepEqual(commitStatusTargetOf('github', 'https://github.com/team/restores.git'), { apiUrl: 'https://api.github.com', repo: 'team/restores' });
    assert.deepEqual(commitStatusTargetOf('github', 'git@ghe.example:team/restores.git'), { apiUrl: 'https://ghe.example/api/v3', repo: 'team/restores' });
    assert.deepEqual(commitStatusTargetOf('gitlab', 'ssh://git@gitlab.example:2222/group/sub/restores.git'), {
      apiUrl: 'https://gitlab.example/api/v4',
      repo: 'group/sub/restores',
    });
    assert.deepEqual(commitStatusTargetOf('gitea', 'https://user:pw@gitea.example:3000/team/restores'), {
      apiUrl: 'https://gitea.example:3000/api/v1',
      repo: 'team/restores',
    });
    assert.equal(
      commitStatusRequest(
        { provider: 'github', apiUrl: 'https://api.github.com', repo: 'o/r' },
        { ...finished('Succeeded'), source: { url: '', commit: null, file: '' } },
      ),
      undefined,
    );
  });
});
