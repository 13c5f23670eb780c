// The agent's pure decisions: when a host skips, what a host no rule restores reports, and when
// (and how) postRestore runs. No cluster, no restic.
import assert from 'node:assert/strict';
import type { RestoreSession, RestoreSessionStatus } from '../../src/api/restoresession.ts';
import { isRestoreError } from '../../src/common/errors.ts';
import { HostIdentityError, hostIdentity } from '../../src/agent/host.ts';
import { postRestoreDecision, restoreStartedMessage, skipReason, unmatchedHostStat } from '../../src/agent/restore.ts';

const session = (status: RestoreSessionStatus = {}, kind = 'StatefulSet'): RestoreSession => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: { name: 's', namespace: 'demo' },
  spec: { repository: { name: 'r' }, target: { ref: { apiVersion: 'apps/v1', kind, name: 'w' } } },
  status,
});
const NOW = new Date('2026-01-01T12:00:00Z');

describe('agent: when a host has nothing to do', () => {
  it('a final session, a passed deadline or a host that already reported skips; anything else runs', () => {
    const succeeded: RestoreSessionStatus = {
      phase: 'Succeeded',
      totalHosts: 1,
      conditions: [{ type: 'StashInitContainerInjected', status: 'True' }],
      stats: [{ hostname: 'h-1', phase: 'Succeeded' }],
    };
    assert.equal(skipReason(session(succeeded), 'h-0', NOW), 'session is Succeeded: nothing to do');
    // A final phase that does not follow from the status was set by hand (issue 17): the host still restores.
    assert.equal(skipReason(session({ phase: 'Succeeded', totalHosts: 2 }), 'h-0', NOW), undefined);
    assert.equal(skipReason(session({ phase: 'Running', sessionDeadline: '2026-01-01T11:59:59Z' }), 'h-0', NOW), 'session is past its deadline: not restoring');
    assert.equal(
      skipReason(session({ phase: 'Running', conditions: [{ type: 'DeadlineExceeded', status: 'True' }] }), 'h-0', NOW),
      'session is past its deadline: not restoring',
    );
    assert.equal(
      skipReason(session({ phase: 'Running', stats: [{ hostname: 'h-0', phase: 'Failed' }] }), 'h-0', NOW),
      'already Failed: a restarted pod does not restore again',
    );
    assert.equal(
      skipReason(
        session({
          phase: 'Running',
          sessionDeadline: '2026-01-01T12:00:01Z',
          stats: [
            { hostname: 'h-1', phase: 'Succeeded' },
            { hostname: 'h-0', phase: 'Running' },
          ],
        }),
        'h-0',
        NOW,
      ),
      undefined,
    );
  });
});

describe('agent: a host no rule restores', () => {
  it('is Succeeded in no time, saying whether no rule matched or the rule named nothing', () => {
    assert.deepEqual(unmatchedHostStat('h-2', { host: 'h-2', sourceHost: 'h-2', restores: false }), {
      hostname: 'h-2',
      phase: 'Succeeded',
      duration: '0s',
      error: 'no rule matches this host: nothing restored',
    });
    assert.equal(
      unmatchedHostStat('h-2', { host: 'h-2', sourceHost: 'h-2', restores: false, rule: 1 }).error,
      'rule 1 names neither paths nor snapshots: nothing restored',
    );
  });
  it('a restoring host announces its snapshots or paths and the source host', () => {
    assert.equal(
      restoreStartedMessage('h-3', { host: 'h-3', sourceHost: 'h-1', snapshots: ['abc', 'def'], restores: true }),
      'host h-3: restoring snapshots abc, def from h-1',
    );
    assert.equal(
      restoreStartedMessage('h-3', { host: 'h-3', sourceHost: 'h-3', paths: ['/data', '/etc'], restores: true }),
      'host h-3: restoring /data, /etc from h-3',
    );
  });
});

describe('agent: postRestore', () => {
  const stats = (...phases: string[]) => phases.map((phase, i) => ({ hostname: `h-${i}`, phase: phase as 'Succeeded' }));
  it('waits until every host has a final stat, and while totalHosts is unknown', () => {
    assert.deepEqual(postRestoreDecision({ totalHosts: 3, stats: stats('Succeeded', 'Running', 'Failed') }), { run: false, why: 'hosts-pending' });
    assert.deepEqual(postRestoreDecision({ stats: stats('Succeeded') }), { run: false, why: 'hosts-pending' });
  });
  it('Always (the default) runs whatever happened', () => {
    assert.deepEqual(postRestoreDecision({ totalHosts: 2, stats: stats('Succeeded', 'Failed') }), { run: true });
    assert.deepEqual(postRestoreDecision({ totalHosts: 1, stats: stats('Succeeded') }, 'Always'), { run: true });
  });
  it('OnSuccess skips when a host failed or is Unknown; OnFailure skips when every host succeeded', () => {
    assert.deepEqual(postRestoreDecision({ totalHosts: 2, stats: stats('Succeeded', 'Unknown') }, 'OnSuccess'), {
      run: true,
      skipReason: 'skipped by executionPolicy OnSuccess: a host failed',
    });
    assert.deepEqual(postRestoreDecision({ totalHosts: 2, stats: stats('Succeeded', 'Succeeded') }, 'OnSuccess'), { run: true });
    assert.deepEqual(postRestoreDecision({ totalHosts: 2, stats: stats('Succeeded', 'Succeeded') }, 'OnFailure'), {
      run: true,
      skipReason: 'skipped by executionPolicy OnFailure: every host succeeded',
    });
    assert.deepEqual(postRestoreDecision({ totalHosts: 2, stats: stats('Failed', 'Succeeded') }, 'OnFailure'), { run: true });
  });
});

describe('agent: host identity errors', () => {
  it('carry a code and the variable to set, and say where it comes from', () => {
    const cases: [RestoreSession, 'pod' | 'pvc-ordinal', Record<string, string>, string, string][] = [
      [session(), 'pod', { POD_NAME: 'web' }, 'PodNameWithoutOrdinal', 'POD_NAME'],
      [session({}, 'DaemonSet'), 'pod', {}, 'NodeNameMissing', 'NODE_NAME'],
      [session(), 'pvc-ordinal', { POD_ORDINAL: 'x' }, 'PodOrdinalMissing', 'POD_ORDINAL'],
    ];
    for (const [s, from, env, code, variable] of cases) {
      assert.throws(
        () => hostIdentity(s, from, env),
        (e: unknown) => e instanceof HostIdentityError && isRestoreError(e, code) && e.data.variable === variable && e.message.startsWith(variable),
      );
    }
  });
});
