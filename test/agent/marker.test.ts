// The outcome marker (issue 17): written before the agent tries the API, read back by a restarted
// agent; a marker of another session, host or spec is ignored; no secret is in it. And how long
// the agent's outcome writes retry: the session's deadline or the cap.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MARKER_FILE, clearMarker, markerDirs, outcomeMarker, readMarker, specHash, writeMarker } from '../../src/agent/marker.ts';
import { apiRetryCapMs, retryDeadline, sessionDeadlineMs } from '../../src/agent/restore.ts';
import type { RestoreSession } from '../../src/api/index.ts';

const session = (over: { uid?: string; name?: string; paths?: string[]; status?: RestoreSession['status']; timeOut?: string } = {}): RestoreSession => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: {
    name: over.name ?? 'app-restore',
    namespace: 'demo',
    uid: over.uid ?? 'uid-1',
    creationTimestamp: '2026-01-01T12:00:00Z',
    annotations: { 'restore.gitops/content-id': 'c0ffee' },
  },
  spec: {
    repository: { name: 'repo' },
    target: {
      alias: 'app',
      ref: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'app' },
      volumeMounts: [{ name: 'data', mountPath: '/source/data' }],
      rules: [{ paths: over.paths ?? ['/source/data'] }],
    },
    ...(over.timeOut ? { timeOut: over.timeOut } : {}),
  },
  ...(over.status ? { status: over.status } : {}),
});
const STAT = { hostname: 'app', phase: 'Succeeded' as const, duration: '3s', snapshot: 'abc123', progress: { bytesDone: 10, bytesTotal: 10 } };
const NOW = new Date('2026-01-01T12:05:00Z');

describe('agent: the outcome marker', () => {
  let dir: string;
  let root: string;
  let scratch: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'marker-test-'));
    root = join(dir, 'root');
    scratch = join(root, 'tmp');
    mkdirSync(join(root, 'source', 'data'), { recursive: true });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('goes to the target volume (it survives pod re-creation) and the scratch folder (container restarts)', () => {
    assert.deepEqual(markerDirs(session(), root, scratch), [join(root, 'source/data'), scratch]);
    rmSync(join(root, 'source'), { recursive: true });
    assert.deepEqual(markerDirs(session(), root, scratch), [scratch], 'a volume that is not mounted here is skipped');
  });

  it('is written whole and read back for the same session and host', () => {
    const dirs = markerDirs(session(), root, scratch);
    const m = outcomeMarker(session(), 'app', STAT, NOW);
    const w = writeMarker(dirs, m);
    assert.deepEqual(
      w.written,
      dirs.map((d) => join(d, MARKER_FILE)),
    );
    assert.deepEqual(w.failed, []);
    const got = readMarker(dirs, session(), 'app');
    assert.deepEqual(got?.marker, m);
    assert.equal(got?.file, join(root, 'source/data', MARKER_FILE));
    assert.deepEqual(m.session, { namespace: 'demo', name: 'app-restore', uid: 'uid-1' });
    assert.equal(m.contentId, 'c0ffee');
    assert.equal(m.specHash, specHash(session()));
    // from the scratch folder alone, as after a pod re-created without the volume's marker
    rmSync(join(root, 'source/data', MARKER_FILE));
    assert.equal(readMarker(dirs, session(), 'app')?.file, join(scratch, MARKER_FILE));
  });

  it('of another session (another uid), another host or another spec is ignored, and said so', () => {
    const dirs = markerDirs(session(), root, scratch);
    writeMarker(dirs, outcomeMarker(session({ uid: 'uid-old' }), 'app', STAT, NOW));
    const ignored: string[] = [];
    assert.equal(
      readMarker(dirs, session(), 'app', (_f, why) => ignored.push(why)),
      undefined,
    );
    assert.deepEqual(ignored, ['of another session (uid uid-old)', 'of another session (uid uid-old)']);
    writeMarker(dirs, outcomeMarker(session(), 'app', STAT, NOW));
    assert.equal(readMarker(dirs, session(), 'app-2'), undefined, 'another host');
    assert.equal(readMarker(dirs, session({ paths: ['/elsewhere'] }), 'app'), undefined, 'another spec');
    assert.ok(readMarker(dirs, session(), 'app'));
  });

  it('a torn or foreign file is not a marker', () => {
    const dirs = markerDirs(session(), root, scratch);
    mkdirSync(scratch, { recursive: true });
    writeFileSync(join(dirs[0]!, MARKER_FILE), '{"version":1,"session":');
    writeFileSync(join(scratch, MARKER_FILE), JSON.stringify({ ...outcomeMarker(session(), 'app', STAT, NOW), stat: { hostname: 'app', phase: 'Running' } }));
    const ignored: string[] = [];
    assert.equal(
      readMarker(dirs, session(), 'app', (_f, why) => ignored.push(why)),
      undefined,
    );
    assert.equal(ignored.length, 2);
  });

  it('holds no secret: only the session identity, spec hash, host and the (already redacted) stat', () => {
    const s = session();
    s.spec.runtimeSettings = { container: { env: [{ name: 'DB_PASSWORD', value: 'hunter2-secret' }] } };
    const dirs = markerDirs(s, root, scratch);
    writeMarker(dirs, outcomeMarker(s, 'app', { hostname: 'app', phase: 'Failed', duration: '1s', error: 'wrong password' }, NOW));
    const text = readFileSync(join(dirs[0]!, MARKER_FILE), 'utf8');
    assert.ok(!text.includes('hunter2-secret'));
    assert.deepEqual(Object.keys(JSON.parse(text)).sort(), ['contentId', 'host', 'recordedAt', 'session', 'specHash', 'stat', 'version']);
  });

  it("is cleared from the target volume once recorded: this session's only, another session's is left", () => {
    const dirs = markerDirs(session(), root, scratch);
    writeMarker(dirs, outcomeMarker(session(), 'app', STAT, NOW));
    assert.deepEqual(clearMarker([dirs[0]!], session(), 'app'), [join(dirs[0]!, MARKER_FILE)]);
    assert.ok(!existsSync(join(dirs[0]!, MARKER_FILE)));
    assert.ok(existsSync(join(scratch, MARKER_FILE)), 'the scratch marker stays');
    writeMarker([dirs[0]!], outcomeMarker(session({ uid: 'uid-other' }), 'app', STAT, NOW));
    assert.deepEqual(clearMarker([dirs[0]!], session(), 'app'), []);
    assert.ok(existsSync(join(dirs[0]!, MARKER_FILE)));
  });

  it('a folder that cannot be written is reported, the others still get the marker', () => {
    writeFileSync(join(dir, 'file'), '');
    const w = writeMarker([join(dir, 'file', 'sub'), scratch], outcomeMarker(session(), 'app', STAT, NOW));
    assert.equal(w.failed.length, 1);
    assert.deepEqual(w.written, [join(scratch, MARKER_FILE)]);
  });
});

