// The I/O edge of a built-in database restore: one host's `restic dump <snapshot> /<dumpfile> |
// [filter] | <client>` as Stash's addons run it, streamed (never the whole dump in memory), after
// the database accepts connections (task param waitTimeout). It implements the agent's
// HostRestorer for sessions whose task is one of Stash's catalog database tasks.
//
// Order: read the AppBinding and its Secrets (the source: the agent's API edge); every value read
// joins the redaction; the connection and the client commands (pure: connection.ts,
// commands.ts); wait until the server answers; then the pipe per snapshot, `latest` of the source
// host resolved by restic dump itself, which snapshot that was told after it from its cache and a
// listing run beside it (src/restic/dumped-snapshot.ts). A failing client is reported with its
// own message (wrong password, refused statement), a failing dump with restic's; both redacted.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AppBinding } from '../api/appbinding.ts';
import { Redactor } from '../common/redact.ts';
import { cacheDir, dumpArgv } from '../restic/commands.ts';
import { dumpedSnapshot } from '../restic/dumped-snapshot.ts';
import { hostRestic } from '../restic/host-restorer.ts';
import type { ResticHostJob, ResticHostOutcome } from '../restic/host-restorer.ts';
import { notFound, tail } from '../restic/runner.ts';
import { builtInDatabaseTask } from './addons.ts';
import type { DatabaseAddon } from './addons.ts';
import { databaseCommands } from './commands.ts';
import type { ClientCommand } from './commands.ts';
import { appBindingSecretNames, connectionOf, serverName } from './connection.ts';
import { DatabaseError } from './errors.ts';
import { DropLines } from './filter.ts';
import { databaseParams } from './params.ts';

/** Where the AppBinding and its Secrets are read (the agent's cluster edge). */
export interface DatabaseSource {
  appBinding(namespace: string, name: string): Promise<AppBinding>;
  /** The Secret's data, decoded. */
  secretData(namespace: string, name: string): Promise<Record<string, string>>;
}

export interface DatabaseRestorerOptions {
  restic?: string;
  /** Where a local backend's mountPath is on this machine (as ResticHostRestorer's). */
  mapLocalPath?: (mountPath: string, job: ResticHostJob) => string;
  /** Between two readiness checks (default 2000 ms). */
  pollMs?: number;
}

/** The Secret keys of database user names (connection.ts): not masked. */
const USER_KEYS = ['username', 'POSTGRES_USER'];

/** Environment variables that carry a database password: never passed on from the agent's own environment. */
const CLIENT_SECRET_ENV = ['PGPASSWORD', 'MYSQL_PWD', 'REDISCLI_AUTH', 'PGSSLKEY'];

export class DatabaseRestorer {
  readonly #source: DatabaseSource;
  readonly #opts: DatabaseRestorerOptions;

  constructor(source: DatabaseSource, opts: DatabaseRestorerOptions = {}) {
    this.#source = source;
    this.#opts = opts;
  }

  /** Restores one database host. Throws an Error whose message is redacted and safe to show. */
  async restore(job: ResticHostJob): Promise<ResticHostOutcome> {
    let redactor = new Redactor(Object.values(job.secret));
    try {
      return await this.#restore(job, (r) => (redactor = r));
    } catch (e) {
      if (e instanceof Error) e.message = redactor.text(e.message);
      throw e;
    }
  }

  async #restore(job: ResticHostJob, setRedactor: (r: Redactor) => void): Promise<ResticHostOutcome> {
    const { session, log } = job;
    const chosen = builtInDatabaseTask(session.spec.task?.name);
    const ref = session.spec.target?.ref;
    if (!chosen || !ref)
      throw new DatabaseError('AppBindingInvalid', `RestoreSession ${session.metadata.namespace}/${session.metadata.name} is not a database restore`, {});
    const { addon } = chosen;
    const params = databaseParams(session);
    const ns = ref.namespace || session.metadata.namespace!;
    const appBinding = await this.#source.appBinding(ns, ref.name);
    const secrets: Record<string, Record<string, string>> = {};
    for (const name of appBindingSecretNames(appBinding)) secrets[name] = await this.#source.secretData(ns, name);
    // Every value the Secrets hold is masked, but the user names: they are in the clients' argv as with Stash, not secrets.
    const shown = (data: Record<string, string>) =>
      Object.entries(data)
        .filter(([k]) => !USER_KEYS.includes(k))
        .map(([, v]) => v);
    const redactor = new Redactor([...Object.values(job.secret), ...Object.values(secrets).flatMap(shown)]);
    setRedactor(redactor);
    const conn = connectionOf({ appBinding, addon, secrets, ...(params.user ? { user: params.user } : {}) });
    const server = serverName(conn);
    const into = `${addon.title} at ${server} (AppBinding ${ns}/${ref.name})`;

    // TLS files go to a private folder of the scratch space.
    const dir = join(job.scratchDir, 'database');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const cmds = databaseCommands(addon, conn, params, dir);
    for (const f of cmds.files) await writeFile(f.path, f.content, { mode: 0o600 });

