// The session's record annotation stays within Kubernetes' limits however many hosts a session has
// (issue 17): kube-apiserver refuses an object whose annotations together exceed 256 KiB, and a
// record of every host's whole stat passes that at a few hundred hosts; the controller's record
// write then failed on every reconcile, and hand edits of such a session were never corrected.
// Beyond its bound the record keeps each host's final phase (hostnames as ranges), so a hand edit
// of a phase or a removed status is still corrected and a restarted pod still finds its host done.
// Embedded engine (its pods are not simulated: 3,000 replicas are objects, not processes).
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import type { HostRestoreStats, RestoreSession, RestoreSessionStatus } from '../../src/api/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { updateSessionStatus } from '../../src/kube/status-update.ts';
import { finishedHostStat, withHostStat } from '../../src/session/host-stats.ts';
import { RECORD_ANNOTATION, RECORD_MAX_BYTES, readRecord } from '../../src/session/record.ts';
import { ENGINE } from '../support/sandbox.ts';
import { useSessionSandbox } from './session-sandbox.ts';

const HOSTS = 3000;
const hostname = (i: number) => `host-${i}`;
/** An agent's final stat, as big as a real one (a full snapshot id and time). */
const stat = (i: number, phase: 'Succeeded' | 'Failed' = 'Succeeded'): HostRestoreStats => ({
  hostname: hostname(i),
  phase,
  duration: '12.345s',
  snapshot: i.toString(16).padStart(64, 'a'),
  snapshotTime: '2026-12-01T10:00:00Z',
  ...(phase === 'Failed' ? { error: `restic: host ${i} failed` } : {}),
});

