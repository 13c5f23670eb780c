// The agent's REST client (src/kube/rest.ts) on the wire: kept-alive connections are reused, and a
// reused one the server resets as the request goes out is sent again on a new connection.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { KubeRest } from '../../src/kube/rest.ts';

/** A minimal HTTP/1.1 server: answers `{"conn": c, "n": k}`; with resetSecond, resets a connection on its second request. */
function server(resetSecond: boolean): Promise<{ srv: Server; port: number; connections: () => number }> {
  let conns = 0;
  const srv = createServer((socket: Socket) => {
    const conn = ++conns;
    let seen = 0;
    let buf = '';
    socket.on('data', (d) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.slice(end + 4 + length);
        seen++;
        if (resetSecond && seen === 2) {
          socket.resetAndDestroy();
          return;
        }
        const body = JSON.stringify({ conn, n: seen });
        socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`);
      }
    });
    socket.on('error', () => undefined);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve({ srv, port: (srv.address() as { port: number }).port, connections: () => conns })));
}

describe('KubeRest on the wire', () => {
  it('reuses one kept-alive connection for requests one after another', async () => {
    const s = await server(false);
    const rest = new KubeRest({ server: `http://127.0.0.1:${s.port}`, tls: {}, headers: () => ({}), source: 'test' });
    try {
      assert.deepEqual(await rest.get('/a'), { conn: 1, n: 1 });
      assert.deepEqual(await rest.post('/b', { x: 1 }), { conn: 1, n: 2 });
      assert.deepEqual(await rest.put('/c', { x: 2 }), { conn: 1, n: 3 });
      assert.equal(s.connections(), 1);
    } finally {
      rest.close();
      s.srv.close();
    }
  });

  it('a reused connection reset as the request goes out: sent again on a new one, not failed', async () => {
    const s = await server(true);
    const rest = new KubeRest({ server: `http://127.0.0.1:${s.port}`, tls: {}, headers: () => ({}), source: 'test' });
    try {
      assert.deepEqual(await rest.get('/a'), { conn: 1, n: 1 });
      assert.deepEqual(await rest.put('/b', { x: 1 }), { conn: 2, n: 1 }, 'the reset request went again, on connection 2');
      assert.equal(s.connections(), 2);
    } finally {
      rest.close();
      s.srv.close();
    }
  });
});
