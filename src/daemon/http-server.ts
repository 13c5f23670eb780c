// The daemon's HTTP edge: `HOST:PORT` / `:PORT` listen addresses, and a server that starts,
// reports the port it got (port 0 picks a free one) and closes its open connections on stop.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RestoreError, errorMessage } from '../common/errors.ts';
import { nullLogger } from '../common/log.ts';
import type { Logger } from '../common/log.ts';

export interface ListenAddress {
  /** Undefined: every interface (`:PORT`). */
  host: string | undefined;
  port: number;
}

/** `ListenAddressInvalid`: the text is no HOST:PORT; `ListenFailed`: the address is well-formed but cannot be bound. */
export type ListenAddressErrorCode = 'ListenAddressInvalid' | 'ListenFailed';

export class ListenAddressError extends RestoreError<ListenAddressErrorCode, { flag: string; address: string; reason?: string }> {}

/** Parses `:8080`, `0.0.0.0:8080`, `127.0.0.1:0`, `localhost:9292`, `[::1]:8080`. */
export function parseListenAddress(flag: string, text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new ListenAddressError(
      'ListenAddressInvalid',
      `${flag} "${text}" is not a listen address: give HOST:PORT or :PORT (every interface), e.g. :8080 or 127.0.0.1:8080`,
      { flag, address: text },
    );
  }
  const host = m[1] ?? (m[2] || undefined);
  return { host, port };
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface RunningServer {
  /** `http://HOST:PORT`, with the port actually bound (for logs and tests). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts an HTTP server on `addr`; a handler that throws answers 500 (logged to `log`) and never
 * brings it down.
 */
export async function startHttpServer(name: string, addr: ListenAddress, handler: Handler, log: Logger = nullLogger): Promise<RunningServer> {
  const server: Server = createServer((req, res) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((e: unknown) => {
        log.error(`${name}: ${req.method} ${(req.url ?? '/').split('?')[0]} failed: ${errorMessage(e)}`);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('internal error\n');
      });
  });
  // Probes and webhooks are short requests: do not let an idle client hold a connection forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      const where = `${addr.host ?? ''}:${addr.port}`;
      const why =
        e.code === 'EADDRINUSE'
          ? 'the port is in use by another process'
          : e.code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : e.code === 'EADDRNOTAVAIL'
              ? 'no interface has that address'
              : e.message;
      reject(
        new ListenAddressError(
          'ListenFailed',
          `${name}: cannot listen on ${where}: ${why}`,
          { flag: name, address: where, reason: e.code ?? e.message },
          { cause: e },
        ),
      );
    };
    server.once('error', onError);
    server.listen(addr.port, addr.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { port, address, family } = server.address() as AddressInfo;
  const host = addr.host ?? '127.0.0.1';
  const shown = family === 'IPv6' && addr.host ? `[${address}]` : host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${shown}:${port}`,
    port,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** Writes a short plain-text answer. */
export function reply(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(text.endsWith('\n') ? text : `${text}\n`);
}