describe(`controller: the record of a session of ${HOSTS} hosts stays within the API's annotation limit`, function () {
  this.timeout(120_000);
  before(function () {
    if (ENGINE !== 'embedded') this.skip(); // 3,000 replicas would be 3,000 pods on the real engine
  });
  const h = useSessionSandbox('record-bound', {}, ENGINE === 'embedded' ? { simulate: false } : {});
  const custom = () => h.t.kc.makeApiClient(k8s.CustomObjectsApi);
  /** Hosts from..to-1 report, in writes of 500 stats (as many agents would, in less time). */
  const report = async (from: number, to: number, phase: (i: number) => 'Succeeded' | 'Failed' = () => 'Succeeded') => {
    for (let start = from; start < to; start += 500)
      await updateSessionStatus(custom(), h.ns, 'many', (s) => {
        let status = s.status;
        for (let i = start; i < Math.min(to, start + 500); i++) status = withHostStat(status, stat(i, phase(i)));
        return status;
      });
  };
  const editStatus = async (edit: (s: RestoreSessionStatus) => RestoreSessionStatus | undefined) => {
    const s = await h.get('many');
    await custom().replaceNamespacedCustomObjectStatus({
      ...RESTORE_SESSIONS,
      namespace: h.ns,
      name: 'many',
      body: { ...s, status: edit(structuredClone(s.status ?? {})) ?? {} },
    });
    return h.get('many');
  };
  const annotationBytes = (s: RestoreSession) =>
    Object.entries(s.metadata.annotations ?? {}).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  const tally = (s: RestoreSession) => {
    const out: Record<string, number> = {};
    for (const x of s.status?.stats ?? []) out[x.phase ?? '?'] = (out[x.phase ?? '?'] ?? 0) + 1;
    return out;
  };
  const running = async () => {
    const sts = (await h.apps.readNamespacedStatefulSet({ namespace: h.ns, name: 'recovered-statefulset' })) as k8s.V1StatefulSet;
    await h.apps.replaceNamespacedStatefulSet({ namespace: h.ns, name: 'recovered-statefulset', body: { ...sts, spec: { ...sts.spec!, replicas: HOSTS } } });
    const s = h.session('sts-restore.yaml', 'many');
    s.spec.target!.alias = 'host';
    delete s.spec.target!.rules;
    await h.apply(s);
    await h.reconcile('many');
    const got = await h.get('many');
    assert.equal(got.status?.phase, 'Running');
    assert.equal(got.status?.totalHosts, HOSTS);
  };

  it('all hosts report: Succeeded, the record fits, and a phase set by hand, a host edited or the status removed are corrected', async () => {
    await running();
    // Through the record's forms as hosts report: whole stats first, each host's phase past the bound.
    await report(0, 200);
    await h.reconcile('many');
    assert.equal(readRecord(await h.get('many')).kept, 'full');
    await report(200, HOSTS);
    await h.reconcile('many');
    const done = await h.get('many');
    assert.equal(done.status?.phase, 'Succeeded');
    assert.deepEqual(tally(done), { Succeeded: HOSTS });
    const record = readRecord(done);
    assert.equal(record.kept, 'phases');
    assert.ok(Buffer.byteLength(done.metadata.annotations![RECORD_ANNOTATION]!) <= RECORD_MAX_BYTES);
    assert.ok(annotationBytes(done) <= 256 * 1024);
    assert.equal(record.final?.phase, 'Succeeded');
    console.log(
      `      ${HOSTS} hosts: status ${Buffer.byteLength(JSON.stringify(done.status))} bytes, record ${Buffer.byteLength(done.metadata.annotations![RECORD_ANNOTATION]!)} bytes (kept: ${record.kept})`,
    );

    // A phase set by hand.
    await editStatus((s) => ({ ...s, phase: 'Failed' }));
    await h.reconcile('many');
    assert.deepEqual((await h.get('many')).status, done.status);

    // A host's result changed by hand: its recorded phase is put back (its other fields are not recorded).
    await editStatus((s) => ({ ...s, stats: s.stats!.map((x) => (x.hostname === 'host-1234' ? { ...x, phase: 'Failed', error: 'typed by hand' } : x)) }));
    await h.reconcile('many');
    const host = (await h.get('many')).status?.stats?.find((x) => x.hostname === 'host-1234');
    assert.equal(host?.phase, 'Succeeded');
    assert.equal(host?.error, undefined);
    assert.equal((await h.get('many')).status?.phase, 'Succeeded');

    // The whole status removed: every host's phase and the final status come back.
    await editStatus(() => undefined);
    await h.reconcile('many');
    const back = await h.get('many');
    assert.equal(back.status?.phase, 'Succeeded');
    assert.deepEqual(tally(back), { Succeeded: HOSTS });
    assert.deepEqual(
      back.status?.conditions?.map((c) => `${c.type}=${c.status}`),
      done.status?.conditions?.map((c) => `${c.type}=${c.status}`),
    );
  });

  it('a running session whose status is removed: every reported host is still done (no pod restores it again), and the session goes on', async () => {
    await running();
    const failing = (i: number) => (i % 1000 === 7 ? 'Failed' : 'Succeeded');
    await report(0, 2500, failing);
    await h.reconcile('many');
    assert.equal(readRecord(await h.get('many')).kept, 'phases');
    const removed = await editStatus(() => undefined);
    // What a restarted agent checks before restoring.
    for (const i of [0, 7, 1499, 2499]) assert.equal(finishedHostStat(removed, hostname(i))?.phase, failing(i), hostname(i));
    assert.equal(finishedHostStat(removed, hostname(2500)), undefined);
    await h.reconcile('many');
    const back = await h.get('many');
    assert.equal(back.status?.phase, 'Running');
    assert.deepEqual(tally(back), { Succeeded: 2497, Failed: 3 });
    await report(2500, HOSTS);
    await h.reconcile('many');
    const done = await h.get('many');
    assert.equal(done.status?.phase, 'Failed');
    assert.deepEqual(tally(done), { Succeeded: HOSTS - 3, Failed: 3 });
    assert.ok(annotationBytes(done) <= 256 * 1024);
  });
});
