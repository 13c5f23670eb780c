// Running a preRestore / postRestore hook handler (SPEC Hooks): exec, httpGet, httpPost,
// tcpSocket. HTTP succeeds on 200–399; the host defaults to the pod's IP.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import type { HookHandler } from '../api/restoresession.ts';
import type { Redactor } from '../common/redact.ts';
import { HookError } from './errors.ts';

export interface HookContext {
  /** Host for HTTP and TCP handlers without one (the pod IP). */
  defaultHost: string;
  /** Removes secret values from text that leaves the agent (events, status). */
  redactor: Redactor;
  timeoutMs?: number;
  cwd?: string;
}

export interface HookResult {
  ok: boolean;
  /** A short, redacted account of what happened, for events and conditions. */
  message: string;
}

const KEEP = 400;
const tail = (text: string) => (text.length > KEEP ? `…${text.slice(-KEEP)}` : text).trim();

export async function runHook(h: HookHandler, ctx: HookContext): Promise<HookResult> {
  const timeoutMs = ctx.timeoutMs ?? 10 * 60_000;
  try {
    if (h.exec) return await runExec(h.exec.command, ctx, timeoutMs);
    if (h.httpGet) return await runHttp('GET', h.httpGet, ctx, Math.min(timeoutMs, 60_000));
    if (h.httpPost) return await runHttp('POST', h.httpPost, ctx, Math.min(timeoutMs, 60_000));
    if (h.tcpSocket) return await runTcp(h.tcpSocket, ctx, Math.min(timeoutMs, 30_000));
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

function portOf(port: number | string): number {
  const n = typeof port === 'number' ? port : Number(port);
  if (!Number.isInteger(n) || n <= 0 || n > 65535)
    throw new HookError(
      'HookPortInvalid',
      `port "${port}" is not a port number (named ports are not resolved by the agent): give the hook's port as a number`,
      { port },
    );
  return n;
}

async function runHttp(method: 'GET' | 'POST', h: NonNullable<HookHandler['httpPost']>, ctx: HookContext, timeoutMs: number): Promise<HookResult> {
  const scheme = (h.scheme ?? 'HTTP').toLowerCase();
  const host = h.host || ctx.defaultHost;
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${portOf(h.port)}${h.path?.startsWith('/') ? h.path : `/${h.path ?? ''}`}`;
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

function runTcp(h: NonNullable<HookHandler['tcpSocket']>, ctx: HookContext, timeoutMs: number): Promise<HookResult> {
  return new Promise((resolve) => {
    const host = h.host || ctx.defaultHost;
    const port = portOf(h.port);
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
