// Running a preRestore / postRestore hook handler (SPEC Hooks): exec, httpGet, httpPost,
// tcpSocket. HTTP succeeds on 200–399; the host defaults to the pod's IP. As Stash's hook
// executor: Go templates over the hook summary in exec commands and httpPost bodies, named ports
// looked up in the pod's containers (containerName's, as kmodules/prober does).
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { HookHandler, RestoreSession } from '../api/restoresession.ts';
import { RESTORE_SESSION_KIND, STASH_GROUP } from '../api/restoresession.ts';
import { targetApiVersion } from '../api/workloads.ts';
import type { Redactor } from '../common/redact.ts';
import { formatDuration } from '../session/duration.ts';
import { HookError } from './errors.ts';
import type { TemplateStruct } from './hook-template.ts';
import { renderHookTemplate } from './hook-template.ts';

/** Named ports of the pod's containers: container → port name → number (env RESTORE_CONTAINER_PORTS). */
export type ContainerPorts = Record<string, Record<string, number>>;

export interface HookContext {
  /** Host for HTTP and TCP handlers without one (the pod IP). */
  defaultHost: string;
  /** Removes secret values from text that leaves the agent (events, status). */
  redactor: Redactor;
  timeoutMs?: number;
  cwd?: string;
  /** What templates see as `.` (hookSummary); absent: templates are left as written. */
  summary?: TemplateStruct;
  /** The pod's named ports, for httpGet/httpPost/tcpSocket ports given by name. */
  containerPorts?: ContainerPorts;
  /** The container the agent runs in (env RESTORE_CONTAINER_NAME): where exec hooks run. */
  agentContainer?: string;
}

/**
 * Stash's hook summary (apimachinery invoker GetSummary for a RestoreSession), with the Go field
 * names templates use: .Name, .Namespace, .Invoker.{APIGroup,Kind,Name},
 * .Target.{APIVersion,Kind,Name,Namespace}, .Status.{Phase,Duration,Error}, .RetryLeft. Phase is
 * Failed with the first failed host's error or False condition's message, else Succeeded.
 */
export function hookSummary(session: RestoreSession, now: Date): TemplateStruct {
  const ref = session.spec.target?.ref;
  const created = session.metadata.creationTimestamp ? Date.parse(String(session.metadata.creationTimestamp)) : NaN;
  const failedHost = session.status?.stats?.find((s) => s.phase === 'Failed' || s.phase === 'Unknown');
  const failedCondition = session.status?.conditions?.find((c) => c.status === 'False' || (c.type === 'DeadlineExceeded' && c.status === 'True'));
  const error = failedHost ? (failedHost.error ?? '') : failedCondition ? (failedCondition.message ?? '') : '';
  return {
    Name: session.metadata.name,
    Namespace: session.metadata.namespace ?? '',
    Invoker: { APIGroup: STASH_GROUP, Kind: RESTORE_SESSION_KIND, Name: session.metadata.name },
    Target: { APIVersion: targetApiVersion(ref) ?? '', Kind: ref?.kind ?? '', Name: ref?.name ?? '', Namespace: ref?.namespace ?? '' },
    Status: {
      Phase: failedHost || failedCondition ? 'Failed' : 'Succeeded',
      Duration: Number.isFinite(created) ? formatDuration(now.getTime() - created) : '0s',
      Error: error,
    },
    RetryLeft: 0,
  };
}

/** The handler with its templates rendered where Stash renders them: exec.command and httpPost.body. */
export function renderHook(h: HookHandler, summary: TemplateStruct | undefined): HookHandler {
  if (!summary) return h;
  const render = (text: string) => (text.includes('{{') ? renderHookTemplate(text, summary) : text);
  return {
    ...h,
    ...(h.exec ? { exec: { ...h.exec, command: h.exec.command.map(render) } } : {}),
    ...(h.httpPost?.body !== undefined ? { httpPost: { ...h.httpPost, body: render(h.httpPost.body) } } : {}),
  };
}

export interface HookResult {
  ok: boolean;
  /** A short, redacted account of what happened, for events and conditions. */
  message: string;
}

const KEEP = 400;
const tail = (text: string) => (text.length > KEEP ? `…${text.slice(-KEEP)}` : text).trim();

export async function runHook(handler: HookHandler, ctx: HookContext): Promise<HookResult> {
  const timeoutMs = ctx.timeoutMs ?? 10 * 60_000;
  try {
    const h = renderHook(handler, ctx.summary);
    if (h.exec) {
      if (h.containerName && ctx.agentContainer && h.containerName !== ctx.agentContainer)
        return {
          ok: false,
          message: `exec hooks run in the restore agent's container ${ctx.agentContainer}, not in "${h.containerName}": in the init-container model the pod's other containers have not started, and a restore Job has no other container; remove containerName or set it to ${ctx.agentContainer}`,
        };
      return await runExec(h.exec.command, ctx, timeoutMs);
    }
    if (h.httpGet) return await runHttp('GET', h.httpGet, h.containerName, ctx, Math.min(timeoutMs, 60_000));
    if (h.httpPost) return await runHttp('POST', h.httpPost, h.containerName, ctx, Math.min(timeoutMs, 60_000));
    if (h.tcpSocket) return await runTcp(h.tcpSocket, h.containerName, ctx, Math.min(timeoutMs, 30_000));
    return { ok: false, message: 'the hook names no handler (exec, httpGet, httpPost or tcpSocket)' };
  } catch (e) {
    return { ok: false, message: ctx.redactor.text((e as Error).message) };
  }
}

