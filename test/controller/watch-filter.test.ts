// What a watch event must change before it costs a reconcile, and which sessions it wakes.
import assert from 'node:assert/strict';
import type { RestoreSession } from '../../src/api/index.ts';
import { SessionIndex } from '../../src/controller/session-index.ts';
import { ChangeFilter, SIGNATURES } from '../../src/controller/watch-filter.ts';

const sts = (status: object, generation = 1) => ({ metadata: { uid: 'u1', name: 'db', namespace: 'demo', generation }, spec: { replicas: 3 }, status });
const pod = (state: object, restartCount = 0) => ({
  metadata: { uid: 'p1', name: 'db-0' },
  status: { phase: 'Pending', initContainerStatuses: [{ name: 'stash-init', state, restartCount }] },
});

describe('watch filter', () => {
  it('a StatefulSet rolling its pods (status only) wakes nobody; a new spec does', () => {
    const f = new ChangeFilter(SIGNATURES.workload);
    assert.equal(f.changed(sts({ readyReplicas: 1 })), true, 'first sight');
    assert.equal(f.changed(sts({ readyReplicas: 2, updatedReplicas: 1 })), false);
    assert.equal(f.changed(sts({ readyReplicas: 2 }, 2)), true);
  });

  it('a DaemonSet that gains a node wakes its session (one host more)', () => {
    const f = new ChangeFilter(SIGNATURES.workload);
    f.changed(sts({ desiredNumberScheduled: 2 }));
    assert.equal(f.changed(sts({ desiredNumberScheduled: 3 })), true);
  });

  it('a pod wakes its session when the agent container starts, waits for a new reason, ends or restarts', () => {
    const f = new ChangeFilter(SIGNATURES.pod);
    f.changed(pod({ waiting: { reason: 'PodInitializing' } }));
    assert.equal(f.changed(pod({ waiting: { reason: 'PodInitializing', message: 'still' } })), false);
    assert.equal(f.changed(pod({ waiting: { reason: 'CreateContainerConfigError' } })), true);
    assert.equal(f.changed(pod({ running: {} })), true);
    assert.equal(f.changed(pod({ running: {} }, 1)), true);
  });
});

describe('session index', () => {
  const session = (name: string, repo: string, target: string, repoNs?: string) =>
    ({
      metadata: { name, namespace: 'demo' },
      spec: {
        repository: { name: repo, ...(repoNs ? { namespace: repoNs } : {}) },
        target: { ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: target } },
      },
    }) as unknown as RestoreSession;

  it('maps a Repository or a workload to the sessions that reference it, following changes and deletions', () => {
    const index = new SessionIndex();
    index.upsert(session('a', 'repo', 'db'));
    index.upsert(session('b', 'repo', 'web', 'backups'));
    assert.deepEqual(index.sessionsFor('Repository', 'demo', 'repo'), ['demo/a']);
    assert.deepEqual(index.sessionsFor('Repository', 'backups', 'repo'), ['demo/b']);
    assert.deepEqual(index.sessionsFor('StatefulSet', 'demo', 'web'), ['demo/b']);
    assert.deepEqual(index.sessionsFor('Deployment', 'demo', 'web'), []);
    index.upsert(session('b', 'repo', 'db'));
    assert.deepEqual(index.sessionsFor('StatefulSet', 'demo', 'db').sort(), ['demo/a', 'demo/b']);
    assert.deepEqual(index.sessionsFor('StatefulSet', 'demo', 'web'), []);
    index.remove('demo/a');
    assert.deepEqual(index.sessionsFor('StatefulSet', 'demo', 'db'), ['demo/b']);
    assert.equal(index.size, 1);
  });
});
