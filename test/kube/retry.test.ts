// Which API failures the agent retries (issue 17): connection refused/reset, timeouts, 429 and 5xx
// are transient; 409 is a conflict (re-read); every other 4xx is an answer. And the retry loop:
// jittered exponential backoff, a warning per retry, and a typed error at the deadline.
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { AgentError } from '../../src/agent/errors.ts';
import { sinkLogger } from '../../src/common/log.ts';
import { ApiRetryError, apiErrorCode, backoffDelay, isTransient, retryClass, withApiRetry } from '../../src/kube/retry.ts';

const socketError = (code: string) =>
  Object.assign(new Error(`request to https://10.0.0.1/apis failed, reason: connect ${code} 10.0.0.1:443`), {
    name: 'FetchError',
    type: 'system',
    code,
    errno: code,
  });
const httpError = (status: number, reason = 'x') =>
  new k8s.ApiException(status, `HTTP-Code: ${status}`, JSON.stringify({ kind: 'Status', reason, message: reason }), {});

describe('kube retry: which failures are transient', () => {
  it('connection refused, reset, timeouts and DNS hiccups are transient, also when wrapped as a cause', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'EAI_AGAIN', 'UND_ERR_SOCKET']) {
      assert.equal(retryClass(socketError(code)), 'transient', code);
      assert.equal(apiErrorCode(socketError(code)), code);
    }
    assert.equal(retryClass(Object.assign(new Error('timeout'), { type: 'request-timeout' })), 'transient');
    assert.equal(retryClass(Object.assign(new Error('t'), { name: 'TimeoutError' })), 'transient');
    assert.equal(retryClass(new TypeError('fetch failed', { cause: socketError('ECONNRESET') })), 'transient');
    const wrapped = new AgentError('SessionNotFound', 'cannot read RestoreSession demo/x', { object: 'demo/x' }, { cause: socketError('ECONNREFUSED') });
    assert.ok(isTransient(wrapped));
  });

  it('429 and 5xx are transient, 409 a conflict, any other 4xx permanent', () => {
    for (const s of [429, 500, 502, 503, 504]) assert.equal(retryClass(httpError(s)), 'transient', String(s));
    assert.equal(retryClass(httpError(409, 'Conflict')), 'conflict');
    for (const s of [400, 401, 403, 404, 410, 422]) assert.equal(retryClass(httpError(s)), 'permanent', String(s));
    assert.equal(apiErrorCode(httpError(503)), 'HTTP 503');
    assert.equal(retryClass(new AgentError('SessionNotFound', 'forbidden', { status: 403 }, { cause: httpError(403, 'Forbidden') })), 'permanent');
    assert.equal(retryClass(new AgentError('SessionNotFound', 'busy', {}, { cause: httpError(503) })), 'transient');
  });

  it('a plain error, and a retry error that already gave up, are not retried', () => {
    assert.equal(retryClass(new Error('boom')), 'permanent');
    assert.equal(
      retryClass(
        new ApiRetryError(
          'ApiUnavailable',
          'gave up',
          { what: 'w', attempts: 3, lastError: 'ECONNREFUSED', deadline: '' },
          { cause: socketError('ECONNREFUSED') },
        ),
      ),
      'permanent',
    );
  });
});

