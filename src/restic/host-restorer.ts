// One host's restore with restic: the implementation of the agent's HostRestorer
// (src/agent/restorer.ts), built from backend.ts, commands.ts and runner.ts.
//
// Order: the Repository + Secret become the restic environment (files written to scratch);
// the host plan becomes restore steps; every step is pinned to a concrete snapshot, and the pins
// are handed to the caller (`onPinned`, which records them) before any step but the first
// restores. A step pinned already (by the daemon at accept time, or by an earlier run of this
// agent) is never resolved again. An unpinned `latest` is pinned by the first line of one
// `restic ls --json latest --host H [--path P]` stream, whose rest counts the total
// (include/exclude applied): one restic command resolves and measures. When the first step is an
// unpinned `latest`, its `restic restore latest` (same filters) starts at once beside that
// listing (at the lowest priority) instead of after it (the listing's repository open, ≈0.7 s of
// key derivation and index load, is off the restore's path): restic restore names the snapshot it restores (short id)
// before it writes, the step is pinned to the listing's full id when they agree, and when a backup
// landed between the two resolutions, to the snapshot restore named, listed anew for its full
// id, time and total. So the pin is always what was restored. Totals of pinned
// steps are measured beside the restores at the lowest CPU priority, so they cost no wall time;
// progress is the sum over steps and carries the total once it is known. The restores run one
// after another and the first failure stops the host. When the daemon pinned `latest` and a
// newer snapshot has appeared since, the outcome says so (`latestMoved`).
import { join } from 'node:path';
import type { Repository } from '../api/repository.ts';
import type { HostProgress, RestoreSession } from '../api/restoresession.ts';
import { errorMessage } from '../common/errors.ts';
import type { Logger } from '../common/log.ts';
import type { HostPlan } from '../hosts/types.ts';
import { resticBackend, writeBackendFiles } from './backend.ts';
import type { ResticBackend } from './backend.ts';
import { restoreSteps, withSnapshot } from './commands.ts';
import type { CommandContext, RestoreInput, RestoreStep } from './commands.ts';
import { ResticError } from './errors.ts';
import { ResticRunner } from './runner.ts';
import type { RestoreOptions, RestoreResult, SnapshotInfo } from './runner.ts';
import { snapshotTimeUtc } from './snapshot-time.ts';

/** The snapshot one restore step is pinned to. */
export interface SnapshotPinned {
  /** What the rule asks for: `latest`, or the id it names. */
  requested: string;
  /** The snapshot path `latest` is chosen for (paths rules). */
  path?: string;
  /** The concrete snapshot id restored. */
  id: string;
  /** The snapshot's time, RFC 3339 UTC to the second (the restore's point in time), when known. */
  time?: string;
  /** Who pinned it: the daemon at accept time (an annotation), or this agent. */
  by: 'daemon' | 'agent';
}

/** The shape of the agent's HostRestoreJob (structurally identical; no import of src/agent). */
export interface ResticHostJob {
  session: RestoreSession;
  repository: Repository;
  secret: Record<string, string>;
  plan: HostPlan;
  root: string;
  scratchDir: string;
  signal: AbortSignal;
  onProgress: (p: HostProgress) => void;
  /** The agent's logger for this host: restic's command lines go to it at debug level. */
  log?: Logger;
  /**
   * Per restore step, in order: the snapshot it is already pinned to (by the daemon, or recorded
   * by an earlier run of this agent). Such a step restores exactly that id.
   */
  pins?: readonly (Pick<SnapshotPinned, 'id' | 'time' | 'by'> | undefined)[];
  /**
   * Called once with every step's pin (the agent records them): before the first restore runs,
   * or, when the first step restores at once (restoresAtOnce), as soon as it names its snapshot.
   */
  onPinned?: (pins: SnapshotPinned[]) => Promise<void>;
}

export interface ResticHostOutcome {
  snapshots: string[];
  /** Each step's pin, with the snapshot time filled in once restic listed it. */
  pins?: SnapshotPinned[];
  progress: HostProgress;
  /** What the data was restored into, for messages, when not the host's volumes (a database). */
  into?: string;
  /** Steps the daemon pinned to `latest` for which restic now has a newer snapshot: what it is, in a sentence each. */
  latestMoved?: string[];
}

