// A cache of results that depend on what their computation read (issue 16: work follows the
// change). Each result is kept under its unit (a manifest) with the reads it made, each read as a
// function that asks again and a fingerprint of the answer it got; it holds for as long as every
// read answers the same. A computation reads only through the tracked context it is handed, so a
// read the cache does not know of cannot happen.

/**
 * The reads a cached result depends on, three slots each: `ask`, `fp` and `was`. Asked again
 * against a later context, each must answer `was` (the same value or object, or one with the same
 * fingerprint). Flat, not an object per read: a cache keeps a dozen reads for every session.
 */
type Reads3 = unknown[];

function holdAll<C>(reads: Reads3, ctx: C): boolean {
  for (let i = 0; i < reads.length; i += 3) {
    const ask = reads[i] as (ctx: C) => unknown;
    const fp = reads[i + 1] as (v: unknown) => string;
    const was = reads[i + 2];
    const v = ask(ctx);
    if (v !== was && fp(v) !== fp(was)) return false;
  }
  return true;
}

/** Records the reads of one computation: `read(ask, fp)` answers `ask(ctx)` and remembers it. */
export type Reads<C> = <T>(ask: (ctx: C) => T, fp: (v: T) => string) => T;

export class ReadCache<C, V> {
  private entries = new Map<object, { reads: Reads3; value: V }>();
  private used = new Map<object, { reads: Reads3; value: V }>();
  /** Results reused and computed since the cache was made (for tests and benches). */
  hits = 0;
  misses = 0;

  /**
   * The value of `unit` in `ctx`: the cached one while each of its reads answers the same, else
   * computed by `compute`, which reads `ctx` only through `read`.
   */
  get(unit: object, ctx: C, compute: (read: Reads<C>) => V): V {
    const cached = this.entries.get(unit) ?? this.used.get(unit);
    if (cached && holdAll(cached.reads, ctx)) {
      this.hits++;
      this.used.set(unit, cached);
      return cached.value;
    }
    this.misses++;
    const reads: Reads3 = [];
    const read: Reads<C> = (ask, fp) => {
      const v = ask(ctx);
      reads.push(ask, fp, v);
      return v;
    };
    const entry = { reads, value: compute(read) };
    this.used.set(unit, entry);
    return entry.value;
  }

  /** Ends a run: only the units asked for since the last call stay (the cache holds what is present, no more). */
  endRun(): void {
    this.entries = this.used;
    this.used = new Map();
  }

  get size(): number {
    return this.entries.size;
  }
}

const ids = new WeakMap<object, number>();
let nextId = 0;

/**
 * What a read answered, as text that differs whenever the answer may: a Kubernetes object by its
 * uid and resourceVersion (every change of it moves the version, and copies made for each cycle
 * keep it), any other object by identity (the objects of an unchanged file are the same objects),
 * a primitive by value.
 */
export function fingerprint(v: unknown): string {
  if (v === undefined) return 'u';
  if (v === null || typeof v !== 'object') return `v${JSON.stringify(v)}`;
  const meta = (v as { metadata?: { uid?: unknown; resourceVersion?: unknown } }).metadata;
  if (meta && typeof meta.resourceVersion === 'string' && meta.resourceVersion) return `k${String(meta.uid)}@${meta.resourceVersion}`;
  let id = ids.get(v);
  if (id === undefined) ids.set(v, (id = nextId++));
  return `#${id}`;
}

const listFingerprints = new WeakMap<readonly unknown[], string>();

/** A list's fingerprint: its elements', in order (remembered per list, which a cluster state hands out unchanged). */
export function fingerprintList(list: readonly unknown[]): string {
  let fp = listFingerprints.get(list);
  if (fp === undefined) listFingerprints.set(list, (fp = list.map(fingerprint).join(',')));
  return fp;
}
