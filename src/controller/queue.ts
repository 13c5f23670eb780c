// A work queue keyed by `namespace/name`: one reconcile per key at a time, a key added while it
// is being worked on runs again afterwards, failures retry with jittered exponential backoff.

export interface QueueOptions {
  /** Reconciles running at once across keys. */
  concurrency: number;
  /** Backoff after a failure: base × 2^attempts, capped, with ±50 % jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  onError?: (key: string, error: unknown, attempt: number) => void;
}

// biome-ignore lint/suspicious/noConfusingVoidType: a worker that has nothing to say returns nothing
export type Worker = (key: string) => Promise<{ requeueAfterMs?: number } | void>;

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly order: string[] = [];
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failures = new Map<string, number>();
  private running = 0;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly worker: Worker;
  private readonly opts: QueueOptions;

  constructor(worker: Worker, opts: QueueOptions) {
    this.worker = worker;
    this.opts = opts;
  }

  add(key: string): void {
    if (this.stopped) return;
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t);
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
      setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, jittered).unref(),
    );
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
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.pending.clear();
    this.order.length = 0;
    this.dirty.clear();
    if (this.active.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (!this.stopped && this.running < this.opts.concurrency && this.order.length) {
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
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
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
