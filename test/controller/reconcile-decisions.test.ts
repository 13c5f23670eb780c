// The reconcile's pure decisions: the ValidationPassed condition, the Repository/Secret
// conditions, when to look again, and what a phase change says. No API server.
import assert from 'node:assert/strict';
import type { Repository } from '../../src/api/repository.ts';
import type { RestoreSession } from '../../src/api/restoresession.ts';
import { dependencyConditions, phaseChange, requeueAfter, validationCondition } from '../../src/controller/reconcile.ts';

const session = (spec: Partial<RestoreSession['spec']> = {}, status?: RestoreSession['status']): RestoreSession => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: { name: 's', namespace: 'demo' },
  spec: { repository: { name: 'r' }, target: { ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' }, rules: [{ paths: ['/data'] }] }, ...spec },
  ...(status ? { status } : {}),
});
const repository = {
  apiVersion: 'stash.appscode.com/v1alpha1',
  kind: 'Repository',
  metadata: { name: 'r', namespace: 'demo' },
  spec: { backend: { storageSecretName: 'sec', local: { mountPath: '/r' } } },
} as Repository;
const ref = { namespace: 'demo', name: 'r' };

describe('reconcile: validation', () => {
  it('a valid session passes; an invalid one fails naming each path', () => {
    assert.equal(validationCondition(session()).status, 'True');
    const bad = validationCondition(
      session({ target: { ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'db' }, rules: [{ paths: ['/a'] }, { paths: ['/b'] }] } }),
    );
    assert.equal(bad.status, 'False');
    assert.equal(bad.reason, 'ValidationFailed');
    assert.match(bad.message, /^spec\.target\.rules\[1\]/);
  });
});

describe('reconcile: the Repository and its Secret', () => {
  it('a Repository outside the controller’s namespace is not found, saying how to fix it', () => {
    const [c, ...rest] = dependencyConditions({ ref: { namespace: 'other', name: 'r' }, outsideNamespace: 'demo', secretName: '', secretFound: false });
    assert.deepEqual(rest, []);
    assert.equal(c!.status, 'False');
    assert.match(c!.message, /Repository other\/r is outside namespace demo.*run the controller cluster-wide/);
  });
  it('a missing Repository, a missing or unnamed Secret, and both found', () => {
    assert.deepEqual(
      dependencyConditions({ ref, secretName: '', secretFound: false }).map((c) => [c.type, c.status, c.message]),
      [['RepositoryFound', 'False', 'Repository demo/r does not exist']],
    );
    assert.deepEqual(
      dependencyConditions({ ref, repository, secretName: '', secretFound: false }).map((c) => [c.type, c.status, c.message]),
      [
        ['RepositoryFound', 'True', 'Repository demo/r found'],
        ['BackendSecretFound', 'False', 'Secret demo/(storageSecretName not set) does not exist'],
      ],
    );
    assert.deepEqual(
      dependencyConditions({ ref, repository, secretName: 'sec', secretFound: false }).map((c) => c.message),
      ['Repository demo/r found', 'Secret demo/sec does not exist'],
    );
    assert.deepEqual(
      dependencyConditions({ ref, repository, secretName: 'sec', secretFound: true }).map((c) => [c.type, c.status, c.reason]),
      [
        ['RepositoryFound', 'True', 'RepositoryAvailable'],
        ['BackendSecretFound', 'True', 'BackendSecretAvailable'],
      ],
    );
  });
});

describe('reconcile: when to look again', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  it('polls while the target exists, waits longer while it does not, and comes back right after the deadline', () => {
    assert.equal(requeueAfter(true, {}, undefined, now), 2000);
    assert.equal(requeueAfter(false, {}, undefined, now), 5000);
    assert.equal(requeueAfter(true, { pollMs: 50 }, undefined, now), 50);
    assert.equal(requeueAfter(false, { waitMs: 700 }, new Date(now.getTime() + 300), now), 350);
    assert.equal(requeueAfter(true, {}, new Date(now.getTime() - 1000), now), 50);
  });
});

describe('reconcile: a phase change', () => {
  it('is nothing when the phase stayed, Normal on the way, Warning with the reasons when it failed', () => {
    assert.equal(phaseChange('Running', session({}, { phase: 'Running' })), undefined);
    assert.deepEqual(phaseChange(undefined, session({}, { phase: 'Running', totalHosts: 3, stats: [{ hostname: 'a', phase: 'Succeeded' }] })), {
      type: 'Normal',
      reason: 'RestoreSession Running',
      message: 'New → Running (1/3 hosts succeeded)',
      line: 'New → Running (1/3 hosts succeeded)',
    });
    const failed = phaseChange(
      'Running',
      session(
        {},
        {
          phase: 'Failed',
          conditions: [
            { type: 'DeadlineExceeded', status: 'True', message: 'timeOut 2s passed' },
            { type: 'RepositoryFound', status: 'True', message: 'found' },
          ],
        },
      ),
    );
    assert.deepEqual(failed, { type: 'Warning', reason: 'RestoreSession Failed', message: 'Running → Failed: timeOut 2s passed', line: 'Running → Failed' });
  });
});
