// A hand edit of a session's status never sticks (issue 17, item 6): what the agents and the
// controller wrote is authoritative. The controller keeps it in the session's record annotation,
// where `kubectl edit --subresource=status` does not reach, and corrects the status from it on
// the next reconcile. Hosts report as agents do (a status write per host stat).
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import type { HostRestoreStats, RestoreSession, RestoreSessionStatus } from '../../src/api/index.ts';
import { needsWork } from '../../src/controller/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { updateSessionStatus } from '../../src/kube/status-update.ts';
import { withHostStat } from '../../src/session/host-stats.ts';
import { useSessionSandbox } from './session-sandbox.ts';

const HOSTS = ['my-sts-0', 'my-sts-1', 'my-sts-2', 'my-sts-3', 'my-sts-4'];

describe('controller: a hand edit of a session status is corrected from what the hosts reported', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('hand-edit');
  const custom = () => h.t.kc.makeApiClient(k8s.CustomObjectsApi);
  /** An agent's write of its host's final stat. */
  const hostReports = (host: string, phase: 'Succeeded' | 'Failed' = 'Succeeded') =>
    updateSessionStatus(custom(), h.ns, 'sts-restore', (s) =>
      withHostStat(s.status, { hostname: host, phase, duration: '3s', ...(phase === 'Failed' ? { error: 'restic: boom' } : {}) } as HostRestoreStats),
    );
  /** What `kubectl edit --subresource=status` does: the status replaced by another. */
  const editStatus = async (edit: (s: RestoreSessionStatus) => RestoreSessionStatus | undefined) => {
    const s = await h.get('sts-restore');
    const status = edit(structuredClone(s.status ?? {}));
    await custom().replaceNamespacedCustomObjectStatus({
      ...RESTORE_SESSIONS,
      namespace: h.ns,
      name: 'sts-restore',
      body: { ...s, status: status ?? {} },
    });
    return h.get('sts-restore');
  };
  const running = async () => {
    await h.apply(h.session('sts-restore.yaml'));
    await h.reconcile('sts-restore');
    const s = await h.get('sts-restore');
    assert.equal(s.status?.phase, 'Running');
    assert.equal(s.status?.totalHosts, 5);
  };
  const tally = (s: RestoreSession) => (s.status?.stats ?? []).filter((x) => x.phase === 'Succeeded').length;

  it('a running session set to Failed by hand: the hosts finish, and it ends Succeeded', async () => {
    await running();
    await hostReports('my-sts-0');
    const edited = await editStatus((s) => ({ ...s, phase: 'Failed' }));
    assert.equal(edited.status?.phase, 'Failed');
    assert.ok(needsWork(edited), 'the edit wakes the controller');
    for (const host of HOSTS.slice(1)) await hostReports(host);
    await h.reconcile('sts-restore');
    const done = await h.get('sts-restore');
    assert.equal(done.status?.phase, 'Succeeded');
    assert.equal(tally(done), 5);
    assert.equal(done.status?.conditions?.find((c) => c.type === 'RestoreCompleted')?.reason, 'AllHostsSucceeded');
  });

  it('a Succeeded session set to Failed, or its status removed: the next reconcile restores the status the hosts and the controller wrote', async () => {
    await running();
    for (const host of HOSTS) await hostReports(host);
    await h.reconcile('sts-restore');
    const done = await h.get('sts-restore');
    assert.equal(done.status?.phase, 'Succeeded');
    assert.ok(!needsWork(done), 'a final session needs nothing');

    const failed = await editStatus((s) => ({ ...s, phase: 'Failed' }));
    assert.ok(needsWork(failed));
    await h.reconcile('sts-restore');
    assert.deepEqual((await h.get('sts-restore')).status, done.status);

    const removed = await editStatus(() => undefined);
    assert.equal(removed.status?.phase, undefined);
    assert.ok(needsWork(removed));
    await h.reconcile('sts-restore');
    assert.deepEqual((await h.get('sts-restore')).status, done.status);

    // A host's result changed by hand is put back too.
    await editStatus((s) => ({ ...s, stats: s.stats!.map((x) => (x.hostname === 'my-sts-2' ? { ...x, phase: 'Failed', error: 'typed by hand' } : x)) }));
    await h.reconcile('sts-restore');
    assert.deepEqual((await h.get('sts-restore')).status, done.status);
  });

  it('a running session whose status is removed keeps the hosts that reported: Running 2/5, then Succeeded once the rest report', async () => {
    await running();
    await hostReports('my-sts-0');
    await hostReports('my-sts-1');
    await h.reconcile('sts-restore');
    await editStatus(() => undefined);
    await h.reconcile('sts-restore');
    const back = await h.get('sts-restore');
    assert.equal(back.status?.phase, 'Running');
    assert.equal(back.status?.totalHosts, 5);
    assert.deepEqual(
      back.status?.stats?.map((s) => `${s.hostname}:${s.phase}`),
      ['my-sts-0:Succeeded', 'my-sts-1:Succeeded'],
    );
    for (const host of HOSTS.slice(2)) await hostReports(host);
    await h.reconcile('sts-restore');
    assert.equal((await h.get('sts-restore')).status?.phase, 'Succeeded');
  });
});
