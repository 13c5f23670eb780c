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
import type { HostPlan } from '../hosts/types.ts';
import { resticBackend, writeBackendFiles } from './backend.ts';
import { restoreSteps } from './commands.ts';
import type { CommandContext, RestoreStep } from './commands.ts';
import { ResticError } from './errors.ts';
import { ResticRunner } from './runner.ts';
import type { RestoreOptions } from './runner.ts';

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
}

export interface ResticHostOutcome {
  snapshots: string[];
  progress: HostProgress;
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
    const { session, plan } = job;
    const mapLocal = this.#opts.mapLocalPath ?? ((p: string, j: ResticHostJob) => (j.root === '/' ? p : join(j.root, p)));
    const backend = resticBackend(job.repository.spec.backend, job.secret, {
      scratchDir: job.scratchDir,
      secretName: job.repository.spec.backend.storageSecretName,
      mapLocalPath: (p) => mapLocal(p, job),
    });
    await writeBackendFiles(backend);
    const container = session.spec.runtimeSettings?.container;
    const ctx: CommandContext = {
      restic: this.#opts.restic,
      scratchDir: job.scratchDir,
      tempDir: session.spec.tempDir,
      backendArgs: backend.globalArgs,
      nice: container?.nice,
      ionice: container?.ionice,
    };
    const runner = new ResticRunner({ ctx, env: backend.env, secrets: backend.secrets, killGraceMs: this.#opts.killGraceMs });
    const steps = restoreSteps(
      {
        host: plan.host,
        rule: { sourceHost: plan.sourceHost, snapshots: plan.snapshots, paths: plan.paths, include: plan.include, exclude: plan.exclude },
        target: job.root,
        args: session.spec.target?.args,
      },
      ctx,
    );

    const safe = (e: unknown): never => {
      if (e instanceof ResticError) {
        e.message = runner.redact(e.message);
        throw e;
      }
      throw new ResticError('ResticFailed', runner.redact((e as Error)?.message ?? String(e)), {}, { cause: e });
    };

    // 1. pin every step (`latest` → id) before anything is written
    const pinned: RestoreStep[] = [];
    try {
      for (const step of steps) pinned.push(await runner.pin(step, job.signal));
    } catch (e) {
      safe(e);
    }

    // 2. totals: measured before the first restore ('before'), or alongside the restores
    //    ('parallel', default: `restic ls` of a big snapshot then costs no wall time)
    const totals: ({ bytes: number; files: number } | undefined)[] = pinned.map(() => undefined);
    const mode = this.#opts.total ?? 'filtered';
    const measureAc = new AbortController(); // stops a background measurement when the host fails
    const stopMeasuring = () => measureAc.abort();
    job.signal.addEventListener('abort', stopMeasuring, { once: true });
    // one measurement after the other (restic ls is CPU-bound), each step's total awaitable alone
    const measured: Promise<void>[] = [];
    let chain: Promise<unknown> = Promise.resolve();
    for (const [i, step] of pinned.entries()) {
      const p = chain.then(async () => {
        if (mode !== 'none') totals[i] = await runner.total(step, mode, measureAc.signal);
      });
      chain = p.catch(() => undefined);
      measured.push(p);
    }
    const settled = (i: number) => measured[i]!.catch(() => undefined);
    const allSettled = () => Promise.all(measured.map((_, i) => settled(i)));
    try {
      if (this.#opts.totals === 'before') await Promise.all(measured);
    } catch (e) {
      job.signal.removeEventListener('abort', stopMeasuring);
      safe(e);
    }
    // in 'parallel' mode a failed or interrupted measurement only leaves the total unknown

    const progress = (doneBytes: number, doneFiles: number | undefined): HostProgress => {
      const known = mode !== 'none' && totals.every((t) => t !== undefined);
      if (!known) return { bytesDone: doneBytes };
      const bytesTotal = sum(totals.map((t) => t!.bytes));
      const filesTotal = sum(totals.map((t) => t!.files));
      return { bytesDone: Math.min(doneBytes, bytesTotal), bytesTotal, ...(doneFiles !== undefined ? { filesDone: doneFiles } : {}), filesTotal };
    };

    // 3. restore in order; the first failure stops the host
    let doneBytes = 0;
    let doneFiles = 0;
    let reported = 0;
    const report = (p: HostProgress) => {
      reported = Math.max(reported, p.bytesDone ?? 0);
      job.onProgress({ ...p, bytesDone: reported });
    };
    report(progress(0, 0));
    const snapshots: string[] = [];
    for (const [i, step] of pinned.entries()) {
      const r = await runner.restore(
        { step, snapshot: step.snapshot },
        {
          signal: job.signal,
          progressIntervalMs: this.#opts.progressIntervalMs,
          onProgress: (sp) => {
            // restic's written bytes count only once this step's total can bound them, so
            // bytesDone never runs past the total and never goes back
            const t = totals[i];
            const mine = t ? Math.min(sp.bytesDone ?? 0, t.bytes) : 0;
            report(progress(doneBytes + mine, doneFiles));
          },
        },
      );
      if (r.outcome !== 'Succeeded') {
        stopMeasuring();
        await allSettled();
        job.signal.removeEventListener('abort', stopMeasuring);
      }
      if (r.outcome === 'Interrupted') throw new ResticError('Interrupted', 'interrupted', { snapshot: step.snapshot });
      if (r.outcome === 'Failed') {
        throw new ResticError('ResticFailed', `snapshot ${step.snapshot.slice(0, 8)}: ${r.error ?? 'restic restore failed'}`, { snapshot: step.snapshot, exitCode: r.exitCode });
      }
      snapshots.push(step.snapshot);
      await settled(i); // this step's total, to count it exactly
      doneBytes += totals[i]?.bytes ?? r.progress.bytesDone ?? 0;
      doneFiles += totals[i]?.files ?? 0;
    }
    await allSettled();
    job.signal.removeEventListener('abort', stopMeasuring);
    const final = progress(doneBytes, doneFiles);
    report(final);
    return { snapshots, progress: final };
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
