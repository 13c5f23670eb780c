// The session record's forms (src/session/record.ts): whole while it fits, each host's phase beyond
// its bound, a summary beyond that; every form reads back to what the controller corrects from.
import assert from 'node:assert/strict';
import type { HostRestoreStats, RestoreSession, RestoreSessionStatus } from '../../src/api/index.ts';
import {
  RECORD_ANNOTATION,
  correctedStatus,
  hostRanges,
  readRecord,
  recordText,
  recordWith,
  statusMatchesRecord,
  trustedPhase,
} from '../../src/session/record.ts';
import { recordedHostStat } from '../../src/session/record.ts';

const spec = {} as RestoreSession['spec'];
const stat = (hostname: string, phase: 'Succeeded' | 'Failed' = 'Succeeded'): HostRestoreStats => ({
  hostname,
  phase,
  duration: '1.5s',
  snapshot: 'f'.repeat(64),
  ...(phase === 'Failed' ? { error: 'restic: boom' } : {}),
});
const finalStatus = (stats: HostRestoreStats[]): RestoreSessionStatus => ({
  phase: stats.some((s) => s.phase === 'Failed') ? 'Failed' : 'Succeeded',
  totalHosts: stats.length,
  sessionDuration: '1m0s',
  conditions: [{ type: 'RestoreCompleted', status: 'True', reason: 'AllHostsSucceeded', message: 'restore Succeeded' }],
  stats,
});
const session = (status: RestoreSessionStatus | undefined, text: string): RestoreSession =>
  ({
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'RestoreSession',
    metadata: { name: 's', namespace: 'n', annotations: { [RECORD_ANNOTATION]: text } },
    spec,
    ...(status ? { status } : {}),
  }) as RestoreSession;
const recorded = (status: RestoreSessionStatus, maxBytes?: number) => recordText(recordWith(readRecord(session(undefined, '')), status, spec), maxBytes);

describe('session record', () => {
  it('writes hostnames that end in consecutive numbers as ranges, sorted, and only those', () => {
    assert.deepEqual(hostRanges(['db-2', 'db-0', 'db-1', 'app', 'db-4', 'db-05', 'x-9', 'x-10', 'x-11', 'db-3']), [
      'app',
      ['db-', 0, 4],
      'db-05',
      ['x-', 9, 11],
    ]);
    assert.deepEqual(hostRanges(['a-1', 'a-3']), ['a-1', 'a-3']);
  });

  it('keeps a final status whole while it fits, its stats once (not again beside it)', () => {
    const status = finalStatus([stat('app-0'), stat('app-1', 'Failed')]);
    const text = recorded(status);
    assert.equal(text.split('"snapshot"').length - 1, 2, text);
    const record = readRecord(session(status, text));
    assert.equal(record.kept, 'full');
    assert.deepEqual(record.final, status);
    assert.deepEqual(correctedStatus(undefined, record, spec), status);
    assert.deepEqual(recordedHostStat(session(undefined, text), 'app-1'), status.stats![1]);
  });

  it('reads the older form (stats beside the final status) as before', () => {
    const status = finalStatus([stat('app-0')]);
    const old = JSON.stringify({ stats: status.stats, conditions: [], final: status });
    assert.ok(statusMatchesRecord(session(status, old)));
    assert.deepEqual(correctedStatus({ ...status, phase: 'Failed' }, readRecord(session(status, old)), spec), status);
  });

  it("beyond the bound keeps each host's phase: a phase edited by hand is put back, the host's other fields are kept as the status has them", () => {
    const stats = Array.from({ length: 5000 }, (_, i) => stat(`host-${i}`, i === 42 ? 'Failed' : 'Succeeded'));
    const status = finalStatus(stats);
    const text = recorded(status);
    assert.ok(text.length < 1000, `${text.length} bytes`);
    const s = session(status, text);
    const record = readRecord(s);
    assert.equal(record.kept, 'phases');
    assert.equal(record.stats.length, 5000);
    assert.ok(statusMatchesRecord(s), 'the status as written matches its compact record');
    assert.equal(recordedHostStat(session(undefined, text), 'host-42')?.phase, 'Failed');
    assert.equal(recordedHostStat(session(undefined, text), 'host-4999')?.phase, 'Succeeded');
    const edited = { ...status, phase: 'Succeeded' as const, stats: stats.map((x) => (x.hostname === 'host-42' ? { ...x, phase: 'Succeeded' as const } : x)) };
    const corrected = correctedStatus(edited, record, spec);
    assert.equal(corrected.phase, 'Failed');
    assert.deepEqual(corrected.stats![42], { hostname: 'host-42', phase: 'Failed' });
    assert.deepEqual(corrected.stats![41], stats[41], 'a host whose phase is right keeps its whole stat');
    assert.deepEqual(correctedStatus(corrected, record, spec), corrected, 'correcting twice changes nothing');
    // The text is the same however the hosts are ordered (no rewrite of the annotation for nothing).
    assert.equal(recordText(readRecord(s)), text);
  });

  it('beyond even that keeps the final status without hosts: a final phase set by hand still reads as what the controller wrote', () => {
    const stats = Array.from({ length: 20_000 }, (_, i) => stat(`${(i * 2654435761) % 4294967296}-db`));
    const status = finalStatus(stats);
    const text = recorded(status, 64 * 1024);
    assert.ok(text.length <= 64 * 1024);
    const record = readRecord(session(status, text));
    assert.equal(record.kept, 'summary');
    assert.deepEqual(record.stats, []);
    assert.equal(trustedPhase(session({ ...status, phase: 'Failed' }, text)), 'Succeeded');
    assert.ok(statusMatchesRecord(session(status, text)));
    // A summary stays one: hosts reporting later do not grow it.
    assert.equal(recordText(recordWith(record, status, spec), 64 * 1024), text);
  });

  it('a hostile range in an annotation is not expanded without bound', () => {
    const text = JSON.stringify({ kept: 'phases', hosts: { Succeeded: [['h-', 0, 1e12], 'ok'] }, conditions: [] });
    assert.deepEqual(
      readRecord(session(undefined, text)).stats.map((s) => s.hostname),
      ['ok'],
    );
  });
});
