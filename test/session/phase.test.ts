import assert from 'node:assert/strict';
import type { Condition, HostRestoreStats } from '../../src/api/index.ts';
import { CONDITION, setCondition } from '../../src/session/conditions.ts';
import { computePhase } from '../../src/session/phase.ts';
import { formatDuration, parseDuration } from '../../src/session/duration.ts';

const cond = (type: string, status: 'True' | 'False'): Condition => ({ type, status });
const stat = (hostname: string, phase: HostRestoreStats['phase']): HostRestoreStats => ({ hostname, phase });
const injected = [cond(CONDITION.RepositoryFound, 'True'), cond(CONDITION.StashInitContainerInjected, 'True')];

describe('session phase (SPEC Phase and conditions)', () => {
  it('Running until every host reports', () => {
    assert.equal(computePhase({ conditions: injected, stats: [stat('h-0', 'Succeeded')], totalHosts: 2 }), 'Running');
  });

  it('Succeeded when all hosts succeeded; Failed if any failed; Unknown if any unknown', () => {
    assert.equal(computePhase({ conditions: injected, stats: [stat('h-0', 'Succeeded'), stat('h-1', 'Succeeded')], totalHosts: 2 }), 'Succeeded');
    assert.equal(computePhase({ conditions: injected, stats: [stat('h-0', 'Failed'), stat('h-1', 'Succeeded')], totalHosts: 2 }), 'Failed');
    assert.equal(computePhase({ conditions: injected, stats: [stat('h-0', 'Failed'), stat('h-1', 'Unknown')], totalHosts: 2 }), 'Unknown');
  });

  it('a host still running does not count as reported', () => {
    assert.equal(computePhase({ conditions: injected, stats: [stat('h-0', 'Succeeded'), stat('h-1', 'Running')], totalHosts: 2 }), 'Running');
  });

  it('Pending while the target, repository or secret is missing; Invalid on failed validation', () => {
    assert.equal(computePhase({ conditions: [cond(CONDITION.RestoreTargetFound, 'False')], stats: [], totalHosts: 1 }), 'Pending');
    assert.equal(computePhase({ conditions: [cond(CONDITION.ValidationPassed, 'False')], stats: [], totalHosts: 1 }), 'Invalid');
  });

  it('Failed on a False executor or hook condition, and past the deadline', () => {
    assert.equal(computePhase({ conditions: [cond(CONDITION.RestoreJobCreated, 'False')], stats: [], totalHosts: 1 }), 'Failed');
    assert.equal(computePhase({ conditions: [...injected, cond(CONDITION.PreRestoreHookExecutionSucceeded, 'False')], stats: [], totalHosts: 1 }), 'Failed');
    assert.equal(
      computePhase({ conditions: [...injected, cond(CONDITION.DeadlineExceeded, 'True')], stats: [stat('h-0', 'Succeeded')], totalHosts: 2 }),
      'Failed',
    );
  });

  it('Pending before the executor exists, even with zero hosts', () => {
    assert.equal(computePhase({ conditions: [], stats: [], totalHosts: 0 }), 'Pending');
    assert.equal(computePhase({ conditions: injected, stats: [], totalHosts: 0 }), 'Succeeded');
  });
});

describe('conditions', () => {
  it('keep lastTransitionTime while the status stays, move it when the status changes', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-01T00:05:00Z');
    const a = setCondition([], { type: 'X', status: 'False', reason: 'R' }, t1);
    const b = setCondition(a, { type: 'X', status: 'False', reason: 'R', message: 'again' }, t2);
    assert.equal(b[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
    const c = setCondition(b, { type: 'X', status: 'True', reason: 'R' }, t2);
    assert.equal(c[0]!.lastTransitionTime, '2026-01-01T00:05:00Z');
    assert.equal(c.length, 1);
  });
});

describe('Go durations', () => {
  it('parse timeOut values as Stash takes them', () => {
    assert.equal(parseDuration('30m'), 1_800_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('30 minutes'), undefined);
    assert.equal(parseDuration(''), undefined);
  });

  it('format sessionDuration like Go', () => {
    assert.equal(formatDuration(161_000), '2m41s');
    assert.equal(formatDuration(3_605_000), '1h0m5s');
    assert.equal(formatDuration(400), '0s');
  });
});
