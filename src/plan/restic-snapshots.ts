// The restic edge of the plan's snapshot pinning: lists snapshots with `restic snapshots --json`
// where the plan runs (CI, a laptop). The Repository's backend says where the repository is; the
// credentials its storage Secret would hold in the cluster come from here instead: the password
// from --restic-password-file or RESTIC_PASSWORD, cloud keys from the environment under the
// Secret's key names (AWS_ACCESS_KEY_ID, B2_ACCOUNT_KEY, REST_SERVER_PASSWORD, …). Nothing secret
// is printed: every message goes through the runner's redaction.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { Repository } from '../api/repository.ts';
import { backendKinds } from '../api/repository.ts';
import { resticBackend, writeBackendFiles } from '../restic/backend.ts';
import type { ResticBackend, SecretData } from '../restic/backend.ts';
import { resticArgv } from '../restic/commands.ts';
import type { CommandContext } from '../restic/commands.ts';
import { isResticError } from '../restic/errors.ts';
import { ResticRunner } from '../restic/runner.ts';
import { SnapshotsUnavailable, cleanSnapshotPath } from './pin-snapshots.ts';
import type { RepositoryRef, SnapshotQuery, SnapshotRecord, SnapshotSource } from './pin-snapshots.ts';

export interface ResticSnapshotSourceOptions {
  /** The repositories' password; without it (and without `secretData`) nothing is looked up (each step says why). */
  password: string | undefined;
  /**
   * The Repository's storage Secret, read where it lives (the daemon reads it from the cluster);
   * when given, the credentials come from it instead of `password` and `env`.
   */
  secretData?: (repo: RepositoryRef & { repository: NonNullable<RepositoryRef['repository']> }) => Promise<SecretData>;
  /** Where backend credentials are read from, under the Secret's key names; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** restic binary; default `restic` from PATH. */
  restic?: string;
  /** How long one restic command may take before the repository counts as unreachable (default 30 s). */
  timeoutMs?: number;
}

/** Secret keys a backend may need (SPEC "Repository"), taken from the environment. */
const BACKEND_KEY = /^(AWS_|GOOGLE_|AZURE_|B2_|REST_SERVER_|ST_|OS_|SWIFT_)|^CA_CERT_DATA$/;

interface Prepared {
  runner: ResticRunner;
  backend: ResticBackend;
  ctx: CommandContext;
}

export class ResticSnapshotSource implements SnapshotSource {
  private readonly opts: ResticSnapshotSourceOptions;
  private readonly prepared = new Map<string, Promise<Prepared>>();
  private readonly listed = new Map<string, Promise<SnapshotRecord[]>>();
  private scratch: Promise<string> | undefined;

  constructor(opts: ResticSnapshotSourceOptions) {
    this.opts = opts;
  }

  /**
   * The snapshots the query selects. The repository is listed once per source (one `restic
   * snapshots --json`, one key derivation) and every query of it is answered from that list.
   */
  async list(repo: RepositoryRef, query: SnapshotQuery): Promise<SnapshotRecord[]> {
    const key = `${repo.namespace}/${repo.name}`;
    let all = this.listed.get(key);
    if (!all) this.listed.set(key, (all = this.listAll(repo)));
    const list = await all;
    if ('id' in query) return list.filter((s) => s.id.startsWith(query.id.toLowerCase()));
    const path = query.path !== undefined ? cleanSnapshotPath(query.path) : undefined;
    return list.filter((s) => s.hostname === query.host && (path === undefined || (s.paths ?? []).map(cleanSnapshotPath).includes(path)));
  }

  private async listAll(repo: RepositoryRef): Promise<SnapshotRecord[]> {
    const key = `${repo.namespace}/${repo.name}`;
    let p = this.prepared.get(key);
    if (!p) this.prepared.set(key, (p = this.prepare(repo)));
    const { runner, backend, ctx } = await p;
    const filter: string[] = [];
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    let r: Awaited<ReturnType<typeof runner.run>>;
    try {
      r = await runner.run(resticArgv(ctx, ['snapshots', '--json', ...filter]), { signal: AbortSignal.timeout(timeoutMs) });
    } catch (e) {
      if (isResticError(e, 'ResticNotStarted'))
        throw new SnapshotsUnavailable(`restic is not installed here (${e.message}); install restic 0.14 or later`, {}, { cause: e });
      throw e;
    }
    if (r.aborted)
      throw new SnapshotsUnavailable(
        `restic had no answer from ${backend.displayRepository} within ${Math.round(timeoutMs / 1000)} s; is it reachable from here?`,
        { repository: backend.displayRepository },
      );
    if (r.code !== 0)
      throw new SnapshotsUnavailable(`restic cannot read ${backend.displayRepository}: ${reasonOf(r.stderr)}`, { repository: backend.displayRepository });
    try {
      const list = JSON.parse(r.stdout || '[]') as SnapshotRecord[] | null;
      return list ?? [];
    } catch (e) {
      throw new SnapshotsUnavailable(
        `restic printed no JSON for ${backend.displayRepository} (${runner.redact(r.stdout.slice(0, 200))})`,
        { repository: backend.displayRepository },
        { cause: e },
      );
    }
  }

