// Which snapshot each restore step of a host is pinned to before restic runs: the annotation the
// daemon writes, else the host's recorded Running stat, else nothing (the restorer pins). Pure.
import assert from 'node:assert/strict';
import type { RestoreSession } from '../../src/api/index.ts';
import { SNAPSHOTS_ANNOTATION } from '../../src/api/meta.ts';
import { formatSnapshotPins, parseSnapshotPins } from '../../src/api/snapshot-pins.ts';
import { pinsForHost, stepRequests } from '../../src/agent/pins.ts';
import { snapshotFields } from '../../src/agent/restore.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const session = (annotations: Record<string, string> = {}, status: RestoreSession['status'] = {}): RestoreSession => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: { name: 's', namespace: 'demo', annotations },
  spec: { repository: { name: 'r' } },
  status,
});
const paths = { paths: ['/data', '/logs'] };

describe('agent: pinned snapshots', () => {
  it('the annotation round-trips, hosts sorted, and refuses what is not a pin', () => {
    const text = formatSnapshotPins({ b: [{ requested: 'latest', path: '/data', id: A, time: '2024-01-01T00:00:00Z' }], a: [{ requested: B, id: B }] });
    assert.equal(text, `{"a":[{"requested":"${B}","id":"${B}"}],"b":[{"requested":"latest","path":"/data","id":"${A}","time":"2024-01-01T00:00:00Z"}]}`);
    assert.deepEqual(parseSnapshotPins(text), {
      pins: { a: [{ requested: B, id: B }], b: [{ requested: 'latest', path: '/data', id: A, time: '2024-01-01T00:00:00Z' }] },
    });
    assert.match((parseSnapshotPins('{"a":') as { error: string }).error, /^not JSON/);
    assert.deepEqual(parseSnapshotPins('{"a":[{"requested":"latest","id":"latest"}]}'), { error: 'host a step 0: needs "requested" and a hex "id"' });
  });

  it('steps are each id of snapshots, or latest per path, in rule order', () => {
    assert.deepEqual(stepRequests(paths), [
      { requested: 'latest', path: '/data' },
      { requested: 'latest', path: '/logs' },
    ]);
    assert.deepEqual(stepRequests({ snapshots: [A, 'latest'] }), [{ requested: A }, { requested: 'latest' }]);
  });

  it("the daemon's annotation wins over a recorded stat; a host it does not name falls back", () => {
    const pins = formatSnapshotPins({
      app: [
        { requested: 'latest', path: '/data', id: A, time: 't1' },
        { requested: 'latest', path: '/logs', id: B },
      ],
    });
    const recorded = { stats: [{ hostname: 'app', phase: 'Running' as const, snapshot: `${B},${B}` }] };
    assert.deepEqual(pinsForHost(session({ [SNAPSHOTS_ANNOTATION]: pins }, recorded), 'app', paths), [
      { id: A, time: 't1', by: 'daemon' },
      { id: B, by: 'daemon' },
    ]);
    assert.deepEqual(pinsForHost(session({ [SNAPSHOTS_ANNOTATION]: pins }), 'other', paths), undefined);
  });

  it('a restarted pod takes the ids its Running stat recorded; a final or mismatched stat pins nothing', () => {
    const stat = (phase: 'Running' | 'Failed', snapshot: string, snapshotTime?: string) => ({
      stats: [{ hostname: 'app', phase, snapshot, ...(snapshotTime ? { snapshotTime } : {}) }],
    });
    assert.deepEqual(pinsForHost(session({}, stat('Running', `${A},${B}`, 't1,t2')), 'app', paths), [
      { id: A, time: 't1', by: 'agent' },
      { id: B, time: 't2', by: 'agent' },
    ]);
    assert.equal(pinsForHost(session({}, stat('Running', A)), 'app', paths), undefined, 'one id for two steps');
    assert.equal(pinsForHost(session({}, stat('Failed', `${A},${B}`)), 'app', paths), undefined);
  });

  it('an annotation that cannot be read or does not fit the rule is an error naming it, never a silent re-resolve', () => {
    assert.throws(() => pinsForHost(session({ [SNAPSHOTS_ANNOTATION]: 'nope' }), 'app', paths), {
      code: 'SnapshotPinInvalid',
      message: /RestoreSession demo\/s: annotation restore\.gitops\/snapshots cannot be read: not JSON/,
    });
    const wrongPath = formatSnapshotPins({
      app: [
        { requested: 'latest', path: '/data', id: A },
        { requested: 'latest', path: '/other', id: B },
      ],
    });
    assert.throws(() => pinsForHost(session({ [SNAPSHOTS_ANNOTATION]: wrongPath }), 'app', paths), {
      code: 'SnapshotPinInvalid',
      message: /pins host app to 2 step\(s\) that are not its rule's 2/,
    });
  });

  it('the stat fields join ids and times in step order, and leave the time out when none is known', () => {
    assert.deepEqual(snapshotFields([{ id: A, time: 't1' }, { id: B }]), { snapshot: `${A},${B}`, snapshotTime: 't1,' });
    assert.deepEqual(snapshotFields([{ id: A }]), { snapshot: A });
    assert.deepEqual(snapshotFields([]), {});
  });
});
