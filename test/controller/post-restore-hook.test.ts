// A postRestore hook runs in the agent of the host that completes the set. When that agent is gone
// without running it (or after claiming it, without a result), no one ever will: the session ends
// with the hook marked not run and why (issue 18 §1), instead of Running for ever.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import type { RestoreSessionStatus } from '../../src/api/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { eventually } from '../support/sandbox.ts';
import { useSessionSandbox } from './session-sandbox.ts';

describe('controller: a postRestore hook whose agent is gone', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('post-hook', { orphanedHookAfterMs: 0 });

  /** A one-host restore Job with a postRestore hook, its pod finished; then `status` written as its agent left it. */
  const agentGone = async (name: string, status: (s: RestoreSessionStatus) => RestoreSessionStatus) => {
    const s = h.session('pvc-restore.yaml', name);
    s.spec.target!.replicas = 1;
    s.spec.hooks = { postRestore: { exec: { command: ['/bin/sh', '-c', 'echo done'] } } };
    await h.apply(s);
    await h.reconcile(name);
    // The Job's pod runs (a simulated container: no agent writes anything) and ends.
    await eventually(async () => (await h.batch.readNamespacedJob({ namespace: h.ns, name: `stash-restore-${name}-0` })).status?.succeeded === 1, 30_000);
    const live = await h.get(name);
    await h.t.kc
      .makeApiClient(k8s.CustomObjectsApi)
      .replaceNamespacedCustomObjectStatus({ ...RESTORE_SESSIONS, namespace: h.ns, name, body: { ...live, status: status(live.status!) } });
  };

  it('fails, the hook marked not run, when the last host reported and its agent ended without running the hook', async () => {
    await agentGone('never-ran', (st) => ({ ...st, stats: [{ hostname: 'host-0', phase: 'Succeeded', duration: '1s' }] }));
    await h.reconcile('never-ran');
    const s = await h.get('never-ran');
    assert.equal(s.status?.phase, 'Failed');
    const post = h.condition(s, 'PostRestoreHookExecutionSucceeded');
    assert.equal(post?.status, 'False');
    assert.equal(post?.reason, 'HookNotExecuted');
    assert.match(post!.message!, /postRestore hook was not run: every host reported, but no restore agent of this session is left to run it/);
    assert.ok((await h.events('never-ran')).some((e) => e.type === 'Warning' && /postRestore hook was not run/.test(e.message ?? '')));
  });

  it('fails, the hook marked not run to the end, when the host that claimed the hook is gone without a result', async () => {
    const claimed = {
      type: 'PostRestoreHookExecutionSucceeded',
      status: 'Unknown' as const,
      reason: 'HookRunning',
      message: 'running on host host-0',
      lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    };
    await agentGone('claimed', (st) => ({
      ...st,
      stats: [{ hostname: 'host-0', phase: 'Succeeded', duration: '1s' }],
      conditions: [...(st.conditions ?? []), claimed],
    }));
    await h.reconcile('claimed');
    const s = await h.get('claimed');
    assert.equal(s.status?.phase, 'Failed');
    const post = h.condition(s, 'PostRestoreHookExecutionSucceeded');
    assert.equal(post?.status, 'False');
    assert.equal(post?.reason, 'HookNotExecuted');
    assert.match(post!.message!, /postRestore hook did not finish: it was running on host host-0, whose restore agent is gone without its result/);
  });
});
