// A watch-fed cache that survives real clusters. client-node's ListWatch relists on 410 by itself,
// but on any other failure (500, ECONNRESET, a refused connection) it emits `error` and stops;
// `stop()` also emits an AbortError; and a half-open connection can go silent forever
// (kubernetes-client/javascript #364, #596, #958). This wrapper restarts it with jittered
// exponential backoff, ignores the errors its own stops cause, and restarts a watch that has
// heard nothing (not even a bookmark) for `watchdogMs`.
import { ListWatch, Watch } from '@kubernetes/client-node';
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import { errorMessage } from '../common/errors.ts';
import { nullLogger } from '../common/log.ts';
import type { Logger } from '../common/log.ts';

export type InformerEvent = 'add' | 'update' | 'delete';

/** An object as a cache keeps it: without managedFields (often half of a workload's bytes; no reader here needs them). */
export function withoutManagedFields<T extends { metadata?: object }>(o: T): T {
  const meta = o.metadata as { managedFields?: unknown } | undefined;
  if (!meta?.managedFields) return o;
  const { managedFields: _, ...metadata } = meta;
  return { ...o, metadata };
}

/**
 * A LIST's items as a watch delivers them, with `apiVersion` and `kind`. A real API server leaves
 * both off the items of a built-in list (`DeploymentList` says them once; custom resources keep
 * theirs), while every watch event's object carries them: without this, an object cached from the
 * first LIST (one that existed before the watch started) has no kind, and a reader that writes it
 * back or names it by its kind fails.
 */
export function withItemKinds<T extends KubernetesObject>(list: KubernetesListObject<T>): KubernetesListObject<T> {
  const kind = list.kind?.endsWith('List') ? list.kind.slice(0, -'List'.length) : undefined;
  const apiVersion = list.apiVersion;
  if (!kind || !apiVersion || list.items.every((o) => o.kind && o.apiVersion)) return list;
  return { ...list, items: list.items.map((o) => (o.kind && o.apiVersion ? o : { ...o, apiVersion: o.apiVersion ?? apiVersion, kind: o.kind ?? kind })) };
}

/** One page of a LIST, in the names client-node's list calls take (`limit`, `_continue`). */
export interface ListPage {
  limit: number;
  _continue?: string;
}

/** Objects per page of the LISTs that fill a cache. */
export const LIST_PAGE_SIZE = 500;

/**
 * Every object of a collection, a page at a time (limit/continue, as client-go's reflector lists):
 * each page is trimmed by `keep` before the next is read, so a collection of thousands is never one
 * response held whole, its untrimmed objects (managedFields…) all alive at once. A `list` that
 * ignores the page answers everything at once, which ends the loop too. The result carries the
 * last page's metadata (the list's resourceVersion, to watch from).
 */
export async function listPaged<T extends KubernetesObject>(
  list: (page: ListPage) => Promise<KubernetesListObject<T>>,
  opts: { pageSize?: number; keep?: (obj: T) => T } = {},
): Promise<KubernetesListObject<T>> {
  const items: T[] = [];
  let token: string | undefined;
  let page: KubernetesListObject<T>;
  do {
    page = withItemKinds(await list({ limit: opts.pageSize ?? LIST_PAGE_SIZE, ...(token ? { _continue: token } : {}) }));
    for (const o of page.items) items.push(opts.keep ? opts.keep(o) : o);
    // Typed clients name it `_continue`; plain JSON (custom objects, metadata lists) `continue`.
    const meta = page.metadata as { _continue?: string; continue?: string } | undefined;
    token = meta?._continue || meta?.continue || undefined;
  } while (token);
  return { ...page, items };
}

export interface ResilientInformerOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  /** The collection path, e.g. `/apis/stash.appscode.com/v1beta1/restoresessions`. */
  path: string;
  /** One page of the collection (pass `page` on as the list call's `limit` and `_continue`). */
  list: (page: ListPage) => Promise<KubernetesListObject<T>>;
  /** Objects per LIST page (default LIST_PAGE_SIZE). */
  pageSize?: number;
  labelSelector?: string;
  fieldSelector?: string;
  /** Restart when nothing has arrived for this long (default 5 minutes). */
  watchdogMs?: number;
  /** First retry delay after a failure (default 1 s), doubling up to `maxBackoffMs` (default 30 s). */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** ± fraction of each delay chosen at random (default 0.2), so replicas do not retry in step. */
  jitter?: number;
  /** Where restarts are reported (warn), with the watched `path` (default: nowhere). */
  log?: Logger;
  /** The Watch to stream with (default client-node's, on `kc`); e.g. metadataWatch() for PartialObjectMetadata events. */
  watch?: Watch;
  /**
   * What the cache keeps of each listed or watched object (default: all of it), e.g. without
   * `metadata.managedFields`. Handlers and get()/list() see the kept form.
   */
  keep?: (obj: T) => T;
}

export interface InformerStats {
  /** Completed LIST calls (the first one plus every relist, e.g. after 410). */
  lists: number;
  /** Restarts after an error or a silent watch. */
  restarts: number;
  errors: number;
  lastError?: string;
}

type Handler<T> = (obj: T) => void;

export class ResilientInformer<T extends KubernetesObject> {
  readonly stats: InformerStats = { lists: 0, restarts: 0, errors: 0 };
  private readonly options: ResilientInformerOptions<T>;
  private readonly log: Logger;
  private readonly lw: ListWatch<T>;
  private readonly handlers: Record<InformerEvent, Handler<T>[]> = { add: [], update: [], delete: [] };
  private readonly errorHandlers: Array<(err: unknown) => void> = [];
  private stopping = false;
  private stopped = true;
  /** Between a failure and the next list or event: the cache may be stale. */
  private failing = false;
  private attempt = 0;
  private lastHeard = Date.now();
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private abortSettled: (() => void) | undefined;
  private readyResolve!: () => void;
  /** Resolves once the first LIST has filled the cache. */
  readonly ready: Promise<void>;

