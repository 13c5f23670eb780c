// The daemon's ledger follows the cluster (src/daemon/executions.ts), but never takes a status
// edited by hand for a result (issue 17, item 6): the phase it records is the one the controller's
// record (session/record.ts) supports.
import assert from 'node:assert/strict';
import type { RestoreSession, RestoreSessionStatus } from '../../src/api/index.ts';
import { CONTENT_ID_ANNOTATION } from '../../src/api/meta.ts';
import { followCluster } from '../../src/daemon/executions.ts';
import type { Executions } from '../../src/daemon/executions.ts';
import { RECORD_ANNOTATION, withTrustedStatus } from '../../src/session/record.ts';

const ok = (hostname: string) => ({ hostname, phase: 'Succeeded' as const });
const injected = [
  { type: 'ValidationPassed', status: 'True' as const },
  { type: 'StashInitContainerInjected', status: 'True' as const },
];
const session = (status: RestoreSessionStatus, record?: object): RestoreSession => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: {
    name: 'sts-restore',
    namespace: 'demo',
    annotations: { [CONTENT_ID_ANNOTATION]: 'c1', ...(record ? { [RECORD_ANNOTATION]: JSON.stringify(record) } : {}) },
  },
  spec: { repository: { name: 'local-repo' } },
  status,
});
const running = (): Executions =>
  new Map([['c1', { namespace: 'demo', name: 'sts-restore', execution: { contentId: 'c1', phase: 'Running', acceptedAt: '2026-01-01T00:00:00Z' } }]]);
const now = new Date('2026-01-01T00:01:00Z');

describe('daemon executions: a status edited by hand is not a result', () => {
  it('a running session set to Failed by hand while 3/3 hosts succeeded: the execution stays Running (the controller decides)', () => {
    const ex = running();
    const edited = session({ phase: 'Failed', totalHosts: 3, conditions: injected, stats: [ok('a'), ok('b'), ok('c')] });
    followCluster(ex, [edited], now);
    assert.equal(ex.get('c1')!.execution.phase, 'Running');
    assert.equal(withTrustedStatus(edited).status?.phase, 'Running');
  });

  it('a Succeeded session set to Failed by hand: the execution takes the recorded Succeeded', () => {
    const ex = running();
    const final = { phase: 'Succeeded', totalHosts: 3, conditions: injected, stats: [ok('a'), ok('b'), ok('c')], sessionDuration: '9s' };
    followCluster(ex, [session({ ...final, phase: 'Failed' }, { stats: final.stats, conditions: [], final })], now);
    assert.equal(ex.get('c1')!.execution.phase, 'Succeeded');
    assert.equal(ex.get('c1')!.execution.finishedAt, '2026-01-01T00:01:00Z');
  });

  it('a status the controller wrote is followed as it is', () => {
    const ex = running();
    const s = session({ phase: 'Failed', totalHosts: 2, conditions: injected, stats: [ok('a'), { hostname: 'b', phase: 'Failed' }] });
    followCluster(ex, [s], now);
    assert.equal(ex.get('c1')!.execution.phase, 'Failed');
    assert.equal(withTrustedStatus(s), s);
  });
});