    const { backend, ctx, runner } = await hostRestic(job, this.#opts);

    // The snapshots: `latest` of the source host (host-0, as Stash's backup names it), or the ids
    // given. `latest` is resolved by restic dump itself, which starts at once (no repository open
    // of its own before it: ≈0.7 s of key derivation and lock); which snapshot it dumped is told
    // afterwards from its own cache (dumped-snapshot.ts) and the listing started here, beside it.
    // Without a cache (tempDir.disableCaching) there is no such record: latest is resolved first.
    const sourceHost = job.plan.sourceHost || job.plan.host;
    const wanted = job.plan.snapshots?.length ? job.plan.snapshots : ['latest'];
    const atOnce = !ctx.tempDir?.disableCaching;
    const ids: string[] = [];
    for (const s of wanted) ids.push(s === 'latest' && !atOnce ? (await runner.resolveLatest({ host: sourceHost }, job.signal)).id : s);
    const listed = ids.includes('latest') ? runner.snapshots(job.signal, { background: true }) : undefined;
    listed?.catch(() => undefined); // awaited after the dump

    await waitUntilReady(cmds.ready, {
      addon,
      into,
      seconds: params.waitTimeoutSeconds,
      pollMs: this.#opts.pollMs ?? 2000,
      signal: job.signal,
      server,
      appBinding: conn.appBinding,
    });
    log?.info(`${addon.title} answers at ${server}: restoring ${addon.dumpFile} of snapshot ${ids.map((i) => i.slice(0, 8)).join(', ')}`, { server });

    const resticEnv = { ...baseEnv(), ...backend.env };
    let bytesDone = 0;
    for (const [i, id] of ids.entries()) {
      // a `latest` dump gets a cache of its own that starts empty: what it holds afterwards is what restic chose among
      const dumpCtx = id === 'latest' ? { ...ctx, scratchDir: join(dir, `dump-${i}`) } : ctx;
      if (id === 'latest') await rm(dumpCtx.scratchDir, { recursive: true, force: true });
      const argv = dumpArgv(dumpCtx, id, `/${addon.dumpFile}`, { host: sourceHost });
      let result: DumpResult;
      try {
        result = await dumpInto(argv, resticEnv, cmds.restore, addon, job.signal, (n) => {
          bytesDone += n;
          job.onProgress({ bytesDone });
        });
      } catch (e) {
        // restic dump's "latest snapshot for criteria not found", said as the resolution says it
        if (id === 'latest' && e instanceof DatabaseError && e.code === 'DumpFailed') {
          const all = await listed!.catch(() => undefined);
          if (all && !all.some((x) => x.hostname === sourceHost)) throw notFound({ snapshot: 'latest', host: sourceHost });
        }
        throw e;
      }
      if (id === 'latest') {
        const dumped = await dumpedSnapshot(runner, { cacheDir: cacheDir(dumpCtx), host: sourceHost, listed: listed!, signal: job.signal, log });
        ids[i] = dumped.id;
        await rm(dumpCtx.scratchDir, { recursive: true, force: true }).catch(() => undefined); // read: scratch space back
        log?.info(`restic dump restored latest of ${sourceHost}: snapshot ${dumped.shortId}`, { snapshot: dumped.id });
      }
      if (result.clientOutput) log?.info(`${addon.client}: ${redactor.text(result.clientOutput)}`, { snapshot: ids[i] });
      if (result.dropped) log?.info(`dropped ${result.dropped} ALTER ROLE postgres … PASSWORD line(s) of the dump, as Stash does`, { snapshot: ids[i] });
    }
    if (cmds.after) {
      const r = await runOnce(cmds.after, job.signal);
      if (r.code !== 0) log?.warn(`${cmds.after.argv.slice(-2).join(' ')} failed: ${redactor.text(tail(r.output.trim(), 3, 500))}`, { server });
    }
    job.onProgress({ bytesDone, bytesTotal: bytesDone, filesDone: ids.length, filesTotal: ids.length });
    return { snapshots: ids, progress: { bytesDone, bytesTotal: bytesDone, filesDone: ids.length, filesTotal: ids.length }, into };
  }
}

function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RESTIC_') && !CLIENT_SECRET_ENV.includes(k)) env[k] = v;
  return env;
}

interface RunResult {
  code: number | null;
  output: string;
}

function notStarted(command: string, e: NodeJS.ErrnoException): DatabaseError {
  return new DatabaseError(
    'ClientNotStarted',
    `cannot start ${command}: ${e.code ?? e.message} (restore-controller's image carries the database clients; elsewhere install them: scripts/install-deps.sh)`,
    { command },
  );
}

