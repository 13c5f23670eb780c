// One host's restore with restic: the implementation of the agent's HostRestorer
// (src/agent/restorer.ts), built from backend.ts, commands.ts and runner.ts.
//
// Order: the Repository + Secret become the restic environment (files written to scratch);
// the host plan becomes restore steps; every step is pinned first (`latest` resolved for the
// source host, so the reported id is the one restored); the restores run one after another and
// the first failure stops the host. The total (include/exclude applied, from `restic ls`) is
// measured alongside the restores by default, so it costs no wall time; progress is the sum
// over steps and carries the total once it is known.
import { join } from 'node:path';
import type { Repository } from '../api/repository.ts';
import type { HostProgress, RestoreSession } from '../api/restoresession.ts';
import type { Logger } from '../common/log.ts';
import type { HostPlan } from '../hosts/types.ts';
import { resticBackend, writeBackendFiles } from './backend.ts';
import type { ResticBackend } from './backend.ts';
import { restoreSteps } from './commands.ts';
import type { CommandContext, RestoreInput, RestoreStep } from './commands.ts';
import { ResticError } from './errors.ts';
import { ResticRunner } from './runner.ts';
import type { RestoreOptions, RestoreResult } from './runner.ts';

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
}

export interface ResticHostOutcome {
  snapshots: string[];
  progress: HostProgress;
  /** What the data was restored into, for messages, when not the host's volumes (a database). */
  into?: string;
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
   * 'parallel' (default): restores start right after `latest` is resolved and the total is
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
    const mapLocal = this.#opts.mapLocalPath ?? ((p: string, j: ResticHostJob) => (j.root === '/' ? p : join(j.root, p)));
    const backend = resticBackend(job.repository.spec.backend, job.secret, {
      scratchDir: job.scratchDir,
      secretName: job.repository.spec.backend.storageSecretName,
      mapLocalPath: (p) => mapLocal(p, job),
    });
    await writeBackendFiles(backend);
    const ctx = commandContext(job, backend, this.#opts.restic);
    const runner = new ResticRunner({
      ctx,
      env: backend.env,
      secrets: backend.secrets,
      killGraceMs: this.#opts.killGraceMs,
      ...(job.log ? { log: job.log } : {}),
    });
    const steps = restoreSteps(restoreInput(job), ctx);
    const safe = (e: unknown): never => {
      throw redactedError(runner, e);
    };

    // 1. pin every step (`latest` → id) before anything is written
    const pinned: RestoreStep[] = [];
    try {
      for (const step of steps) pinned.push(await runner.pin(step, job.signal));
    } catch (e) {
      safe(e);
    }

    // 2. totals: measured before the first restore ('before'), or alongside the restores
    //    ('parallel', default: `restic ls` of a big snapshot then costs no wall time); in
    //    'parallel' mode a failed or interrupted measurement only leaves the total unknown
    const totals = new StepTotals(runner, pinned, this.#opts.total ?? 'filtered', job.signal);
    try {
      if (this.#opts.totals === 'before') await totals.all();
    } catch (e) {
      totals.dispose();
      safe(e);
    }

    // 3. restore in order; the first failure stops the host
    try {
      return await this.#restoreInOrder(job, runner, pinned, totals);
    } finally {
      totals.dispose();
    }
  }

  async #restoreInOrder(job: ResticHostJob, runner: ResticRunner, pinned: RestoreStep[], totals: StepTotals): Promise<ResticHostOutcome> {
    let doneBytes = 0;
    let doneFiles = 0;
    let reported = 0;
    const report = (p: HostProgress) => {
      reported = Math.max(reported, p.bytesDone ?? 0);
      job.onProgress({ ...p, bytesDone: reported });
    };
    report(hostProgress(totals.values, totals.mode, 0, 0));
    const snapshots: string[] = [];
    for (const [i, step] of pinned.entries()) {
      const r = await runner.restore(
        { step, snapshot: step.snapshot },
        {
          signal: job.signal,
          progressIntervalMs: this.#opts.progressIntervalMs,
          // restic's written bytes count only once this step's total can bound them, so
          // bytesDone never runs past the total and never goes back
          onProgress: (sp) => report(hostProgress(totals.values, totals.mode, doneBytes + boundedStepBytes(sp.bytesDone, totals.values[i]), doneFiles)),
        },
      );
      const failure = stepFailure(r, step);
      if (failure) {
        totals.stop();
        await totals.allSettled();
        throw failure;
      }
      snapshots.push(step.snapshot);
      await totals.settled(i); // this step's total, to count it exactly
      doneBytes += totals.values[i]?.bytes ?? r.progress.bytesDone ?? 0;
      doneFiles += totals.values[i]?.files ?? 0;
    }
    await totals.allSettled();
    const final = hostProgress(totals.values, totals.mode, doneBytes, doneFiles);
    report(final);
    return { snapshots, progress: final };
  }
}

type Size = { bytes: number; files: number };
type TotalMode = NonNullable<RestoreOptions['total']>;

/**
 * The totals of pinned steps, measured one after the other (restic ls is CPU-bound), each
 * awaitable alone. Aborting the job, or `stop()` (the host failed), stops the measurement.
 */
class StepTotals {
  readonly values: (Size | undefined)[];
  readonly mode: TotalMode;
  readonly #measured: Promise<void>[] = [];
  readonly #ac = new AbortController();
  readonly #signal: AbortSignal;
  readonly stop = () => this.#ac.abort();

  constructor(runner: ResticRunner, pinned: readonly RestoreStep[], mode: TotalMode, signal: AbortSignal) {
    this.mode = mode;
    this.values = pinned.map(() => undefined);
    this.#signal = signal;
    signal.addEventListener('abort', this.stop, { once: true });
    let chain: Promise<unknown> = Promise.resolve();
    for (const [i, step] of pinned.entries()) {
      const p = chain.then(async () => {
        if (mode !== 'none') this.values[i] = await runner.total(step, mode, this.#ac.signal);
      });
      chain = p.catch(() => undefined);
      this.#measured.push(p);
    }
  }

  /** Every measurement; rejects with the first failure. */
  async all(): Promise<void> {
    await Promise.all(this.#measured);
  }

  settled(i: number): Promise<void> {
    return this.#measured[i]!.catch(() => undefined);
  }

  async allSettled(): Promise<void> {
    await Promise.all(this.#measured.map((_, i) => this.settled(i)));
  }

  dispose(): void {
    this.#signal.removeEventListener('abort', this.stop);
  }
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
