// What a daemon cycle decides from its inputs, without a cluster or a remote: when the source
// moved, when a cycle has nothing to plan, what a plan's errors and an apply's failures make of it.
import assert from 'node:assert/strict';
import type { AppliedAction } from '../../src/apply/applier.ts';
import { actionText, appliedOutcome, cycleInputs, planErrorText, sourceMoved, unchanged } from '../../src/daemon/cycle.ts';
import type { Diagnostic } from '../../src/manifests/index.ts';
import type { Action } from '../../src/plan/types.ts';

const none = { added: [], modified: [], deleted: [] };
const diag = (severity: Diagnostic['severity']): Diagnostic => ({ file: 'a.yaml', line: 1, column: 1, path: '', severity, message: 'm' });
const action = (kind: Action['kind'], act: Action['action'], name = 'r'): Action =>
  ({ action: act, kind, namespace: 'demo', name, file: 'a.yaml', contentId: 'c1' }) as Action;

describe('daemon cycle: decisions', () => {
  describe('the source moved', () => {
    it('on the first revision, on changed files, on another commit', () => {
      assert.equal(sourceMoved({ initial: true, changed: none, commit: 'a' }, 'a'), true);
      assert.equal(sourceMoved({ initial: false, changed: { ...none, modified: ['x.yaml'] }, commit: 'a' }, 'a'), true);
      assert.equal(sourceMoved({ initial: false, changed: none, commit: 'b' }, 'a'), true);
      assert.equal(sourceMoved({ initial: false, changed: none, commit: null }, undefined), true, 'a folder outside git, first seen');
    });

    it('not when the same commit comes back with nothing changed', () => {
      assert.equal(sourceMoved({ initial: false, changed: none, commit: 'a' }, 'a'), false);
      assert.equal(sourceMoved({ initial: false, changed: none, commit: null }, null), false);
    });
  });

  describe('a cycle with nothing to plan', () => {
    const memory = { lastInputs: '3/7/1', ledgerDirty: false, hasLastPlan: true };

    it('the same source, live objects and executions as the last clean cycle', () => {
      assert.equal(cycleInputs(3, 7, 1), '3/7/1');
      assert.equal(unchanged(cycleInputs(3, 7, 1), memory), true);
    });

    it('plans again when any input moved', () => {
      for (const inputs of [cycleInputs(4, 7, 1), cycleInputs(3, 8, 1), cycleInputs(3, 7, 2)]) assert.equal(unchanged(inputs, memory), false, inputs);
    });

    it('plans again after a LIST (no claim of sameness), with the ledger unpushed, or without a last plan', () => {
      assert.equal(cycleInputs(3, undefined, 1), undefined);
      assert.equal(unchanged(undefined, { ...memory, lastInputs: undefined }), false);
      assert.equal(unchanged('3/7/1', { ...memory, ledgerDirty: true }), false);
      assert.equal(unchanged('3/7/1', { ...memory, hasLastPlan: false }), false);
      assert.equal(unchanged('3/7/1', { ...memory, lastInputs: undefined }), false, 'the last cycle was not clean');
    });
  });

  describe('the report', () => {
    it('a plan with error diagnostics fails the cycle, counting them; warnings do not', () => {
      assert.equal(planErrorText({ diagnostics: [diag('warning')] }), undefined);
      assert.equal(planErrorText({ diagnostics: [diag('error'), diag('warning')] }), 'the source has 1 error (listed in the log and STATUS.md)');
      assert.equal(planErrorText({ diagnostics: [diag('error'), diag('error')] }), 'the source has 2 errors (listed in the log and STATUS.md)');
    });

    it('an apply: the failed actions, and the sessions created (the controller follows them at once)', () => {
      const applied: AppliedAction[] = [
        { action: action('Repository', 'create'), ok: true },
        { action: action('RestoreSession', 'create', 'a'), ok: true },
        { action: action('RestoreSession', 'create', 'b'), ok: false, error: 'create RestoreSession demo/b: forbidden' },
        { action: action('RestoreSession', 'prune', 'c'), ok: true },
      ];
      const { failed, createdSessions } = appliedOutcome(applied);
      assert.deepEqual(
        failed.map((a) => a.action.name),
        ['b'],
      );
      assert.deepEqual(
        createdSessions.map((a) => a.action.name),
        ['a'],
      );
      assert.equal(actionText(applied[1]!), 'create RestoreSession demo/a');
    });
  });
});
