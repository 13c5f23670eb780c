// Leader election through a coordination.k8s.io/v1 Lease (DESIGN §6: two replicas never both act),
// with client-go's rules:
// - The leader renews every renewPeriod (duration/3) with a resourceVersion-conditional update.
//   If it cannot renew for renewDeadline (2/3 of the duration), it stops leading: it must be gone
//   before a standby may take over.
// - A standby takes the Lease only when it is free (no holder) or when its record (holder and
//   renewTime) has not changed for a whole lease duration, as measured on the standby's own
//   monotonic clock (so clock skew between nodes does not matter), again with a conditional update:
//   of two standbys racing, one gets 409 and stays standby.
// - Releasing (SIGTERM) clears the holder, so a standby takes over at its next retry.
// A standby that receives a webhook asks the leader for a cycle through an annotation on the Lease;
// the leader notices it at its next renewal (the annotation changed the resourceVersion).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as k8s from '@kubernetes/client-node';
import { apiErrorInfo, isConflict, isNotFound } from '../kube/api-error.ts';
import type { Logger } from '../common/log.ts';

export const DEFAULT_LEASE_NAME = 'restore-controller';
export const DEFAULT_LEASE_DURATION_MS = 15_000;
/** Set by a standby that received a push webhook; the leader runs a cycle when it changes. */
export const CYCLE_REQUEST_ANNOTATION = 'restore.gitops/cycle-requested';
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * Lease times are MicroTime: the API server parses exactly six fractional digits, and a plain
 * Date serialises with three (a real cluster answers 400). client-node's V1MicroTime writes six.
 */
const microNow = () => new k8s.V1MicroTime();

/** The pod's namespace: env POD_NAMESPACE (downward API), the service account's, else `default`. */
export function defaultLeaseNamespace(env: NodeJS.ProcessEnv = process.env, saFile = SERVICE_ACCOUNT_NAMESPACE): string {
  if (env['POD_NAMESPACE']) return env['POD_NAMESPACE'];
  if (existsSync(saFile)) {
    const ns = readFileSync(saFile, 'utf8').trim();
    if (ns) return ns;
  }
  return 'default';
}

/** `<pod or host name>_<random>`: unique per process, so a restarted pod is a new candidate. */
export function newIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return `${env['POD_NAME'] || hostname()}_${randomBytes(4).toString('hex')}`;
}

export interface LeaderElectorOptions {
  kubeConfig: k8s.KubeConfig;
  namespace: string;
  name?: string;
  identity?: string;
  /** How long a Lease is valid without renewal (default 15 s); the other periods derive from it. */
  leaseDurationMs?: number;
  log: Logger;
}

export interface LeaderCallbacks {
  /** This replica holds the Lease: it may act. */
  onStartedLeading(): void;
  /** It lost the Lease (or could not renew it in time): it must stop acting at once. */
  onStoppedLeading(reason: string): void;
  /** The holder seen by a standby changed. */
  onNewLeader?(identity: string | undefined): void;
  /** A standby relayed a push webhook. */
  onCycleRequested?(): void;
}