function runExec(command: string[], ctx: HookContext, timeoutMs: number): Promise<HookResult> {
  return new Promise((resolve) => {
    const [file, ...args] = command;
    if (!file) return resolve({ ok: false, message: 'exec.command is empty' });
    const child = spawn(file, args, { cwd: ctx.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-4 * KEEP));
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, message: ctx.redactor.text(`cannot run ${file}: ${e.message}`) });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const out = tail(ctx.redactor.text(output));
      if (code === 0) resolve({ ok: true, message: out ? `exec succeeded: ${out}` : 'exec succeeded' });
      else
        resolve({
          ok: false,
          message: `exec ${signal ? `killed by ${signal}${signal === 'SIGKILL' ? ' (timeout)' : ''}` : `exited ${code}`}${out ? `: ${out}` : ''}`,
        });
    });
  });
}

/** A number, or a port name of `containerName` (any container when unnamed and unique), as kmodules/prober's extractPort. */
export function resolvePort(port: number | string, containerName: string | undefined, ports: ContainerPorts | undefined): number {
  let n = typeof port === 'number' ? port : /^[0-9]+$/.test(port) ? Number(port) : undefined;
  if (n === undefined) {
    const name = String(port);
    const owners = Object.entries(ports ?? {}).filter(([c, named]) => (!containerName || c === containerName) && named[name] !== undefined);
    if (owners.length === 1) n = owners[0]![1][name]!;
    else {
      const where = containerName ? `container "${containerName}"` : "the pod's containers";
      const known = Object.entries(ports ?? {})
        .filter(([c]) => !containerName || c === containerName)
        .flatMap(([c, named]) => Object.keys(named).map((p) => `${p} (${c})`));
      throw new HookError(
        'HookPortInvalid',
        owners.length > 1
          ? `port "${name}" is named in several containers (${owners.map(([c]) => c).join(', ')}): set the hook's containerName`
          : `port "${name}" is not a named port of ${where}${known.length ? `; named ports: ${known.join(', ')}` : ' (it has no named ports)'}: give the port's number, or a name from the container's ports`,
        { port },
      );
    }
  }
  if (!Number.isInteger(n) || n <= 0 || n > 65535) throw new HookError('HookPortInvalid', `port ${port} is not a port number (1-65535)`, { port });
  return n;
}

async function runHttp(
  method: 'GET' | 'POST',
  h: NonNullable<HookHandler['httpPost']>,
  containerName: string | undefined,
  ctx: HookContext,
  timeoutMs: number,
): Promise<HookResult> {
  const scheme = (h.scheme ?? 'HTTP').toLowerCase();
  const host = h.host || ctx.defaultHost;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${resolvePort(h.port, containerName, ctx.containerPorts)}${h.path?.startsWith('/') ? h.path : `/${h.path ?? ''}`}`;
  const headers: Record<string, string> = {};
  for (const hd of h.httpHeaders ?? []) headers[hd.name] = hd.value;
  let body: string | undefined;
  if (method === 'POST') {
    if (h.form?.length) {
      const form = new URLSearchParams();
      for (const f of h.form) for (const v of f.values ?? ['']) form.append(f.key, v);
      body = form.toString();
      headers['Content-Type'] ??= 'application/x-www-form-urlencoded';
    } else {
      body = h.body ?? '';
    }
  }
  const res = await fetch(url, { method, headers, body, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  const text = tail(ctx.redactor.text(await res.text().catch(() => '')));
  const ok = res.status >= 200 && res.status < 400;
  return { ok, message: `${method} ${ctx.redactor.text(url)} → ${res.status}${text ? `: ${text}` : ''}` };
}

function runTcp(h: NonNullable<HookHandler['tcpSocket']>, containerName: string | undefined, ctx: HookContext, timeoutMs: number): Promise<HookResult> {
  const port = resolvePort(h.port, containerName, ctx.containerPorts);
  return new Promise((resolve) => {
    const host = h.host || ctx.defaultHost;
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, message: `tcp ${host}:${port} accepted the connection` });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, message: `tcp ${host}:${port}: no answer in ${timeoutMs} ms` });
    });
    socket.once('error', (e) => resolve({ ok: false, message: `tcp ${host}:${port}: ${e.message}` }));
  });
}