export interface ResticHostRestorerOptions {
  /** restic binary (default `restic` from PATH). */
  restic?: string;
  /**
   * Where a local backend's mountPath is on this machine. Default: identity when root is `/`
   * (a real pod), else `<root><mountPath>` (the sandbox mounts pod volumes under the pod folder).
   */
  mapLocalPath?: (mountPath: string, job: ResticHostJob) => string;
  /** How often restic's progress is sampled (default 2000 ms). */
  progressIntervalMs?: number;
  /** How the total is measured (default 'filtered': include/exclude applied; see RestoreOptions). */
  total?: RestoreOptions['total'];
  /**
   * 'parallel' (default): restores start right after every step is pinned and the total is
   * measured alongside (reported as soon as known); 'before': totals first, then restores.
   */
  totals?: 'parallel' | 'before';
  killGraceMs?: number;
}

export class ResticHostRestorer {
  readonly #opts: ResticHostRestorerOptions;

  constructor(opts: ResticHostRestorerOptions = {}) {
    this.#opts = opts;
  }

  /** Restore one host. Throws ResticError whose message is redacted and safe to show. */
  async restore(job: ResticHostJob): Promise<ResticHostOutcome> {
    const { ctx, runner } = await hostRestic(job, this.#opts);
    const steps = restoreSteps(restoreInput(job), ctx);
    const safe = (e: unknown): never => {
      throw redactedError(runner, e);
    };
    if (job.pins && job.pins.length !== steps.length) {
      throw new ResticError(
        'CommandInvalid',
        `host ${job.plan.host} has ${steps.length} restore step(s) but ${job.pins.length} pinned snapshot(s): the pins do not belong to this rule`,
        { host: job.plan.host },
      );
    }
    const mode = this.#opts.total ?? 'filtered';
    // An unpinned `latest` first step restores at once: restic restore resolves it itself and
    // names what it restores, the listing beside it gives the full id, time and total.
    const early = mode === 'filtered' && this.#opts.totals !== 'before' && restoresAtOnce(steps, job);
    let named!: (shortId: string | undefined) => void;
    const restoring = new Promise<string | undefined>((r) => (named = r));

    // 1. pin every step; the listings go on to measure the totals
    const listings = new StepListings(runner, steps, job.pins ?? [], mode, job.signal, early ? { restoring, log: job.log } : undefined);
    const stopRestore = new AbortController();
    const restoreSignal = AbortSignal.any([job.signal, stopRestore.signal]);
    const progress = new StepProgress(job);
    progress.report(hostProgress(listings.values, listings.mode, 0, 0));
    const first = early ? this.#restoreStep(runner, steps[0]!, 0, listings, progress, restoreSignal, named).finally(() => named(undefined)) : undefined;
    first?.catch(() => undefined); // awaited below
    try {
      let pins: SnapshotPinned[];
      try {
        pins = await listings.pins();
      } catch (e) {
        listings.stop();
        stopRestore.abort();
        await Promise.all([first?.catch(() => undefined), listings.allSettled()]);
        return safe(e);
      }
      if (job.onPinned) {
        try {
          await job.onPinned(pins);
        } catch (e) {
          // Before restic starts, a pin that cannot be recorded stops the host (nothing restored
          // yet). Once the first step restores already, stopping it would lose what it restores
          // and a new pod would restore again: the pins go with the outcome instead.
          if (!first) throw e;
          job.log?.warn(`could not record the pinned snapshot while restic restores; it is recorded with the outcome: ${runner.redact(errorMessage(e))}`, {
            snapshot: pins[0]?.id,
          });
        }
      }
      const pinned = steps.map((step, i) => withSnapshot(step, pins[i]!.id));
      const moved = this.#latestMoved(runner, steps, pins, job);

      // 2. totals: measured before the first restore ('before'), or alongside the restores
      //    ('parallel', default); in 'parallel' mode a failed or interrupted measurement only
      //    leaves the total unknown
      if (this.#opts.totals === 'before') {
        try {
          await listings.allSizes();
        } catch (e) {
          return safe(e);
        }
      }

      // 3. restore in order (the first step may be running already); the first failure stops the host
      const out = await this.#restoreInOrder(job, runner, pinned, listings, progress, restoreSignal, first);
      const latestMoved = (await moved).filter((m): m is string => m !== undefined);
      return { ...out, pins: listings.finalPins(pins), ...(latestMoved.length ? { latestMoved } : {}) };
    } finally {
      stopRestore.abort(); // a restore still running when the host gave up (a failed pin or status write)
      await first?.catch(() => undefined);
      listings.stop();
      listings.dispose();
    }
  }

  /**
   * For each step the daemon pinned to `latest`: whether restic's `latest` is now another
   * snapshot, as a sentence (undefined when it is not, or when that cannot be told). Runs beside
   * the restores; a failure is logged, never the host's.
   */
  #latestMoved(runner: ResticRunner, steps: readonly RestoreStep[], pins: readonly SnapshotPinned[], job: ResticHostJob): Promise<(string | undefined)[]> {
    return Promise.all(
      steps.map(async (step, i) => {
        const pin = pins[i]!;
        if (step.snapshot !== 'latest' || pin.by !== 'daemon') return undefined;
        try {
          const now = await runner.resolveLatest({ host: step.host, path: step.path }, job.signal, { background: true });
          if (now.id === pin.id) return undefined;
          const of = `host ${step.host}${step.path ? ` path ${step.path}` : ''}`;
          return `latest of ${of} moved after the pin: it is now ${now.shortId} (${snapshotTimeUtc(now.time)}); the pinned ${pin.id.slice(0, 8)}${pin.time ? ` (${pin.time})` : ''} was restored`;
        } catch (e) {
          job.log?.warn(`could not tell whether latest moved since the pin: ${runner.redact(errorMessage(e))}`, { snapshot: pin.id });
          return undefined;
        }
      }),
    );
  }

