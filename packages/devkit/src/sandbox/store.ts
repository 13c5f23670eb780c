// The object store: every object by resource and namespace/name, one global resourceVersion
// counter, and a bounded history of changes that watches replay from. Optionally persisted to a
// JSON file, so a restarted sandbox comes back like a restarted API server (history is not kept:
// watches from before the restart get 410 and relist, as after an etcd compaction).
import { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export type Obj = Record<string, any> & { metadata: Record<string, any> };

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  /** resourceKey of the object's resource (`pods`, `restoresessions.stash.appscode.com`). */
  resource: string;
  rv: number;
  object: Obj;
  /** The object before the change (MODIFIED, DELETED). */
  previous?: Obj;
}

export interface StoreOptions {
  /** How many changes watches can replay; older resourceVersions get 410 Expired. */
  historySize?: number;
  /** JSON file to load from and save to. */
  file?: string;
}

function nsName(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

export class Store extends EventEmitter {
  private readonly objects = new Map<string, Map<string, Obj>>();
  private history: StoreEvent[] = [];
  private readonly historySize: number;
  private readonly file: string | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  /** After close(): the state file is final (its folder may be gone), changes stay in memory. */
  private closed = false;
  /** How long the last save took (ms). */
  private lastSaveMs = 0;
  private rv = 0;
  /** Watches may start from any resourceVersion ≥ this. */
  private oldestWatchable = 0;

  constructor(options: StoreOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.historySize = options.historySize ?? 10_000;
    this.file = options.file;
    if (this.file && existsSync(this.file)) this.load(this.file);
  }

  get resourceVersion(): number {
    return this.rv;
  }

  get oldestResourceVersion(): number {
    return this.oldestWatchable;
  }

  get(resource: string, ns: string | undefined, name: string): Obj | undefined {
    return this.objects.get(resource)?.get(nsName(ns, name));
  }

  /** Objects of a resource (in one namespace, or all), sorted by namespace/name. */
  list(resource: string, ns?: string): Obj[] {
    const m = this.objects.get(resource);
    if (!m) return [];
    const keys = [...m.keys()].filter((k) => ns === undefined || k.startsWith(`${ns}/`)).sort();
    return keys.map((k) => m.get(k)!);
  }

  resources(): string[] {
    return [...this.objects.keys()];
  }

  /** Stores a new or changed object: assigns the next resourceVersion and records the event. */
  put(resource: string, object: Obj): Obj {
    const key = nsName(object.metadata.namespace, object.metadata.name);
    let m = this.objects.get(resource);
    if (!m) this.objects.set(resource, (m = new Map()));
    const previous = m.get(key);
    const stored: Obj = structuredClone(object);
    stored.metadata.resourceVersion = String(++this.rv);
    m.set(key, stored);
    this.record({ type: previous ? 'MODIFIED' : 'ADDED', resource, rv: this.rv, object: stored, ...(previous ? { previous } : {}) });
    return structuredClone(stored);
  }

  remove(resource: string, ns: string | undefined, name: string): Obj | undefined {
    const m = this.objects.get(resource);
    const previous = m?.get(nsName(ns, name));
    if (!m || !previous) return undefined;
    m.delete(nsName(ns, name));
    const gone: Obj = structuredClone(previous);
    gone.metadata.resourceVersion = String(++this.rv);
    this.record({ type: 'DELETED', resource, rv: this.rv, object: gone, previous });
    return structuredClone(gone);
  }

  /** Changes with resourceVersion > `since`, or undefined when `since` is older than what is kept. */
  eventsSince(since: number): StoreEvent[] | undefined {
    if (since < this.oldestWatchable) return undefined;
    return this.history.filter((e) => e.rv > since);
  }

  /** Forgets the change history, as an etcd compaction does: older watches get 410. */
  compact(): void {
    this.history = [];
    this.oldestWatchable = this.rv;
  }

  private record(event: StoreEvent): void {
    this.history.push(event);
    if (this.history.length > this.historySize) {
      const dropped = this.history.splice(0, this.history.length - this.historySize);
      this.oldestWatchable = dropped[dropped.length - 1]!.rv;
    }
    this.scheduleSave();
    this.emit('event', event);
  }

  private scheduleSave(): void {
    if (!this.file || this.saveTimer || this.closed) return;
    // Saving the whole state costs more as it grows (thousands of objects: tens of ms): between
    // saves wait ten times the last one took, so saving stays under a tenth of the server's time.
    this.saveTimer = setTimeout(
      () => {
        this.saveTimer = undefined;
        this.save();
      },
      Math.max(50, this.lastSaveMs * 10),
    );
    this.saveTimer.unref();
  }

  /**
   * Saves one last time and writes no more: a late change (a simulator finishing as the sandbox
   * stops) must not bring back a folder its owner has removed.
   */
  close(): void {
    this.save();
    this.closed = true;
  }

  /** Writes the state file now (atomically: temp file + rename). */
  save(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.file || this.closed) return;
    const data = { resourceVersion: this.rv, objects: Object.fromEntries([...this.objects].map(([r, m]) => [r, [...m.values()]])) };
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    const started = performance.now();
    writeFileSync(tmp, JSON.stringify(data));
    renameSync(tmp, this.file);
    this.lastSaveMs = performance.now() - started;
  }

  private load(file: string): void {
    const data = JSON.parse(readFileSync(file, 'utf8')) as { resourceVersion: number; objects: Record<string, Obj[]> };
    this.rv = data.resourceVersion;
    this.oldestWatchable = this.rv;
    for (const [resource, list] of Object.entries(data.objects)) {
      this.objects.set(resource, new Map(list.map((o) => [nsName(o.metadata.namespace, o.metadata.name), o])));
    }
  }
}
