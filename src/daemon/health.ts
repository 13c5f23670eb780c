// Liveness and readiness, and the metrics server's routes (/metrics, /healthz, /readyz).
//
// /healthz: the process is alive and serving (200).
// /readyz:  200 on a standby replica (so a rollout can proceed while another replica leads);
//           on the acting replica, 200 once a cycle has synced the source and planned, and 503
//           with a short reason while the git remote is failing (the last good revision stays in
//           force) or before the first cycle got that far. Leadership is in the metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { reply } from './http-server.ts';
import type { DaemonMetrics } from './metrics.ts';

export type Role = 'single' | 'leader' | 'standby';

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface Readiness {
  ready: boolean;
  reason: string;
}

export class Health {
  role: Role = 'single';
  private firstCycleAt: Date | undefined;
  private sourceFailingSince: Date | undefined;
  private sourceFailures = 0;
  private lastGoodCommit: string | null | undefined;
  private startFailingSince: Date | undefined;
  private sourceProblems: { errors: number; files: string[] } = { errors: 0, files: [] };

  /** Building the daemon failed (at `at`), or succeeded (undefined). */
  startFailed(at: Date | undefined): void {
    this.startFailingSince = at ? (this.startFailingSince ?? at) : undefined;
  }

  sourceSynced(ok: boolean, commit: string | null | undefined, at: Date = new Date()): void {
    if (ok) {
      this.sourceFailingSince = undefined;
      this.sourceFailures = 0;
      this.lastGoodCommit = commit;
    } else {
      this.sourceFailingSince ??= at;
      this.sourceFailures++;
    }
  }

  /** The diagnostics of the last plan: a source with errors stays ready (the other files are applied), and /readyz says so. */
  sourceChecked(diagnostics: readonly { file: string; severity: string }[]): void {
    const errors = diagnostics.filter((d) => d.severity === 'error');
    this.sourceProblems = { errors: errors.length, files: [...new Set(errors.map((d) => d.file).filter(Boolean))].sort() };
  }

  /** A cycle that synced the source and planned (whatever its applies and pushes did). */
  cyclePlanned(at: Date = new Date()): void {
    this.firstCycleAt ??= at;
  }

  readiness(): Readiness {
    if (this.role === 'standby') return { ready: true, reason: 'standby: another replica holds the leader Lease' };
    if (this.startFailingSince)
      return {
        ready: false,
        reason: `cannot start acting since ${iso(this.startFailingSince)}: reading the status branch or starting the controller fails (the log says why); retrying`,
      };
    if (this.sourceFailingSince) {
      const since = iso(this.sourceFailingSince);
      const inForce = this.lastGoodCommit
        ? `the last good revision ${this.lastGoodCommit.slice(0, 12)} stays in force`
        : this.lastGoodCommit === null
          ? 'the last good revision stays in force'
          : 'no revision was fetched yet';
      return {
        ready: false,
        reason: `git source failing since ${since} (${this.sourceFailures} failed sync${this.sourceFailures === 1 ? '' : 's'}); ${inForce}`,
      };
    }
    if (!this.firstCycleAt) return { ready: false, reason: 'no cycle has synced the source and planned yet' };
    const { errors, files } = this.sourceProblems;
    if (errors) {
      const shown = files.slice(0, 5).join(', ') + (files.length > 5 ? `, +${files.length - 5} more` : '');
      return {
        ready: true,
        reason: `ok; the source has ${errors} error${errors === 1 ? '' : 's'}${files.length ? ` in ${shown}` : ''}: those manifests are not applied, the others are (STATUS.md lists the errors)`,
      };
    }
    return { ready: true, reason: 'ok' };
  }
}

/** GET /metrics, /healthz, /readyz; anything else 404, other methods 405. */
export function metricsHandler(metrics: DaemonMetrics, health: Health) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'method not allowed', { allow: 'GET, HEAD' });
    switch (path) {
      case '/metrics': {
        const body = await metrics.render();
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      case '/healthz':
        return reply(res, 200, 'ok');
      case '/readyz': {
        const r = health.readiness();
        return reply(res, r.ready ? 200 : 503, r.reason);
      }
      default:
        return reply(res, 404, 'not found: this server answers /metrics, /healthz and /readyz');
    }
  };
}