  /** One step's `restic restore`, its written bytes counted into the host's progress. */
  #restoreStep(
    runner: ResticRunner,
    step: RestoreStep,
    i: number,
    listings: StepListings,
    progress: StepProgress,
    signal: AbortSignal,
    onRestoring?: (shortId: string) => void,
  ): Promise<RestoreResult> {
    const before = progress.done();
    return runner.restore(
      { step, snapshot: step.snapshot },
      {
        signal,
        progressIntervalMs: this.#opts.progressIntervalMs,
        ...(onRestoring ? { onRestoring } : {}),
        // restic's written bytes count only once this step's total can bound them, so
        // bytesDone never runs past the total and never goes back
        onProgress: (sp) =>
          progress.report(hostProgress(listings.values, listings.mode, before.bytes + boundedStepBytes(sp.bytesDone, listings.values[i]), before.files)),
      },
    );
  }

  async #restoreInOrder(
    job: ResticHostJob,
    runner: ResticRunner,
    pinned: RestoreStep[],
    listings: StepListings,
    progress: StepProgress,
    signal: AbortSignal,
    first: Promise<RestoreResult> | undefined,
  ): Promise<Omit<ResticHostOutcome, 'pins' | 'latestMoved'>> {
    const snapshots: string[] = [];
    for (const [i, step] of pinned.entries()) {
      const r = i === 0 && first ? await first : await this.#restoreStep(runner, step, i, listings, progress, signal);
      if (i === 0 && first && r.outcome === 'Succeeded' && r.named === undefined) {
        job.log?.warn(`restic restore did not name the snapshot it restored; recording ${step.snapshot.slice(0, 8)}, the latest its listing saw`, {
          snapshot: step.snapshot,
        });
      }
      const failure = stepFailure(r, step);
      if (failure) {
        listings.stop();
        await listings.allSettled();
        throw failure;
      }
      snapshots.push(step.snapshot);
      await listings.settled(i); // this step's total, to count it exactly
      progress.add(listings.values[i] ?? { bytes: r.progress.bytesDone ?? 0, files: 0 });
    }
    await listings.allSettled();
    const final = hostProgress(listings.values, listings.mode, progress.done().bytes, progress.done().files);
    progress.report(final);
    return { snapshots, progress: final };
  }
}

/**
 * Whether the first step restores at once, `restic restore latest` resolving the snapshot itself:
 * it is an unpinned `latest`, and restic will name what it restores (no `--quiet` in target.args).
 */
export function restoresAtOnce(steps: readonly Pick<RestoreStep, 'snapshot'>[], job: Pick<ResticHostJob, 'pins' | 'session'>): boolean {
  if (steps[0]?.snapshot !== 'latest' || job.pins?.[0]) return false;
  const args = job.session.spec.target?.args ?? [];
  return !args.some((a) => /^--quiet(=|$)/.test(a) || /^-[^-]*q/.test(a));
}