describe('kube retry: the loop', () => {
  const logged = () => {
    const lines: Record<string, unknown>[] = [];
    return { lines, log: sinkLogger((r) => lines.push(r), { level: 'debug' }) };
  };

  it('backoff doubles from the base to the cap, jittered between half and all of it', () => {
    assert.equal(
      backoffDelay(1, 200, 10_000, () => 1),
      200,
    );
    assert.equal(
      backoffDelay(1, 200, 10_000, () => 0),
      100,
    );
    assert.equal(
      backoffDelay(4, 200, 10_000, () => 1),
      1600,
    );
    assert.equal(
      backoffDelay(30, 200, 10_000, () => 1),
      10_000,
    );
    assert.equal(
      backoffDelay(30, 200, 10_000, () => 0),
      5000,
    );
    for (let i = 1; i < 50; i++) {
      const d = backoffDelay(i, 200, 10_000);
      assert.ok(d >= 100 && d <= 10_000, String(d));
    }
  });

  it('retries transient failures, warning each time with the error code, until the call succeeds', async () => {
    const { lines, log } = logged();
    let clock = 0;
    const failures = [socketError('ECONNREFUSED'), httpError(503), socketError('ECONNRESET')];
    const got = await withApiRetry(
      "write host h-0's stat",
      async () => {
        const f = failures.shift();
        if (f) throw f;
        return 'written';
      },
      { deadline: 60_000, log, now: () => clock, sleep: async (ms) => void (clock += ms) },
    );
    assert.equal(got, 'written');
    assert.deepEqual(
      lines.map((l) => [l['level'], l['code'], l['attempt']]),
      [
        ['warn', 'ECONNREFUSED', 1],
        ['warn', 'HTTP 503', 2],
        ['warn', 'ECONNRESET', 3],
      ],
    );
    assert.match(String(lines[0]!['msg']), /^write host h-0's stat: ECONNREFUSED; retrying in \d+ ms \(attempt 1\)$/);
  });

  it('a permanent failure is thrown at once, unretried', async () => {
    const { lines, log } = logged();
    let calls = 0;
    const forbidden = httpError(403, 'Forbidden');
    await assert.rejects(
      withApiRetry(
        'w',
        async () => {
          calls++;
          throw forbidden;
        },
        { deadline: Date.now() + 60_000, log },
      ),
      (e) => e === forbidden,
    );
    assert.equal(calls, 1);
    assert.deepEqual(lines, []);
  });

  it('with a refusal grace, 401 and 403 are retried for that long from the first of them, then thrown (an API server that just restarted)', async () => {
    const { lines, log } = logged();
    let clock = 0;
    const failures = [socketError('ECONNREFUSED'), httpError(403, 'Forbidden'), httpError(401, 'Unauthorized')];
    const got = await withApiRetry(
      'w',
      async () => {
        const f = failures.shift();
        if (f) throw f;
        return 'written';
      },
      { deadline: 600_000, log, refusalGraceMs: 30_000, now: () => clock, sleep: async (ms) => void (clock += ms) },
    );
    assert.equal(got, 'written');
    assert.deepEqual(
      lines.map((l) => l['code']),
      ['ECONNREFUSED', 'HTTP 403', 'HTTP 401'],
    );
    const forbidden = httpError(403, 'Forbidden');
    let calls = 0;
    clock = 0;
    await assert.rejects(
      withApiRetry(
        'w',
        async () => {
          calls++;
          throw forbidden;
        },
        { deadline: 600_000, log, refusalGraceMs: 30_000, now: () => clock, sleep: async (ms) => void (clock += ms) },
      ),
      (e) => e === forbidden,
    );
    assert.ok(calls > 1 && clock > 30_000 && clock < 60_000, `${calls} calls over ${clock} ms`);
  });

  it('gives up with ApiUnavailable when the next retry would start after the deadline, never looping for ever', async () => {
    const { lines, log } = logged();
    let clock = 0;
    let calls = 0;
    const err = await withApiRetry(
      "write host h-0's stat",
      async () => {
        calls++;
        throw socketError('ECONNREFUSED');
      },
      { deadline: 30_000, log, now: () => clock, sleep: async (ms) => void (clock += ms) },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiRetryError, String(err));
    assert.equal(err.code, 'ApiUnavailable');
    assert.equal(err.data.lastError, 'ECONNREFUSED');
    assert.equal(err.data.attempts, calls);
    assert.ok(clock <= 30_000, `slept past the deadline: ${clock}`);
    assert.equal(lines.length, calls - 1);
    assert.match(err.message, /^write host h-0's stat: the Kubernetes API failed \d+ time\(s\), last with ECONNREFUSED/);
    console.log(`      ${calls} attempts over ${clock} ms of simulated time`);
  });
});
