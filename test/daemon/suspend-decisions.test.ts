// The pure decisions behind suspend and reconcile: what a suspended daemon holds, how STATUS.md
// carries the banner, what a hand-broken record means, and that a reconcile request cannot be replayed.
import assert from 'node:assert/strict';
import { suspendPlan } from '../../src/daemon/cycle.ts';
import { handleWebhook, reconcileRequest } from '../../src/daemon/webhook.ts';
import type { Plan } from '../../src/plan/types.ts';
import { parseSuspension, renderSuspension, withSuspensionBanner } from '../../src/status/index.ts';

const S = { suspended: true, by: 'ada@ops', at: '2026-12-01T12:00:00Z', reason: 'storage migration' };
const action = (a: Plan['actions'][number]['action'], name: string) => ({
  action: a,
  kind: 'RestoreSession',
  namespace: 'demo',
  name,
  file: `${name}.yaml`,
  contentId: name,
});

describe('suspend: decisions', () => {
  it('a suspended plan blocks create, update, rerun and prune with who, when and why; noops and blocks stand', () => {
    const plan = {
      sourceCommit: 'c',
      diagnostics: [],
      actions: [action('create', 'a'), action('rerun', 'b'), action('prune', 'c'), action('update', 'd'), action('noop', 'e'), action('blocked', 'f')],
    } as unknown as Plan;
    const held = suspendPlan(plan, S, 'prod');
    assert.deepEqual(
      held.actions.map((a) => a.action),
      ['blocked', 'blocked', 'blocked', 'blocked', 'noop', 'blocked'],
    );
    assert.equal(
      held.actions[0]!.reason,
      'create held: the daemon is suspended (by ada@ops at 2026-12-01T12:00:00Z: storage migration); it goes ahead after `restorectl resume --cluster prod`',
    );
    assert.match(held.actions[2]!.reason!, /^prune held:/);
    assert.equal(suspendPlan(plan, { ...S, suspended: false }, 'prod'), plan);
    assert.equal(suspendPlan(plan, undefined, 'prod'), plan);
  });

  it('STATUS.md gets the banner after its title, once, and loses it on resume', () => {
    const md = '# Restores in cluster `prod`\n\nSource: x\nSessions: 0\n';
    const on = withSuspensionBanner(md, 'prod', S);
    assert.equal(
      on,
      '# Restores in cluster `prod`\n\n> ⏸️ **Suspended** by ada@ops at 2026-12-01T12:00:00Z: storage migration.\n' +
        '> The daemon creates, reruns, updates and prunes nothing until `restorectl resume --cluster prod`; running sessions are still followed.\n\nSource: x\nSessions: 0\n',
    );
    assert.equal(withSuspensionBanner(on, 'prod', S), on);
    assert.equal(withSuspensionBanner(on, 'prod', { ...S, suspended: false }), md);
  });

  it('reads back what it writes; a record broken by hand counts as suspended and says how to fix it', () => {
    assert.deepEqual(parseSuspension('prod', renderSuspension('prod', S)), S);
    const broken = parseSuspension('prod', 'suspended: maybe\n');
    assert.equal(broken.suspended, true);
    assert.match(broken.reason, /clusters\/prod\/suspension\.yaml cannot be read: no "suspended: true\|false" in it; `restorectl resume --cluster prod`/);
  });

  it('a reconcile request verifies with the secret, and is refused when replayed after 5 minutes or signed with another secret', () => {
    const now = new Date('2026-12-01T12:00:00Z');
    const req = reconcileRequest('s3cret', 'ada@ops', now);
    const body = Buffer.from(req.body);
    const ok = handleWebhook(req.headers, body, 's3cret', { branch: 'main' }, new Date(now.getTime() + 60_000));
    assert.deepEqual(ok, { status: 202, outcome: 'triggered', provider: 'restorectl', ref: 'reconcile', by: 'ada@ops' });
    assert.equal(handleWebhook(req.headers, body, 's3cret', { branch: 'main' }, new Date(now.getTime() + 6 * 60_000)).status, 401);
    assert.equal(handleWebhook(req.headers, body, 'other', { branch: 'main' }, now).status, 401);
    assert.equal(handleWebhook(req.headers, Buffer.from(req.body.replace('ada', 'eve')), 's3cret', { branch: 'main' }, now).status, 401);
  });
});