/** The host's progress over its steps: what the finished steps wrote, and bytesDone never going back. */
class StepProgress {
  #bytes = 0;
  #files = 0;
  #reported = 0;
  readonly #job: Pick<ResticHostJob, 'onProgress'>;
  constructor(job: Pick<ResticHostJob, 'onProgress'>) {
    this.#job = job;
  }
  report(p: HostProgress): void {
    this.#reported = Math.max(this.#reported, p.bytesDone ?? 0);
    this.#job.onProgress({ ...p, bytesDone: this.#reported });
  }
  /** What the steps finished so far wrote. */
  done(): Size {
    return { bytes: this.#bytes, files: this.#files };
  }
  add(step: Size): void {
    this.#bytes += step.bytes;
    this.#files += step.files;
  }
}

type Size = { bytes: number; files: number };
type TotalMode = NonNullable<RestoreOptions['total']>;

/**
 * Each step's snapshot and total. An unpinned `latest` (total mode 'filtered') is listed at once
 * at normal priority: its first line is the pin. The totals of steps pinned already are listed one
 * after the other (restic ls is CPU-bound) in the background. With mode 'stats' or 'none', an
 * unpinned `latest` is resolved with `restic snapshots`. Aborting the job, or `stop()` (the host
 * failed), stops every listing.
 */
class StepListings {
  readonly values: (Size | undefined)[];
  readonly mode: TotalMode;
  readonly #snapshots: Promise<SnapshotInfo | undefined>[] = [];
  readonly #pins: Promise<SnapshotPinned>[] = [];
  readonly #measured: Promise<void>[] = [];
  /** What each step's listing saw: the snapshot's full id and time. */
  readonly #listed: { id?: string; time?: string }[] = [];
  readonly #ac = new AbortController();
  readonly #signal: AbortSignal;
  readonly stop = () => this.#ac.abort();

