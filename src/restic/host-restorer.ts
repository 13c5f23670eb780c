// One host's restore with restic: the implementation of the agent's HostRestorer
// (src/agent/restorer.ts), built from backend.ts, commands.ts and runner.ts.
//
// Order: the Repository + Secret become the restic environment (files written to scratch);
// the host plan becomes restore steps; every step is prepared first (`latest` resolved for the
// source host, totals measured with include/exclude applied), so progress has one total for the
// host from the start; then the restores run one after another and the first failure stops the
// host. Progress is the sum over steps.
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
      for (const step of steps) prepared.push(await runner.prepare(step, { signal: job.signal, total: this.#opts.total }));
    } catch (e) {
      safe(e);
    }
    const known = prepared.every((p) => p.bytesTotal !== undefined);
    const total: HostProgress = known
      ? { bytesDone: 0, bytesTotal: sum(prepared.map((p) => p.bytesTotal!)), filesDone: 0, filesTotal: sum(prepared.map((p) => p.filesTotal ?? 0)) }
      : { bytesDone: 0 };
    let doneBefore = { bytes: 0, files: 0 };
    job.onProgress({ ...total });
    const snapshots: string[] = [];
    for (const p of prepared) {
      const r = await runner.restore(p, {
        signal: job.signal,
        progressIntervalMs: this.#opts.progressIntervalMs,
        onProgress: (sp) => {
          total.bytesDone = doneBefore.bytes + (sp.bytesDone ?? 0);
          if (total.filesTotal !== undefined) total.filesDone = doneBefore.files + (sp.filesDone ?? 0);
          job.onProgress({ ...total });
        },
      });
      if (r.outcome === 'Interrupted') throw new ResticError('Interrupted', 'interrupted', { snapshot: p.snapshot });
      if (r.outcome === 'Failed') {
        throw new ResticError('ResticFailed', `snapshot ${p.snapshot.slice(0, 8)}: ${r.error ?? 'restic restore failed'}`, { snapshot: p.snapshot, exitCode: r.exitCode });
      }
      snapshots.push(p.snapshot);
      doneBefore = { bytes: doneBefore.bytes + (p.bytesTotal ?? r.progress.bytesDone ?? 0), files: doneBefore.files + (p.filesTotal ?? 0) };
    }
    total.bytesDone = doneBefore.bytes;
    if (total.filesTotal !== undefined) total.filesDone = doneBefore.files;
    return { snapshots, progress: { ...total } };
  }
}

function sum(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}