  constructor(options: ResilientInformerOptions<T>) {
    this.options = options;
    this.log = (options.log ?? nullLogger).child({ path: options.path });
    this.ready = new Promise((r) => (this.readyResolve = r));
    const list = async (): Promise<KubernetesListObject<T>> => {
      const result = await listPaged(options.list, {
        ...(options.pageSize ? { pageSize: options.pageSize } : {}),
        ...(options.keep ? { keep: options.keep } : {}),
      });
      this.stats.lists++;
      this.failing = false;
      this.heard();
      this.attempt = 0;
      return result;
    };
    const watch = options.watch ?? new Watch(options.kc);
    const keep = options.keep;
    // The objects of events are trimmed before the ListWatch caches them.
    const trimmed = keep
      ? ({
          watch: (
            path: string,
            query: Record<string, string | number | boolean | undefined>,
            callback: (phase: string, obj: any, watchObj?: any) => void,
            done: (err: any) => void,
          ) =>
            watch.watch(
              path,
              query,
              (phase, obj, watchObj) => callback(phase, phase === 'ADDED' || phase === 'MODIFIED' || phase === 'DELETED' ? keep(obj) : obj, watchObj),
              done,
            ),
        } as Watch)
      : watch;
    this.lw = new ListWatch<T>(options.path, trimmed, list, false, options.labelSelector, options.fieldSelector);
    this.lw.on('add', (o) => this.emit('add', o));
    this.lw.on('update', (o) => this.emit('update', o));
    this.lw.on('delete', (o) => this.emit('delete', o));
    this.lw.on('connect', () => this.heard());
    this.lw.on('error', (err) => this.handleError(err));
  }

  on(event: InformerEvent, handler: Handler<T>): this {
    this.handlers[event].push(handler);
    return this;
  }

  /** Called for every failure before the restart is scheduled (not for the aborts of stop()). */
  onError(handler: (err: unknown) => void): this {
    this.errorHandlers.push(handler);
    return this;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.lw.get(name, namespace);
  }

  list(namespace?: string): readonly T[] {
    return this.lw.list(namespace);
  }

  /** Whether the cache can be trusted now: started, listed, and not failing since. */
  get synced(): boolean {
    return !this.stopped && !this.stopping && !this.failing && this.stats.lists > 0;
  }

  latestResourceVersion(): string {
    return this.lw.latestResourceVersion();
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.stopping = false;
    this.heard();
    const wd = this.options.watchdogMs ?? 300_000;
    this.watchdog = setInterval(() => this.checkWatchdog(wd), Math.max(10, Math.floor(wd / 4)));
    this.watchdog.unref();
    await this.lw.start();
    if (this.stats.lists > 0) this.readyResolve();
    else void this.firstList();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearTimeout(this.retryTimer);
    await this.quietStop();
  }

  private async firstList(): Promise<void> {
    while (!this.stopped && this.stats.lists === 0) await new Promise((r) => setTimeout(r, 10));
    this.readyResolve();
  }

  private emit(event: InformerEvent, obj: T): void {
    this.failing = false;
    this.heard();
    this.attempt = 0;
    for (const h of this.handlers[event]) h(obj);
  }

  private heard(): void {
    this.lastHeard = Date.now();
  }

  private handleError(err: unknown): void {
    if (this.stopping || this.stopped) {
      // The AbortError our own stop() causes.
      this.abortSettled?.();
      return;
    }
    this.stats.errors++;
    this.failing = true;
    this.stats.lastError = errorMessage(err);
    for (const h of this.errorHandlers) h(err);
    this.scheduleRestart(`watch of ${this.options.path} failed: ${this.stats.lastError}`, { error: this.stats.lastError });
  }

  private delay(): number {
    const base = Math.min(this.options.maxBackoffMs ?? 30_000, (this.options.initialBackoffMs ?? 1000) * 2 ** this.attempt);
    const jitter = this.options.jitter ?? 0.2;
    return Math.max(0, Math.round(base * (1 - jitter + Math.random() * 2 * jitter)));
  }

  private scheduleRestart(why: string, fields: { error: string }): void {
    clearTimeout(this.retryTimer);
    const ms = this.delay();
    this.attempt++;
    this.log.warn(`${why}; restarting in ${ms} ms`, { ...fields, attempt: this.attempt, restartInMs: ms });
    this.retryTimer = setTimeout(() => void this.restart(false), ms);
    this.retryTimer.unref();
  }

  /** Starts the ListWatch again from its last resourceVersion (410 then makes it relist). */
  private async restart(stopFirst: boolean): Promise<void> {
    if (this.stopped) return;
    this.stats.restarts++;
    // After an error the ListWatch has already given up; a silent one must be stopped first.
    if (stopFirst) await this.quietStop();
    if (this.stopped) return;
    this.heard();
    await this.lw.start();
  }

  /** Stops the ListWatch and waits (briefly) for the AbortError that follows, so it is not taken for a failure. */
  private async quietStop(): Promise<void> {
    this.stopping = true;
    const settled = new Promise<void>((resolve) => {
      this.abortSettled = resolve;
      setTimeout(resolve, 100).unref();
    });
    await this.lw.stop();
    await settled;
    this.abortSettled = undefined;
    this.stopping = false;
  }

  private checkWatchdog(limitMs: number): void {
    if (this.stopped || this.stopping) return;
    if (Date.now() - this.lastHeard < limitMs) return;
    this.log.warn(`watch of ${this.options.path} silent for ${limitMs} ms; restarting`, { silentMs: limitMs });
    this.heard();
    void this.restart(true);
  }
}
