// A work queue keyed by `namespace/name`: one reconcile per key at a time, a key added while it
// is being worked on runs again afterwards, failures retry with jittered exponential backoff.

export interface QueueOptions {
  /** Reconciles running at once across keys. */
  concurrency: number;
  /** Backoff after a failure: base × 2^attempts, capped, with ±50 % jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  onError?: (key: string, error: unknown, attempt: number) => void;
  /** Where requeue delays are scheduled (default setTimeout; tests record them). */
  timer?: { set(fn: () => void, ms: number): unknown; clear(handle: unknown): void };
}

const REAL_TIMER = {
  set: (fn: () => void, ms: number) => setTimeout(fn, ms).unref(),
  clear: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
};

export interface WorkResult {
  /** Look at the key again after this long (unless something adds it sooner). */
  requeueAfterMs?: number;
  /**
   * The key waits for something (a dependency, a target): each further requeue in a row, with
   * nothing adding the key in between, doubles the delay, up to this many ms.
   */
  backoffUpToMs?: number;
}

// biome-ignore lint/suspicious/noConfusingVoidType: a worker that has nothing to say returns nothing
export type Worker = (key: string) => Promise<WorkResult | void>;

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly order: string[] = [];
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, unknown>();
  private readonly failures = new Map<string, number>();
  /** Requeues in a row of a waiting key, since anything else added it. */
  private readonly waits = new Map<string, number>();
  /** Keys whose timer (a requeue) is what adds them now, not an event. */
  private readonly requeued = new Set<string>();
  private running = 0;
  private holds = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly worker: Worker;
  private readonly timer: NonNullable<QueueOptions['timer']>;
  private readonly opts: QueueOptions;

  constructor(worker: Worker, opts: QueueOptions) {
    this.worker = worker;
    this.opts = opts;
    this.timer = opts.timer ?? REAL_TIMER;
  }

  add(key: string): void {
    if (this.stopped) return;
    // Something other than the key's own requeue timer: whatever it waited for may have come.
    if (!this.requeued.delete(key)) this.waits.delete(key);
    if (this.timers.has(key)) {
      this.timer.clear(this.timers.get(key));
      this.timers.delete(key);
    }
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (!this.pending.has(key)) {
      this.pending.add(key);
      this.order.push(key);
    }
    this.pump();
  }

  addAfter(key: string, ms: number): void {
    if (this.stopped || this.timers.has(key)) return;
    const jittered = ms * (0.9 + Math.random() * 0.2);
    this.timers.set(
      key,
      this.timer.set(() => {
        this.timers.delete(key);
        this.requeued.add(key);
        this.add(key);
      }, jittered),
    );
  }

  /** Starts no new work until the returned release is called (work under way goes on, keys still queue); holds nest. */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.pump();
    };
  }

  get size(): number {
    return this.pending.size + this.active.size;
  }

  /** Resolves when nothing is queued or running (timers may still be set). */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Takes no more work; resolves once the reconciles already running have ended. */
  stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) this.timer.clear(t);
    this.timers.clear();
    this.pending.clear();
    this.order.length = 0;
    this.dirty.clear();
    this.waits.clear();
    this.requeued.clear();
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** The requeue's delay: as asked, or for a key still waiting, doubled for each requeue in a row (up to backoffUpToMs). */
  private requeueDelay(key: string, result: WorkResult): number {
    const ms = result.requeueAfterMs!;
    if (result.backoffUpToMs === undefined) {
      this.waits.delete(key);
      return ms;
    }
    const n = this.waits.get(key) ?? 0;
    this.waits.set(key, n + 1);
    return Math.max(ms, Math.min(result.backoffUpToMs, ms * 2 ** n));
  }

  private pump(): void {
    while (!this.stopped && this.holds === 0 && this.running < this.opts.concurrency && this.order.length) {
      const key = this.order.shift()!;
      this.pending.delete(key);
      this.active.add(key);
      this.running++;
      void this.work(key);
    }
    if (this.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private async work(key: string): Promise<void> {
    try {
      const result = await this.worker(key);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, this.requeueDelay(key, result));
      else this.waits.delete(key);
    } catch (e) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.opts.onError?.(key, e, attempt);
      const delay = Math.min(this.opts.maxDelayMs ?? 60_000, (this.opts.baseDelayMs ?? 500) * 2 ** (attempt - 1));
      this.addAfter(key, delay * (0.5 + Math.random()));
    } finally {
      this.active.delete(key);
      this.running--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