/** Runs a short command to its end; its output (stdout and stderr) kept for messages. */
function runOnce(cmd: ClientCommand, signal: AbortSignal): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.argv[0]!, cmd.argv.slice(1), { env: { ...baseEnv(), ...cmd.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (c: Buffer) => (output = (output + c.toString('utf8')).slice(-4000));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const onAbort = () => child.kill('SIGTERM');
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(notStarted(cmd.argv[0]!, e));
    });
    child.once('close', (code) => {
      signal.removeEventListener('abort', onAbort);
      resolve({ code, output });
    });
  });
}

interface WaitInput {
  addon: DatabaseAddon;
  into: string;
  server: string;
  appBinding: string;
  seconds: number;
  pollMs: number;
  signal: AbortSignal;
}

/** Polls the ready command until it succeeds; DatabaseUnreachable once `seconds` passed. */
async function waitUntilReady(ready: ClientCommand, w: WaitInput): Promise<void> {
  const deadline = Date.now() + w.seconds * 1000;
  for (;;) {
    const r = await runOnce(ready, w.signal);
    if (w.signal.aborted) throw new DatabaseError('Interrupted', 'interrupted', { server: w.server });
    if (r.code === 0) return;
    if (Date.now() + w.pollMs > deadline) {
      const said = tail(r.output.trim(), 3, 500);
      throw new DatabaseError(
        'DatabaseUnreachable',
        `${w.into} did not accept connections within ${w.seconds} s${said ? ` (${ready.argv[0]}: ${said})` : ''}: check that the database runs and that the AppBinding's clientConfig points at it, or raise the task param waitTimeout`,
        { server: w.server, appBinding: w.appBinding, command: ready.argv[0]! },
      );
    }
    await new Promise((res) => setTimeout(res, w.pollMs));
  }
}

class Counter extends Transform {
  readonly onBytes: (n: number) => void;
  constructor(onBytes: (n: number) => void) {
    super();
    this.onBytes = onBytes;
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.onBytes(chunk.length);
    done(null, chunk);
  }
}

interface DumpResult {
  clientOutput: string;
  dropped: number;
}

/** `restic dump … | [DropLines] | client`, both ends awaited; the client's failure is reported first. */
async function dumpInto(
  dumpArgv: string[],
  resticEnv: NodeJS.ProcessEnv,
  client: ClientCommand,
  addon: DatabaseAddon,
  signal: AbortSignal,
  onBytes: (n: number) => void,
): Promise<DumpResult> {
  const dump = spawn(dumpArgv[0]!, dumpArgv.slice(1), { env: resticEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const cli = spawn(client.argv[0]!, client.argv.slice(1), { env: { ...baseEnv(), ...client.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const ended = (p: ChildProcess, command: string) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      p.once('error', (e) => reject(notStarted(command, e)));
      p.once('close', (code, sig) => resolve({ code, signal: sig }));
    });
  let dumpErr = '';
  let cliOut = '';
  dump.stderr!.on('data', (c: Buffer) => (dumpErr = (dumpErr + c.toString('utf8')).slice(-4000)));
  const keep = (c: Buffer) => (cliOut = (cliOut + c.toString('utf8')).slice(-4000));
  cli.stdout!.on('data', keep);
  cli.stderr!.on('data', keep);
  const kill = () => {
    dump.kill('SIGTERM');
    cli.kill('SIGTERM');
  };
  signal.addEventListener('abort', kill, { once: true });
  const filter = addon.filter === 'drop-postgres-password' ? new DropLines() : undefined;
  // EPIPE when the client stops reading (it failed): its exit status says why.
  const piped = pipeline([dump.stdout!, ...(filter ? [filter] : []), new Counter(onBytes), cli.stdin!]).catch((e: Error) => e);
  try {
    const [d, c, pipeError] = await Promise.all([ended(dump, 'restic'), ended(cli, client.argv[0]!), piped]);
    if (signal.aborted) throw new DatabaseError('Interrupted', 'interrupted', {});
    if (c.code !== 0) {
      throw new DatabaseError(
        'DatabaseRestoreFailed',
        `${client.argv[0]} ${c.code !== null ? `exited ${c.code}` : `was killed (${c.signal})`} restoring into ${addon.title}: ${tail(cliOut.trim(), 5, 1000) || '(no output)'}`,
        { command: client.argv[0]!, exitCode: c.code },
      );
    }
    if (d.code !== 0) {
      throw new DatabaseError(
        'DumpFailed',
        `restic dump of /${addon.dumpFile} ${d.code !== null ? `exited ${d.code}` : `was killed (${d.signal})`}: ${tail(dumpErr.trim(), 5, 1000) || '(no output)'} (Stash's ${addon.title} backup stores /${addon.dumpFile} for host host-0)`,
        { command: 'restic', exitCode: d.code },
      );
    }
    if (pipeError)
      throw new DatabaseError('DatabaseRestoreFailed', `streaming the dump into ${client.argv[0]} failed: ${pipeError.message}`, { command: client.argv[0]! });
    return { clientOutput: tail(cliOut.trim(), 5, 1000), dropped: filter?.dropped ?? 0 };
  } finally {
    signal.removeEventListener('abort', kill);
  }
}
