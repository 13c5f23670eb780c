// The outcome marker (issue 17): a host's final stat, written to disk after restic and before the
// agent tries the API, so that an agent restarted after an API outage (or a kill) between the
// restore and its status write records the outcome instead of restoring again.
//
// Where: the agent's scratch emptyDir, which survives container restarts within the pod (the
// init-container restarted after a crash or after giving up on the API), and the first target
// volume mounted (`target.volumeMounts`), which also survives pod re-creation (a PVC). The volume
// is the user's data, so its marker lives only until the stat is in the API (clearMarker): the
// restored volume ends holding exactly what the snapshot held. One file per place,
// `.restorectl-outcome.json`, overwritten by the next session's restore: a marker of another
// session (another uid, spec or host) is ignored.
// What: the session's namespace, name and uid, a hash of its spec, the host and its final stat
// (phase, duration, snapshot, progress, the already-redacted error). No secret is in it.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { HostRestoreStats, RestoreSession } from '../api/restoresession.ts';
import { errorMessage } from '../common/errors.ts';
import { canonicalJson } from '../common/canonical-json.ts';

export const MARKER_FILE = '.restorectl-outcome.json';
const MARKER_VERSION = 1;

export interface OutcomeMarker {
  version: typeof MARKER_VERSION;
  session: { namespace: string; name: string; uid: string };
  /** sha256 of the session's spec (keys sorted): a marker only counts for the spec it restored. */
  specHash: string;
  /** The session's `restore.gitops/content-id`, when it has one (for a reader). */
  contentId?: string;
  host: string;
  /** The final stat, as it is to be written to status.stats[host]. */
  stat: HostRestoreStats & { phase: 'Succeeded' | 'Failed' };
  recordedAt: string;
}

export function specHash(session: RestoreSession): string {
  return createHash('sha256').update(canonicalJson(session.spec)).digest('hex');
}

/**
 * The folders a marker goes to (and is looked for in), most durable first: the first target
 * volume mount that is a folder under `root`, then the scratch folder.
 */
export function markerDirs(session: RestoreSession, root: string, scratchDir: string): string[] {
  const dirs: string[] = [];
  for (const m of session.spec.target?.volumeMounts ?? []) {
    if (!m.mountPath || m.mountPath === '/') continue;
    const dir = join(root, m.mountPath);
    try {
      if (statSync(dir).isDirectory()) {
        dirs.push(dir);
        break;
      }
    } catch {
      // not mounted here
    }
  }
  if (!dirs.includes(scratchDir)) dirs.push(scratchDir);
  return dirs;
}

export function outcomeMarker(session: RestoreSession, host: string, stat: OutcomeMarker['stat'], now: Date): OutcomeMarker {
  const contentId = session.metadata.annotations?.['restore.gitops/content-id'];
  return {
    version: MARKER_VERSION,
    session: { namespace: session.metadata.namespace ?? 'default', name: session.metadata.name, uid: session.metadata.uid ?? '' },
    specHash: specHash(session),
    ...(contentId ? { contentId } : {}),
    host,
    stat,
    recordedAt: now.toISOString(),
  };
}

export interface MarkerWrite {
  written: string[];
  failed: { dir: string; error: string }[];
}

/** Writes the marker to every dir (a temporary file, fsync, rename: never half a marker). */
export function writeMarker(dirs: readonly string[], marker: OutcomeMarker): MarkerWrite {
  const out: MarkerWrite = { written: [], failed: [] };
  const text = `${JSON.stringify(marker, null, 2)}\n`;
  for (const dir of dirs) {
    const file = join(dir, MARKER_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(dir, { recursive: true });
      const fd = openSync(tmp, 'w', 0o644);
      try {
        writeSync(fd, text);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, file);
      out.written.push(file);
    } catch (e) {
      out.failed.push({ dir, error: errorMessage(e) });
    }
  }
  return out;
}

/** Removes this session's marker for `host` from `dirs` (once its stat is in the API); another session's is left alone. */
export function clearMarker(dirs: readonly string[], session: RestoreSession, host: string): string[] {
  const removed: string[] = [];
  for (const dir of dirs) {
    const m = readMarker([dir], session, host);
    if (!m) continue;
    try {
      unlinkSync(m.file);
      removed.push(m.file);
    } catch {
      // already gone, or read-only: a stale marker is ignored once the stat is final
    }
  }
  return removed;
}

export type MarkerRead = { marker: OutcomeMarker; file: string } | undefined;

/** Why a marker does not count for this session and host, or undefined when it does. */
export function markerMismatch(m: OutcomeMarker, session: RestoreSession, host: string): string | undefined {
  if (m.session.uid !== (session.metadata.uid ?? '')) return `of another session (uid ${m.session.uid})`;
  if (m.session.namespace !== (session.metadata.namespace ?? 'default') || m.session.name !== session.metadata.name)
    return `of RestoreSession ${m.session.namespace}/${m.session.name}`;
  if (m.host !== host) return `of host ${m.host}`;
  if (m.specHash !== specHash(session)) return 'of another spec';
  return undefined;
}

function parseMarker(text: string): OutcomeMarker | undefined {
  const m = JSON.parse(text) as Partial<OutcomeMarker>;
  if (m?.version !== MARKER_VERSION || typeof m.session?.uid !== 'string' || typeof m.host !== 'string' || typeof m.specHash !== 'string') return undefined;
  if (m.stat?.phase !== 'Succeeded' && m.stat?.phase !== 'Failed') return undefined;
  if (m.stat.hostname !== m.host) return undefined;
  return m as OutcomeMarker;
}

/**
 * The first marker in `dirs` that records this session's host, or undefined. Markers of another
 * session, host or spec, and unreadable ones, are passed to `ignored` and skipped.
 */
export function readMarker(
  dirs: readonly string[],
  session: RestoreSession,
  host: string,
  ignored: (file: string, why: string) => void = () => {},
): MarkerRead {
  for (const dir of dirs) {
    const file = join(dir, MARKER_FILE);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // none here
    }
    let marker: OutcomeMarker | undefined;
    try {
      marker = parseMarker(text);
    } catch {
      marker = undefined;
    }
    if (!marker) {
      ignored(file, 'not a marker this agent can read');
      continue;
    }
    const why = markerMismatch(marker, session, host);
    if (why) {
      ignored(file, why);
      continue;
    }
    return { marker, file };
  }
  return undefined;
}
