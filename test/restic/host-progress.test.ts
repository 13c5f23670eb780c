// The host restorer's pure parts: progress summed over steps, a running step's bytes bounded by
// its total, the error a failed step stops the host with, and the backend's connection flags.
import assert from 'node:assert/strict';
import { connectionArgs } from '../../src/restic/backend.ts';
import { boundedStepBytes, hostProgress, restoreInput, stepFailure } from '../../src/restic/host-restorer.ts';
import { isResticError } from '../../src/restic/errors.ts';

describe('restic host restorer: progress over steps', () => {
  it('carries totals only once every step is measured, and never with mode none', () => {
    assert.deepEqual(hostProgress([{ bytes: 10, files: 1 }, undefined], 'filtered', 4, 0), { bytesDone: 4 });
    assert.deepEqual(
      hostProgress(
        [
          { bytes: 10, files: 1 },
          { bytes: 5, files: 2 },
        ],
        'none',
        4,
        0,
      ),
      { bytesDone: 4 },
    );
    assert.deepEqual(
      hostProgress(
        [
          { bytes: 10, files: 1 },
          { bytes: 5, files: 2 },
        ],
        'filtered',
        4,
        1,
      ),
      { bytesDone: 4, bytesTotal: 15, filesDone: 1, filesTotal: 3 },
    );
  });
  it('clamps bytesDone to the total and leaves filesDone out when unknown', () => {
    assert.deepEqual(hostProgress([{ bytes: 10, files: 1 }], 'stats', 99, undefined), { bytesDone: 10, bytesTotal: 10, filesTotal: 1 });
  });
  it('with no steps the totals are zero', () => {
    assert.deepEqual(hostProgress([], 'filtered', 0, 0), { bytesDone: 0, bytesTotal: 0, filesDone: 0, filesTotal: 0 });
  });
  it("a running step's written bytes count only once its total is known, and at most that", () => {
    assert.equal(boundedStepBytes(500, undefined), 0);
    assert.equal(boundedStepBytes(500, { bytes: 200, files: 1 }), 200);
    assert.equal(boundedStepBytes(50, { bytes: 200, files: 1 }), 50);
    assert.equal(boundedStepBytes(undefined, { bytes: 200, files: 1 }), 0);
  });
});

describe('restic host restorer: a step that did not succeed stops the host', () => {
  const snapshot = '0123456789abcdef';
  it('Interrupted and Failed become ResticErrors naming the snapshot; Succeeded is no error', () => {
    const i = stepFailure({ outcome: 'Interrupted' }, { snapshot });
    assert.ok(isResticError(i, 'Interrupted') && i.message === 'interrupted' && i.data.snapshot === snapshot);
    const f = stepFailure({ outcome: 'Failed', error: 'Fatal: wrong password', exitCode: 1 }, { snapshot });
    assert.ok(isResticError(f, 'ResticFailed'));
    assert.equal(f.message, 'snapshot 01234567: Fatal: wrong password');
    assert.deepEqual(f.data, { snapshot, exitCode: 1 });
    assert.equal(stepFailure({ outcome: 'Failed' }, { snapshot })?.message, 'snapshot 01234567: restic restore failed');
    assert.equal(stepFailure({ outcome: 'Succeeded' }, { snapshot }), undefined);
  });
  it('the host plan becomes the command builder’s input, with the session’s extra args', () => {
    const input = restoreInput({
      session: { apiVersion: 'stash.appscode.com/v1beta1', kind: 'RestoreSession', metadata: { name: 's' }, spec: { target: { args: ['--verify'] } } } as never,
      plan: { host: 'h-3', sourceHost: 'h-1', paths: ['/data'], include: ['*.json'], restores: true },
      root: '/pod',
    });
    assert.deepEqual(input, {
      host: 'h-3',
      rule: { sourceHost: 'h-1', snapshots: undefined, paths: ['/data'], include: ['*.json'], exclude: undefined },
      target: '/pod',
      args: ['--verify'],
    });
  });
});

describe('restic backend: connections', () => {
  it('a positive maxConnections becomes --option <backend>.connections=N (gs for gcs), anything else nothing', () => {
    assert.deepEqual(connectionArgs('gcs', 4), ['--option', 'gs.connections=4']);
    assert.deepEqual(connectionArgs('b2', 2.7), ['--option', 'b2.connections=2']);
    assert.deepEqual(connectionArgs('azure', 0), []);
    assert.deepEqual(connectionArgs('s3', undefined), []);
  });
});
