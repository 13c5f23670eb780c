// Each node's kubelet endpoint, for what kube-apiserver proxies to a kubelet: `pods/log`
// (`kubectl logs [-f] [--tail N] [--limit-bytes N]`) from DIR/pods/<ns>/<pod>/containers/<c>/log.
// HTTPS on 127.0.0.1 with the serving certificate the launcher issues per node (kube-apiserver
// checks it against the cluster CA); only kube-apiserver's client certificate
// (kube-apiserver-kubelet-client) is let in. exec, attach and port-forward answer 501.
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';

export interface KubeletServerOptions {
  pki: string;
  node: string;
  pods: string;
}

export class KubeletServer {
  private readonly o: KubeletServerOptions;
  private server: Server | undefined;
  port = 0;

  constructor(options: KubeletServerOptions) {
    this.o = options;
  }

  async start(): Promise<number> {
    const pki = this.o.pki;
    this.server = createServer(
      {
        key: readFileSync(join(pki, `kubelet-${this.o.node}.key`)),
        cert: readFileSync(join(pki, `kubelet-${this.o.node}.crt`)),
        ca: readFileSync(join(pki, 'ca.crt')),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        if (peer?.subject?.CN !== 'kube-apiserver-kubelet-client') {
          res.writeHead(403).end('forbidden\n');
          return;
        }
        const url = new URL(req.url ?? '/', 'https://kubelet');
        if (url.pathname === '/healthz') return void res.end('ok');
        const m = /^\/containerLogs\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(url.pathname);
        if (!m) {
          res.writeHead(501).end(`the simulated kubelet serves only /containerLogs (not ${url.pathname})\n`);
          return;
        }
        const [, ns, pod, container] = m.map((x) => decodeURIComponent(x ?? '')) as [string, string, string, string];
        const file = join(this.o.pods, ns, pod, 'containers', container, 'log');
        if (!existsSync(file)) {
          res.writeHead(404).end(`container "${container}" in pod "${pod}" has no log (it has not run on ${this.o.node})\n`);
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain' });
        let text = readFileSync(file, 'utf8');
        const tail = url.searchParams.get('tailLines');
        if (tail !== null) {
          const lines = text.split('\n');
          const last = lines[lines.length - 1] === '' ? lines.slice(0, -1) : lines;
          text = last.slice(Math.max(0, last.length - Number(tail))).join('\n') + (last.length && Number(tail) > 0 ? '\n' : '');
        }
        const limit = url.searchParams.get('limitBytes');
        if (limit !== null) text = Buffer.from(text).subarray(0, Number(limit)).toString('utf8');
        res.write(text);
        if (url.searchParams.get('follow') !== 'true') return void res.end();
        // -f: what is appended, until the client goes.
        let offset = statSync(file).size;
        const poll = setInterval(() => {
          const size = existsSync(file) ? statSync(file).size : 0;
          if (size > offset) {
            createReadStream(file, { start: offset, end: size - 1 }).on('data', (d) => res.write(d));
            offset = size;
          }
        }, 250);
        req.on('close', () => clearInterval(poll));
      },
    );
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as { port: number }).port;
    return this.port;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
