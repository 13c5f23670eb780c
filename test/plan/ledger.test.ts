import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { CONTENT_ID_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../src/api/index.ts';
import type { RestoreSession } from '../../src/api/index.ts';
import { ClusterState, validateSource } from '../../src/manifests/index.ts';
import { contentId, planRestores } from '../../src/plan/index.ts';
import type { LedgerView } from '../../src/plan/index.ts';

const text = readFileSync(new URL('../../examples/clusters/demo/deployment-restore.yaml', import.meta.url), 'utf8');
const repo = readFileSync(new URL('../../examples/clusters/demo/repository.yaml', import.meta.url), 'utf8');
const desired = (withSession = true) => validateSource([{ path: 'r.yaml', text: repo }, ...(withSession ? [{ path: 's.yaml', text }] : [])], undefined);
const id = contentId(parse(text) as RestoreSession);
const ledger = (phase: string): LedgerView => new Map([[id, { phase, finishedAt: '2026-11-29T03:00:00Z' }]]);
const sessionAction = (opts: { ledger?: LedgerView; live?: RestoreSession[]; allowEmpty?: boolean; withSession?: boolean }) =>
  planRestores({ desired: desired(opts.withSession ?? true), cluster: new ClusterState(opts.live ?? []), ledger: opts.ledger, allowEmpty: opts.allowEmpty });

describe('plan: exactly once, from the ledger (DESIGN §2)', () => {
  it('a final execution is never run again, even when its RestoreSession was deleted', () => {
    for (const phase of ['Succeeded', 'Failed', 'Interrupted']) {
      const a = sessionAction({ ledger: ledger(phase) }).actions.find((x) => x.kind === 'RestoreSession')!;
      assert.equal(a.action, 'noop', phase);
      assert.match(a.reason!, new RegExp(`already ran: ${phase}`));
    }
  });

  it('an execution accepted but not created (a crash in between) is created', () => {
    assert.equal(sessionAction({ ledger: ledger('Accepted') }).actions.find((x) => x.kind === 'RestoreSession')!.action, 'create');
  });

  it('a running execution whose RestoreSession vanished is recorded Interrupted, not re-run', () => {
    const a = sessionAction({ ledger: ledger('Running') }).actions.find((x) => x.kind === 'RestoreSession')!;
    assert.equal(a.action, 'noop');
    assert.equal(a.interrupted, true);
  });

  it('refuses an empty source while restores are managed, unless allowed', () => {
    const live = parse(text) as RestoreSession;
    live.metadata.namespace = 'demo';
    live.metadata.labels = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };
    live.metadata.annotations = { [CONTENT_ID_ANNOTATION]: id };
    live.status = { phase: 'Succeeded' };
    const refused = sessionAction({ withSession: false, live: [live] });
    assert.ok(refused.diagnostics.some((d) => d.severity === 'error' && /refusing to prune everything/.test(d.message)));
    assert.ok(!refused.actions.some((a) => a.action === 'prune'));
    assert.ok(sessionAction({ withSession: false, live: [live], allowEmpty: true }).actions.some((a) => a.action === 'prune'));
  });
});