export class LeaderElector {
  readonly identity: string;
  readonly namespace: string;
  readonly name: string;
  private readonly coordination: k8s.CoordinationV1Api;
  private readonly log: Logger;
  private readonly durationMs: number;
  private readonly renewPeriodMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private cb: LeaderCallbacks | undefined;
  private leading = false;
  private stopped = false;
  /** The Lease as last written or read by this leader (its resourceVersion makes the next write conditional). */
  private lease: k8s.V1Lease | undefined;
  /** The holder record a standby last saw, and when it first saw it (monotonic ms). */
  private observed: { record: string; at: number } | undefined;
  private lastHolder: string | undefined | null = null;
  private lastRequest: string | undefined;
  private lastError = '';
  private timer: NodeJS.Timeout | undefined;
  private deadline: NodeJS.Timeout | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.coordination = opts.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    this.namespace = opts.namespace;
    this.name = opts.name ?? DEFAULT_LEASE_NAME;
    this.identity = opts.identity ?? newIdentity();
    this.log = opts.log;
    this.durationMs = opts.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewPeriodMs = Math.round(this.durationMs / 3);
    this.renewDeadlineMs = Math.round((this.durationMs * 2) / 3);
    this.retryPeriodMs = Math.round((this.durationMs * 2) / 15);
  }

  get isLeader(): boolean {
    return this.leading;
  }

  private get where(): string {
    return `Lease ${this.namespace}/${this.name}`;
  }

  /** Campaigns until stop(), release() or the Lease is lost. */
  start(callbacks: LeaderCallbacks): void {
    this.cb = callbacks;
    this.log.info(`leader election: campaigning for ${this.where} as ${this.identity}`, { leaseDurationMs: this.durationMs });
    void this.tick();
  }

  /** Stops campaigning without releasing (a crash, as far as the others can tell). */
  stop(): void {
    this.stopped = true;
    this.leading = false;
    clearTimeout(this.timer);
    clearTimeout(this.deadline);
  }

  /** Stops and, if leading, gives the Lease up so a standby takes over at its next retry. */
  async release(): Promise<void> {
    const wasLeading = this.leading;
    const lease = this.lease;
    this.stop();
    if (!wasLeading || !lease) return;
    for (let attempt = 0; attempt < 3; attempt++) {
      const base = attempt === 0 ? lease : await this.read().catch(() => undefined);
      if (!base || base.spec?.holderIdentity !== this.identity) return;
      try {
        await this.coordination.replaceNamespacedLease({
          name: this.name,
          namespace: this.namespace,
          body: { ...base, spec: { ...base.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: microNow() } },
        });
        this.log.info(`leader election: released ${this.where}`);
        return;
      } catch (e) {
        if (isConflict(e)) continue;
        this.log.warn(`leader election: cannot release ${this.where} (it expires by itself after ${this.durationMs / 1000}s): ${apiErrorInfo(e).message}`);
        return;
      }
    }
  }

  /** From a standby: asks the leader for a cycle now. Returns whether a leader was there to ask. */
  async requestCycle(): Promise<boolean> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const lease = await this.read();
      if (!lease?.spec?.holderIdentity) return false;
      const annotations = { ...lease.metadata?.annotations, [CYCLE_REQUEST_ANNOTATION]: `${new Date().toISOString()} ${this.identity}` };
      try {
        await this.coordination.replaceNamespacedLease({
          name: this.name,
          namespace: this.namespace,
          body: { ...lease, metadata: { ...lease.metadata, annotations } },
        });
        return true;
      } catch (e) {
        if (!isConflict(e)) throw e;
      }
    }
    return false;
  }

  private async read(): Promise<k8s.V1Lease | undefined> {
    try {
      return await this.coordination.readNamespacedLease({ name: this.name, namespace: this.namespace });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      if (this.leading) await this.renew();
      else await this.tryAcquire();
      this.lastError = '';
    } catch (e) {
      const message = apiErrorInfo(e).message;
      if (message !== this.lastError) {
        this.log.warn(`leader election: ${this.where}: ${message} (retrying)`);
        this.lastError = message;
      }
    }
    if (this.stopped) return;
    const next = this.leading ? this.renewPeriodMs : this.retryPeriodMs * (1 + Math.random() * 0.2);
    this.timer = setTimeout(() => void this.tick(), next);
  }

  private async tryAcquire(): Promise<void> {
    const now = microNow();
    const spec = { holderIdentity: this.identity, leaseDurationSeconds: Math.ceil(this.durationMs / 1000), acquireTime: now, renewTime: now };
    const lease = await this.read();
    if (!lease) {
      try {
        const created = await this.coordination.createNamespacedLease({
          namespace: this.namespace,
          body: { metadata: { name: this.name, namespace: this.namespace }, spec: { ...spec, leaseTransitions: 0 } },
        });
        return this.becomeLeader(created);
      } catch (e) {
        if (isConflict(e)) return; // another replica created it first
        throw e;
      }
    }
    const holder = lease.spec?.holderIdentity || undefined;
    const record = `${holder ?? ''}|${lease.spec?.renewTime ? new Date(lease.spec.renewTime).toISOString() : ''}`;
    if (this.observed?.record !== record) this.observed = { record, at: performance.now() };
    if (holder !== this.lastHolder) {
      this.lastHolder = holder;
      if (holder !== this.identity) {
        this.log.info(holder ? `leader election: ${holder} leads; standing by` : `leader election: ${this.where} is free`);
        this.cb?.onNewLeader?.(holder);
      }
    }
    const validMs = (lease.spec?.leaseDurationSeconds ?? this.durationMs / 1000) * 1000;
    if (holder && holder !== this.identity && performance.now() - this.observed.at < validMs) return;
    const transitions = (lease.spec?.leaseTransitions ?? 0) + (holder && holder !== this.identity ? 1 : 0);
    try {
      const taken = await this.coordination.replaceNamespacedLease({
        name: this.name,
        namespace: this.namespace,
        body: { ...lease, spec: { ...lease.spec, ...spec, leaseTransitions: transitions } },
      });
      if (holder && holder !== this.identity)
        this.log.info(`leader election: ${holder} stopped renewing ${this.where} for ${Math.round(validMs / 1000)}s; taking over`);
      this.becomeLeader(taken);
    } catch (e) {
      if (isConflict(e)) return; // someone else took it first
      throw e;
    }
  }

  private becomeLeader(lease: k8s.V1Lease): void {
    if (this.stopped) return;
    this.lease = lease;
    this.leading = true;
    this.lastHolder = this.identity;
    this.lastRequest = lease.metadata?.annotations?.[CYCLE_REQUEST_ANNOTATION];
    this.armDeadline();
    this.log.info(`leader election: acquired ${this.where}; this replica acts`, { identity: this.identity });
    this.cb?.onStartedLeading();
  }

  private async renew(): Promise<void> {
    const write = (base: k8s.V1Lease) =>
      this.coordination.replaceNamespacedLease({
        name: this.name,
        namespace: this.namespace,
        body: { ...base, spec: { ...base.spec, holderIdentity: this.identity, renewTime: microNow() } },
      });
    let renewed: k8s.V1Lease;
    try {
      renewed = await write(this.lease!);
    } catch (e) {
      if (!isConflict(e)) throw e;
      // Someone wrote the Lease: a standby's cycle request, or a new holder.
      const fresh = await this.read();
      if (!this.leading) return;
      if (fresh?.spec?.holderIdentity !== this.identity) return this.lose(`${fresh?.spec?.holderIdentity ?? 'nobody'} holds ${this.where} now`);
      const request = fresh.metadata?.annotations?.[CYCLE_REQUEST_ANNOTATION];
      if (request && request !== this.lastRequest) {
        this.lastRequest = request;
        this.log.info('leader election: a standby relayed a push webhook; running a cycle');
        this.cb?.onCycleRequested?.();
      }
      renewed = await write(fresh);
    }
    if (!this.leading) return;
    this.lease = renewed;
    this.armDeadline();
  }

  private armDeadline(): void {
    clearTimeout(this.deadline);
    this.deadline = setTimeout(() => this.lose(`could not renew ${this.where} for ${this.renewDeadlineMs / 1000}s`), this.renewDeadlineMs);
  }

  private lose(reason: string): void {
    if (!this.leading) return;
    this.stop();
    this.log.error(`leader election: lost ${this.where}: ${reason}; this replica stops acting`);
    this.cb?.onStoppedLeading(reason);
  }
}