  /** Removes the scratch folder (backend files such as a CA certificate). */
  async close(): Promise<void> {
    if (this.scratch) await rm(await this.scratch, { recursive: true, force: true });
  }

  private async prepare(repo: RepositoryRef): Promise<Prepared> {
    const name = `Repository ${repo.namespace}/${repo.name}`;
    if (!repo.repository) throw new SnapshotsUnavailable(`${name} is neither in the source nor in the cluster state`, { repository: name });
    const env = this.opts.env ?? process.env;
    let data: SecretData;
    let secretName = 'the environment';
    if (this.opts.secretData) {
      data = await this.opts.secretData({ ...repo, repository: repo.repository });
      secretName = `${repo.namespace}/${repo.repository.spec.backend.storageSecretName ?? ''}`;
    } else {
      if (this.opts.password === undefined)
        throw new SnapshotsUnavailable('no restic password: set RESTIC_PASSWORD or pass --restic-password-file', { repository: name });
      const fromEnv: Record<string, string> = {};
      for (const [k, v] of Object.entries(env)) if (v && BACKEND_KEY.test(k)) fromEnv[k] = v;
      fromEnv.RESTIC_PASSWORD = this.opts.password;
      data = fromEnv;
    }
    const scratchDir = await (this.scratch ??= mkdtemp(join(tmpdir(), 'restorectl-plan-restic-')));
    const local = repo.repository.spec.backend.local;
    let backend: ResticBackend;
    try {
      backend = resticBackend(repo.repository.spec.backend, data, { scratchDir, secretName, mapLocalPath: (p) => readableLocalPath(p, local) });
    } catch (e) {
      if (isResticError(e, 'SecretKeyMissing'))
        throw new SnapshotsUnavailable(
          `${name} (${backendKinds(repo.repository.spec.backend).join()}) needs ${String(e.data.key)}: set it in ${this.opts.secretData ? `Secret ${secretName}` : 'the environment'}`,
          { repository: name },
          { cause: e },
        );
      if (isResticError(e)) throw new SnapshotsUnavailable(`${name}: ${e.message}`, { repository: name }, { cause: e });
      throw e;
    }
    if (backend.kind === 'local' && !existsSync(join(backend.repository, 'config'))) {
      const onNode = local ? hostPathRepository(local) : undefined;
      const host = onNode ? ` nor at its hostPath ${onNode}` : '';
      throw new SnapshotsUnavailable(
        `no restic repository at ${backend.repository}${host} on this machine (a local backend is read where the plan runs; the agent pins its snapshots)`,
        { repository: backend.repository },
      );
    }
    await writeBackendFiles(backend);
    const ctx: CommandContext = {
      ...(this.opts.restic ? { restic: this.opts.restic } : {}),
      scratchDir,
      tempDir: { disableCaching: true },
      backendArgs: backend.globalArgs,
    };
    return { runner: new ResticRunner({ ctx, env: backend.env, secrets: backend.secrets, baseEnv: env }), backend, ctx };
  }
}

type LocalBackend = NonNullable<Repository['spec']['backend']['local']>;

/** Where a hostPath local backend's repository is on its node: `<hostPath.path>[/<subPath>]`. */
function hostPathRepository(local: LocalBackend): string | undefined {
  const host = (local.hostPath as { path?: unknown } | undefined)?.path;
  if (typeof host !== 'string' || !host) return undefined;
  return local.subPath ? posix.join(host, local.subPath) : host;
}

/**
 * A local backend's repository as readable here: its mountPath (the plan runs where the volume is
 * mounted), else, for a hostPath volume, the node's folder (the plan or daemon runs on the node,
 * or on a machine that shares it).
 */
function readableLocalPath(mounted: string, local: LocalBackend | undefined): string {
  if (existsSync(join(mounted, 'config'))) return mounted;
  const host = local ? hostPathRepository(local) : undefined;
  return host && existsSync(join(host, 'config')) ? host : mounted;
}

/** restic's `Fatal: …` line (what went wrong) without the hints after it; else the last line. */
function reasonOf(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const fatal = lines.find((l) => l.startsWith('Fatal: '));
  return (fatal ? fatal.slice('Fatal: '.length) : lines[lines.length - 1]) ?? 'no output';
}