describe('agent: how long outcome writes retry', () => {
  const now = NOW.getTime();
  it('until the session deadline, capped, and never less than 30 s', () => {
    const cap = 10 * 60_000;
    assert.equal(retryDeadline(session(), now, cap), now + cap, 'no deadline: the cap');
    assert.equal(retryDeadline(session({ status: { sessionDeadline: '2026-01-01T12:07:00Z' } }), now, cap), Date.parse('2026-01-01T12:07:00Z'));
    assert.equal(retryDeadline(session({ status: { sessionDeadline: '2026-01-01T14:00:00Z' } }), now, cap), now + cap);
    assert.equal(retryDeadline(session({ status: { sessionDeadline: '2026-01-01T12:00:00Z' } }), now, cap), now + 30_000, 'past the deadline: a short window');
    assert.equal(sessionDeadlineMs(session({ timeOut: '30m' })), Date.parse('2026-01-01T12:30:00Z'), 'timeOut from creation when status has no deadline');
    assert.equal(retryDeadline(session({ timeOut: '6m' }), now, cap), Date.parse('2026-01-01T12:06:00Z'));
  });

  it('the cap: the option, else RESTORECTL_API_RETRY_SECONDS, else 10 minutes', () => {
    assert.equal(apiRetryCapMs({ env: {} }), 600_000);
    assert.equal(apiRetryCapMs({ env: { RESTORECTL_API_RETRY_SECONDS: '5' } }), 5000);
    assert.equal(apiRetryCapMs({ env: { RESTORECTL_API_RETRY_SECONDS: 'soon' } }), 600_000);
    assert.equal(apiRetryCapMs({ env: { RESTORECTL_API_RETRY_SECONDS: '5' }, apiRetryCapMs: 1 }), 1);
  });
});
