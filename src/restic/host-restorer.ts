// One host's restore with restic: the implementation of the agent's HostRestorer
// (src/agent/restorer.ts), built from backend.ts, commands.ts and runner.ts.
//
// Order: the Repository + Secret become the restic environment (files written to scratch);
// the host plan becomes restore steps; every step is pinned first (`latest` resolved for the
// source host); then the restores run one after another and the first failure stops the host.
// The totals (include/exclude applied) are measured by a `restic ls` running beside the
// restores, not before them: listing a 20,000-file snapshot took as long as 6-10 % of restoring
// it (bench/agent.ts), so the total arrives in the progress a little after the start. Progress
// is the sum over steps; the final progress is exact.
import { join } from 'node:path';
import type { Repository } from '../api/repository.ts';
import type { HostProgress, RestoreSession } from '../api/restoresession.ts';
import type { HostPlan } from '../hosts/types.ts';
import { resticBackend, writeBackendFiles } from './backend.ts';
import { restoreSteps } from './commands.ts';
import type { CommandContext } from './commands.ts';
import { ResticError } from './errors.ts';
import { ResticRunner } from './runner.ts';
import type { PreparedRestore, RestoreOptions } from './runner.ts';

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
  total?: RestoreOptions['total'];
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

    const prepared: PreparedRestore[] = [];
    try {
      for (const step of steps) prepared.push(await runner.prepare(step, { signal: job.signal, total: 'none' }));
    } catch (e) {
      safe(e);
    }
    const total: HostProgress = { bytesDone: 0 };
    let doneBefore = { bytes: 0, files: 0 };
    let current: { bytes: number; files: number } = { bytes: 0, files: 0 };
    const report = () => {
      // never backwards (restic's write count overshoots until a total clamps it)
      let done = Math.max(total.bytesDone ?? 0, doneBefore.bytes + current.bytes);
      if (total.bytesTotal !== undefined) done = Math.min(done, total.bytesTotal);
      total.bytesDone = done;
      if (total.filesTotal !== undefined) total.filesDone = doneBefore.files + current.files;
      job.onProgress({ ...total });
    };
    report();

    // Totals beside the restores; stopped with them. A failure to measure only leaves the total out.
    const measuring = new AbortController();
    const stopMeasuring = () => measuring.abort();
    job.signal.addEventListener('abort', stopMeasuring, { once: true });
    const mode = this.#opts.total ?? 'filtered';
    const totals = (async () => {
      if (mode === 'none') return false;
      for (const p of prepared) {
        const t = mode === 'stats' ? await runner.snapshotSize(p.snapshot, measuring.signal) : await runner.plannedSize(p.snapshot, { include: p.step.include, exclude: p.step.exclude }, measuring.signal);
        p.bytesTotal = t.bytes;
        p.filesTotal = t.files;
      }
      total.bytesTotal = sum(prepared.map((p) => p.bytesTotal!));
      total.filesTotal = sum(prepared.map((p) => p.filesTotal!));
      if (!measuring.signal.aborted) report();
      return true;
    })().catch(() => false);

    const snapshots: string[] = [];
    try {
      for (const p of prepared) {
        current = { bytes: 0, files: 0 };
        const r = await runner.restore(p, {
          signal: job.signal,
          progressIntervalMs: this.#opts.progressIntervalMs,
          onProgress: (sp) => {
            current = { bytes: Math.min(sp.bytesDone ?? 0, p.bytesTotal ?? Infinity), files: 0 };
            report();
          },
        });
        if (r.outcome === 'Interrupted') throw new ResticError('Interrupted', 'interrupted', { snapshot: p.snapshot });
        if (r.outcome === 'Failed') {
          throw new ResticError('ResticFailed', `snapshot ${p.snapshot.slice(0, 8)}: ${r.error ?? 'restic restore failed'}`, { snapshot: p.snapshot, exitCode: r.exitCode });
        }
        snapshots.push(p.snapshot);
        // the step's total, once measured; what restic wrote until then
        current = { bytes: 0, files: 0 };
        doneBefore = { bytes: doneBefore.bytes + (p.bytesTotal ?? r.progress.bytesDone ?? 0), files: doneBefore.files + (p.filesTotal ?? 0) };
      }
    } catch (e) {
      measuring.abort();
      await totals; // no restic is left running when this host is done
      throw e;
    } finally {
      job.signal.removeEventListener('abort', stopMeasuring);
    }
    // The restores are done: the exact figures are the totals (measured by now, or soon).
    if (await totals) {
      total.bytesDone = total.bytesTotal;
      total.filesDone = total.filesTotal;
    } else {
      total.bytesDone = doneBefore.bytes;
    }
    return { snapshots, progress: { ...total } };
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
