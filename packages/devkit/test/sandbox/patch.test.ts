// Pure pieces of the sandbox API: patch formats, selectors, field ownership.
import assert from 'node:assert/strict';
import { jsonPatch, mergePatch, strategicMerge } from '../../src/sandbox/patch.ts';
import { fieldMatcher, labelMatcher } from '../../src/sandbox/selectors.ts';
import { serverSideApply } from '../../src/sandbox/ssa.ts';
import type { Obj } from '../../src/sandbox/store.ts';

const obj = (labels: Record<string, string>, extra: Record<string, unknown> = {}): Obj => ({ metadata: { name: 'x', labels }, ...extra });

describe('sandbox patches', () => {
  it('merge patch: null deletes, objects merge, lists replace', () => {
    assert.deepEqual(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { a: null, b: { c: 9 }, l: [3] }), { b: { c: 9, d: 3 }, l: [3] });
  });

  it('JSON patch: add, replace, remove, move, test', () => {
    const out = jsonPatch({ a: [1, 2], b: { c: 1 } }, [
      { op: 'add', path: '/a/-', value: 3 },
      { op: 'replace', path: '/b/c', value: 2 },
      { op: 'move', from: '/b/c', path: '/d' },
      { op: 'test', path: '/d', value: 2 },
      { op: 'remove', path: '/a/0' },
    ]);
    assert.deepEqual(out, { a: [2, 3], b: {}, d: 2 });
    assert.throws(() => jsonPatch({}, [{ op: 'remove', path: '/nope' }]), /nonexistent/);
  });

  it('strategic merge: containers and env by name, volumeMounts by mountPath, $patch: delete', () => {
    const base = {
      spec: {
        containers: [
          { name: 'a', image: 'x:1', env: [{ name: 'A', value: '1' }], volumeMounts: [{ name: 'v', mountPath: '/d' }] },
          { name: 'b', image: 'y:1' },
        ],
      },
    };
    const out = strategicMerge(base, {
      spec: {
        containers: [
          { name: 'a', env: [{ name: 'B', value: '2' }], volumeMounts: [{ name: 'w', mountPath: '/d' }] },
          { name: 'b', $patch: 'delete' },
          { name: 'c', image: 'z:1' },
        ],
      },
    });
    assert.deepEqual(out, {
      spec: {
        containers: [
          {
            name: 'a',
            image: 'x:1',
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            volumeMounts: [{ name: 'w', mountPath: '/d' }],
          },
          { name: 'c', image: 'z:1' },
        ],
      },
    });
    assert.deepEqual(strategicMerge({ metadata: { finalizers: ['a'] } }, { metadata: { finalizers: ['b'] } }), { metadata: { finalizers: ['a', 'b'] } });
    assert.deepEqual(strategicMerge({ args: ['a', 'b'] }, { args: ['c'] }), { args: ['c'] });
  });
});

describe('sandbox selectors', () => {
  it('label selectors: =, !=, in, notin, exists, !exists', () => {
    const o = obj({ app: 'web', tier: 'front' });
    for (const [sel, want] of [
      ['app=web', true],
      ['app==web,tier=back', false],
      ['app!=db', true],
      ['tier in (front,back)', true],
      ['tier notin (front)', false],
      ['app', true],
      ['!legacy', true],
      ['!app', false],
    ] as const) {
      assert.equal(labelMatcher(sel)(o), want, sel);
    }
    assert.throws(() => labelMatcher('a in b'), /unable to parse/);
  });

  it('field selectors on dotted paths', () => {
    const pod = obj({}, { metadata: { name: 'p', namespace: 'n' }, status: { phase: 'Running' } });
    assert.equal(fieldMatcher('metadata.name=p,status.phase!=Failed')(pod), true);
    assert.equal(fieldMatcher('status.phase=Pending')(pod), false);
  });
});

describe('sandbox server-side apply', () => {
  it('removes what the applier no longer sets, keeps what others own, and reports conflicts', () => {
    const live = serverSideApply({ metadata: { name: 'c' } }, { metadata: { name: 'c' }, data: { a: '1', b: '2' } } as Obj, 'one', false, 'v1', 't1');
    const dropped = serverSideApply(live, { metadata: { name: 'c' }, data: { a: '1' } } as Obj, 'one', false, 'v1', 't2');
    assert.deepEqual(dropped.data, { a: '1' });
    assert.throws(() => serverSideApply(dropped, { metadata: { name: 'c' }, data: { a: '2' } } as Obj, 'two', false, 'v1', 't3'), /conflict with "one"/);
    const shared = serverSideApply(dropped, { metadata: { name: 'c' }, data: { a: '1', z: '9' } } as Obj, 'two', false, 'v1', 't3');
    const oneLeaves = serverSideApply(shared, { metadata: { name: 'c' } } as Obj, 'one', false, 'v1', 't4');
    assert.deepEqual(oneLeaves.data, { a: '1', z: '9' }, '"two" still owns data.a');
  });
});
