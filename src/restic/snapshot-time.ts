// restic prints snapshot times with nanoseconds and the local offset
// (`2024-02-01T10:11:12.123456789+01:00`); people read them in UTC, to the second.

/** Milliseconds since the epoch of a restic snapshot time, or 0 when it cannot be read. */
export function snapshotTimeMs(t: string): number {
  const ms = Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(ms) ? 0 : ms;
}

/** `2024-02-01T09:11:12Z`: the snapshot time in UTC, to the second (the text as given when it cannot be read). */
export function snapshotTimeUtc(t: string): string {
  const ms = snapshotTimeMs(t);
  return ms ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : t;
}
