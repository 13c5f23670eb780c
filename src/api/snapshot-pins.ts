// The `restore.gitops/snapshots` annotation (DESIGN §5 style): the concrete snapshot each host of
// a RestoreSession restores, pinned by the daemon when it accepted the execution, so what was
// reviewed is what runs. The agent restores exactly these ids and never resolves `latest` again.
// Stash's own `rules[].snapshots` are left as written: a Stash manifest stays unchanged.
//
// The value is JSON, one entry per host, one element per restore step in rule order (each id of
// `snapshots`, or `latest` per path):
//   {"my-sts-0":[{"requested":"latest","path":"/source/data","id":"1a2b…","time":"2024-02-01T00:00:00Z"}]}
// Pure.

/** One restore step's pin. */
export interface AnnotatedPin {
  /** What the rule asks for: `latest`, or the id it names. */
  requested: string;
  /** The snapshot path `latest` is chosen for (paths rules). */
  path?: string;
  /** The full snapshot id. */
  id: string;
  /** The snapshot's time, RFC 3339 UTC. */
  time?: string;
}

export type SnapshotPins = Record<string, AnnotatedPin[]>;

const ID = /^[0-9a-f]{8,64}$/;

/** The annotation's value; hosts sorted, so equal pins give an equal text. */
export function formatSnapshotPins(pins: SnapshotPins): string {
  const sorted: SnapshotPins = {};
  for (const host of Object.keys(pins).sort()) {
    sorted[host] = pins[host]!.map((p) => ({
      requested: p.requested,
      ...(p.path !== undefined ? { path: p.path } : {}),
      id: p.id,
      ...(p.time ? { time: p.time } : {}),
    }));
  }
  return JSON.stringify(sorted);
}

/** The pins an annotation holds, or the reason it cannot be read (a hand edit, a truncated value). */
export function parseSnapshotPins(text: string): { pins: SnapshotPins } | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { error: `not JSON (${(e as Error).message})` };
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { error: 'not a JSON object of hosts' };
  const pins: SnapshotPins = {};
  for (const [host, steps] of Object.entries(raw)) {
    if (!Array.isArray(steps)) return { error: `host ${host}: not a list of steps` };
    const out: AnnotatedPin[] = [];
    for (const [i, s] of steps.entries()) {
      const p = s as Partial<Record<keyof AnnotatedPin, unknown>>;
      if (!p || typeof p !== 'object' || typeof p.requested !== 'string' || typeof p.id !== 'string' || !ID.test(p.id))
        return { error: `host ${host} step ${i}: needs "requested" and a hex "id"` };
      out.push({
        requested: p.requested,
        ...(typeof p.path === 'string' ? { path: p.path } : {}),
        id: p.id,
        ...(typeof p.time === 'string' ? { time: p.time } : {}),
      });
    }
    pins[host] = out;
  }
  return { pins };
}