  constructor(
    runner: ResticRunner,
    steps: readonly RestoreStep[],
    given: readonly (Pick<SnapshotPinned, 'id' | 'time' | 'by'> | undefined)[],
    mode: TotalMode,
    signal: AbortSignal,
    /** Step 0 is being restored at once (restoresAtOnce): the short id its `restic restore` names, undefined if it names none. */
    atOnce?: { restoring: Promise<string | undefined>; log?: Logger },
  ) {
    this.mode = mode;
    this.values = steps.map(() => undefined);
    this.#signal = signal;
    signal.addEventListener('abort', this.stop, { once: true });
    if (signal.aborted) this.stop();
    const inner = this.#ac.signal;
    let background: Promise<unknown> = Promise.resolve();
    for (const [i, step] of steps.entries()) {
      const pin = given[i];
      const base = { requested: step.snapshot, ...(step.path !== undefined ? { path: step.path } : {}) };
      if (pin) {
        this.#pins.push(Promise.resolve({ ...base, id: pin.id, ...(pin.time ? { time: pin.time } : {}), by: pin.by }));
      } else if (step.snapshot !== 'latest') {
        this.#pins.push(Promise.resolve({ ...base, id: step.snapshot, by: 'agent' as const }));
      }
      if (mode === 'filtered' && !pin && step.snapshot === 'latest') {
        // the pin and the total from one stream
        let pinned!: (s: SnapshotInfo) => void;
        const first = new Promise<SnapshotInfo>((r) => (pinned = r));
        const own = new AbortController();
        const stopOwn = () => own.abort();
        if (inner.aborted) stopOwn();
        inner.addEventListener('abort', stopOwn, { once: true });
        // beside a restore that resolves latest itself, the listing only records and counts: lowest priority from the start
        const listed = runner.listSnapshot(step, { signal: own.signal, onSnapshot: pinned, background: i === 0 && atOnce ? 'always' : true });
        const seen = Promise.race([first, listed.then((l) => l.snapshot)]);
        const chosen =
          i === 0 && atOnce
            ? restoredListing(runner, step, { seen, listed, stop: stopOwn }, atOnce.restoring, inner, atOnce.log)
            : seen.then((snapshot) => ({ snapshot, listing: listed }));
        this.#pins.push(chosen.then(({ snapshot: s }) => ({ ...base, id: s.id, time: snapshotTimeUtc(s.time), by: 'agent' as const })));
        const listing = chosen.then((c) => c.listing);
        this.#snapshots.push(listing.then((l) => l.snapshot));
        this.#measured.push(listing.then((l) => void (this.values[i] = { bytes: l.bytes, files: l.files })));
        listed.catch(() => undefined); // stopped when restic restore chose another snapshot
        continue;
      }
      if (!pin && step.snapshot === 'latest') {
        const resolved = runner.resolveLatest({ host: step.host, path: step.path }, inner);
        this.#pins.push(resolved.then((s) => ({ ...base, id: s.id, time: snapshotTimeUtc(s.time), by: 'agent' as const })));
      }
      const stepPin = this.#pins[i]!;
      if (mode === 'none') {
        this.#snapshots.push(Promise.resolve(undefined));
        this.#measured.push(stepPin.then(() => undefined));
        continue;
      }
      const measured = background.then(async () => {
        const p = await stepPin;
        const concrete = withSnapshot(step, p.id);
        if (mode === 'stats') {
          this.values[i] = await runner.snapshotSize(p.id, inner);
          return undefined;
        }
        const l = await runner.listSnapshot(concrete, { signal: inner, background: true });
        this.values[i] = { bytes: l.bytes, files: l.files };
        return l.snapshot;
      });
      background = measured.catch(() => undefined);
      this.#snapshots.push(measured);
      this.#measured.push(measured.then(() => undefined));
    }
    // Each is awaited later (or never, when the host stops early): none may reject unobserved.
    for (const p of [...this.#pins, ...this.#snapshots, ...this.#measured]) p.catch(() => undefined);
    for (const [i, s] of this.#snapshots.entries()) {
      void s.then(
        (info) => {
          if (info) this.#listed[i] = { id: info.id, time: snapshotTimeUtc(info.time) };
        },
        () => undefined,
      );
    }
  }

  /** Every step's pin; rejects with the first failure to pin. */
  pins(): Promise<SnapshotPinned[]> {
    return Promise.all(this.#pins);
  }

  /** Every measurement; rejects with the first failure. */
  async allSizes(): Promise<void> {
    await Promise.all(this.#measured);
  }

  settled(i: number): Promise<void> {
    return this.#measured[i]!.catch(() => undefined);
  }

  async allSettled(): Promise<void> {
    await Promise.all([...this.#measured, ...this.#pins, ...this.#snapshots].map((p) => p.catch(() => undefined)));
  }

  /** The pins with what the listings learnt (once settled): the full id of a short one the rule named, and the snapshot time. */
  finalPins(pins: readonly SnapshotPinned[]): SnapshotPinned[] {
    return pins.map((p, i) => ({ ...p, ...this.#listed[i] }));
  }

  dispose(): void {
    this.#signal.removeEventListener('abort', this.stop);
  }
}

type Listing = Awaited<ReturnType<ResticRunner['listSnapshot']>>;

/**
 * The snapshot a step restored at once is pinned to, and the listing that counts its total: the
 * `latest` listed beside the restore when `restic restore` named the same one (its short id), else
 * (a backup landed between the two resolutions of `latest`) the snapshot restic restore named,
 * listed anew, while the first listing stops. When restore named none (it failed before it wrote),
 * the listing's.
 */
async function restoredListing(
  runner: ResticRunner,
  step: RestoreStep,
  listed: { seen: Promise<SnapshotInfo>; listed: Promise<Listing>; stop: () => void },
  restoring: Promise<string | undefined>,
  signal: AbortSignal,
  log?: Logger,
): Promise<{ snapshot: SnapshotInfo; listing: Promise<Listing> }> {
  const [seen, named] = await Promise.all([
    listed.seen.then(
      (v) => ({ v }),
      (e: unknown) => ({ e }),
    ),
    restoring,
  ]);
  if ('v' in seen && (named === undefined || seen.v.id.startsWith(named))) return { snapshot: seen.v, listing: listed.listed };
  if (named === undefined) throw (seen as { e: unknown }).e;
  listed.stop();
  if ('v' in seen) {
    log?.info(`latest moved as restic restore started: it restores ${named}, not ${seen.v.shortId} (listed beside it); recording and counting ${named}`, {
      snapshot: named,
    });
  }
  let pinned!: (s: SnapshotInfo) => void;
  const first = new Promise<SnapshotInfo>((r) => (pinned = r));
  const again = runner.listSnapshot(withSnapshot(step, named), { signal, onSnapshot: pinned, background: true });
  again.catch(() => undefined); // awaited through the listing
  return { snapshot: await Promise.race([first, again.then((l) => l.snapshot)]), listing: again };
}

/**
 * What every restore of a host starts with: the Repository's backend (its files written to the
 * scratch space), the command context and a runner that redacts the backend's secrets.
 */
export async function hostRestic(
  job: ResticHostJob,
  opts: Pick<ResticHostRestorerOptions, 'restic' | 'mapLocalPath' | 'killGraceMs'>,
): Promise<{ backend: ResticBackend; ctx: CommandContext; runner: ResticRunner }> {
  const mapLocal = opts.mapLocalPath ?? ((p: string, j: ResticHostJob) => (j.root === '/' ? p : join(j.root, p)));
  const backend = resticBackend(job.repository.spec.backend, job.secret, {
    scratchDir: job.scratchDir,
    secretName: job.repository.spec.backend.storageSecretName,
    mapLocalPath: (p) => mapLocal(p, job),
  });
  await writeBackendFiles(backend);
  const ctx = commandContext(job, backend, opts.restic);
  const runner = new ResticRunner({
    ctx,
    env: backend.env,
    secrets: backend.secrets,
    killGraceMs: opts.killGraceMs,
    ...(job.log ? { log: job.log } : {}),
  });
  return { backend, ctx, runner };
}

/** The restic environment's command context for this job: binary, scratch, Repository flags, nice/ionice. */
export function commandContext(
  job: Pick<ResticHostJob, 'session' | 'scratchDir'>,
  backend: Pick<ResticBackend, 'globalArgs'>,
  restic?: string,
): CommandContext {
  const container = job.session.spec.runtimeSettings?.container;
  return {
    restic,
    scratchDir: job.scratchDir,
    tempDir: job.session.spec.tempDir,
    backendArgs: backend.globalArgs,
    nice: container?.nice,
    ionice: container?.ionice,
  };
}

/** The host plan as the command builder takes it. */
export function restoreInput(job: Pick<ResticHostJob, 'session' | 'plan' | 'root'>): RestoreInput {
  const { plan } = job;
  return {
    host: plan.host,
    rule: { sourceHost: plan.sourceHost, snapshots: plan.snapshots, paths: plan.paths, include: plan.include, exclude: plan.exclude },
    target: job.root,
    args: job.session.spec.target?.args,
  };
}

/**
 * Progress over all steps: bytes done so far, and the totals once every step's is known (never
 * with mode 'none'); bytesDone is clamped to the total.
 */
export function hostProgress(totals: readonly (Size | undefined)[], mode: TotalMode, doneBytes: number, doneFiles: number | undefined): HostProgress {
  const known = mode !== 'none' && totals.every((t) => t !== undefined);
  if (!known) return { bytesDone: doneBytes };
  const bytesTotal = sum(totals.map((t) => t!.bytes));
  const filesTotal = sum(totals.map((t) => t!.files));
  return { bytesDone: Math.min(doneBytes, bytesTotal), bytesTotal, ...(doneFiles !== undefined ? { filesDone: doneFiles } : {}), filesTotal };
}

/** What a running step's written bytes count for: nothing until its total is known, then at most that total. */
export function boundedStepBytes(written: number | undefined, total: Size | undefined): number {
  return total ? Math.min(written ?? 0, total.bytes) : 0;
}

/** The error that stops the host after a step that did not succeed, or undefined. */
export function stepFailure(r: Pick<RestoreResult, 'outcome' | 'error' | 'exitCode'>, step: Pick<RestoreStep, 'snapshot'>): ResticError | undefined {
  if (r.outcome === 'Interrupted') return new ResticError('Interrupted', 'interrupted', { snapshot: step.snapshot });
  if (r.outcome === 'Failed') {
    return new ResticError('ResticFailed', `snapshot ${step.snapshot.slice(0, 8)}: ${r.error ?? 'restic restore failed'}`, {
      snapshot: step.snapshot,
      exitCode: r.exitCode,
    });
  }
  return undefined;
}

/** Any error as a ResticError whose message the runner has redacted. */
function redactedError(runner: ResticRunner, e: unknown): ResticError {
  if (e instanceof ResticError) {
    e.message = runner.redact(e.message);
    return e;
  }
  return new ResticError('ResticFailed', runner.redact((e as Error)?.message ?? String(e)), {}, { cause: e });
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
