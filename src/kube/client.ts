// The client side of every request the product makes: a token bucket (QPS and burst, as
// client-go's rest.Config) so a controller in a hot loop cannot flood the API server, and one
// keep-alive connection pool per kubeconfig. client-node 1.4 makes a new http(s).Agent for every
// request (a TCP connection, and a TLS handshake, per call); here the agent is made once per
// set of TLS options and reused.
import type { Agent } from 'node:http';
import type { Cluster, KubeConfig } from '@kubernetes/client-node';

export interface ClientLimits {
  /** Sustained requests per second; 0 turns the limit off. */
  qps: number;
  /** Requests that may go at once before the QPS limit applies. */
  burst: number;
}

/**
 * Flux's controllers' defaults (50 QPS, burst 300): client-go's bare 5/10 suit kubectl-like
 * tools, kube-controller-manager's 20/30 a process with dozens of controllers sharing one client.
 */
export const DEFAULT_CLIENT_LIMITS: ClientLimits = { qps: 50, burst: 300 };

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: Clock = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** A token bucket: `burst` tokens, refilled at `qps` per second; each request takes one, waiting its turn (first come, first served). */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly limits: ClientLimits;
  private readonly clock: Clock;
  /** Requests that had to wait for a token, and for how long in all (ms). */
  readonly stats = { taken: 0, waited: 0, waitedMs: 0 };

  constructor(limits: ClientLimits, clock: Clock = realClock) {
    if (!(limits.qps >= 0) || !(limits.burst >= 1))
      throw new RangeError(`client limits need qps ≥ 0 and burst ≥ 1; got qps ${limits.qps}, burst ${limits.burst}`);
    this.limits = limits;
    this.clock = clock;
    this.tokens = limits.burst;
    this.last = clock.now();
  }

  /** Resolves when the caller may send its request. */
  take(): Promise<void> {
    this.stats.taken++;
    if (this.limits.qps === 0) return Promise.resolve();
    const now = this.clock.now();
    this.tokens = Math.min(this.limits.burst, this.tokens + ((now - this.last) / 1000) * this.limits.qps);
    this.last = now;
    // A negative count is the queue of reservations already made: wait until this one's token has come.
    this.tokens -= 1;
    if (this.tokens >= 0) return Promise.resolve();
    const ms = (-this.tokens / this.limits.qps) * 1000;
    this.stats.waited++;
    this.stats.waitedMs += ms;
    return this.clock.sleep(ms);
  }
}

interface AgentOptions {
  ca?: Buffer | string;
  cert?: Buffer | string;
  key?: Buffer | string;
  pfx?: Buffer | string;
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
}

type CreateAgent = (cluster: Cluster | null, options: AgentOptions & { keepAlive?: boolean; timeout?: number }) => Agent;

const text = (v: Buffer | string | undefined) => (v === undefined ? '' : Buffer.isBuffer(v) ? v.toString('base64') : v);

const pooled = new WeakSet<KubeConfig>();

/**
 * A view of `kc` (whatever class it is: its own makeApiClient is kept) whose API clients and
 * watches share keep-alive connections: one agent per set of TLS options, instead of client-node's
 * new agent (a TCP connection and, against a real API server, a TLS handshake) for every request.
 */
export function pooledKubeConfig(kc: KubeConfig): KubeConfig {
  // A view of a pooled view would only add a second map in front of the same agents.
  if (pooled.has(kc)) return kc;
  const out = Object.create(kc) as KubeConfig;
  pooled.add(out);
  const create = (kc as unknown as { createAgent: CreateAgent }).createAgent;
  const agents = new Map<string, Agent>();
  (out as unknown as { createAgent: CreateAgent }).createAgent = (cluster, options) => {
    const key = JSON.stringify([
      cluster?.server,
      cluster?.proxyUrl,
      text(options.ca),
      text(options.cert),
      text(options.key),
      text(options.pfx),
      options.passphrase,
      options.rejectUnauthorized,
      options.servername,
    ]);
    let agent = agents.get(key);
    // Free sockets close after 5 s idle, as Node's global agent does, before a server's idle timeout can race a reuse.
    if (!agent) agents.set(key, (agent = create.call(out, cluster, { ...options, keepAlive: true, timeout: options.timeout ?? 5000 })));
    return agent;
  };
  return out;
}

/**
 * A view of `kc` (whatever class it is: its own makeApiClient is kept) whose API clients and
 * watches wait for a token of `bucket` before each request and share keep-alive connections.
 */
export function limitedKubeConfig(kc: KubeConfig, bucket: TokenBucket): KubeConfig {
  // its own view (pooledKubeConfig may hand back `kc` itself): the limit must not reach kc's other users
  const out = Object.create(pooledKubeConfig(kc)) as KubeConfig;
  const auth = kc.applySecurityAuthentication;
  out.applySecurityAuthentication = async (context) => {
    await bucket.take();
    return auth.call(out, context);
  };
  const fetchOptions = kc.applyToFetchOptions;
  out.applyToFetchOptions = async (opts) => {
    await bucket.take();
    return fetchOptions.call(out, opts);
  };
  return out;
}
