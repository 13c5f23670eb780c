// The agent's edge to the Kubernetes API: the session, its Repository and Secret, status writes,
// events and the restore Lease. Everything else in src/agent is logic over these calls. They go
// through the small REST client (src/kube/rest.ts), not @kubernetes/client-node: the agent starts
// in every restore, and loading client-node took longer than all of its requests (issue 16).
import type { AppBinding } from '../api/appbinding.ts';
import type { KubeObject } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession, RestoreSessionStatus } from '../api/restoresession.ts';
import { apiErrorInfo, isAlreadyExists, isConflict, isNotFound } from '../kube/api-error.ts';
import { recordEvent } from '../kube/events.ts';
import type { EventApi } from '../kube/events.ts';
import { APP_BINDINGS, REPOSITORIES, RESTORE_SESSIONS } from '../kube/resources.ts';
import { KubeRest, seg } from '../kube/rest.ts';
import { restConnection } from '../kube/rest-config.ts';
import type { RestConfigOptions } from '../kube/rest-config.ts';
import { updateSessionStatus } from '../kube/status-update.ts';
import type { StatusApi, StatusUpdateOptions } from '../kube/status-update.ts';
import { AgentError } from './errors.ts';

interface CustomRef {
  group: string;
  version: string;
  plural: string;
  namespace: string;
  name: string;
}

const objectPath = (r: CustomRef) => `/apis/${r.group}/${r.version}/namespaces/${seg(r.namespace)}/${r.plural}/${seg(r.name)}`;
const leasesPath = (namespace: string) => `/apis/coordination.k8s.io/v1/namespaces/${seg(namespace)}/leases`;

interface Lease extends KubeObject {
  spec?: { holderIdentity?: string; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string };
}

/** A Lease time: MicroTime, six fractional digits (a real API server refuses a Date's three). */
export const microTime = (d: Date): string => d.toISOString().replace(/Z$/, '000Z');

interface SecretObject {
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

export class AgentCluster {
  readonly rest: KubeRest;
  private readonly custom: StatusApi;
  private readonly core: EventApi;

  constructor(rest: KubeRest) {
    this.rest = rest;
    this.custom = {
      getNamespacedCustomObject: (r: CustomRef) => rest.get(objectPath(r)),
      replaceNamespacedCustomObjectStatus: (r: CustomRef & { body: unknown }) => rest.put(`${objectPath(r)}/status`, r.body),
    };
    this.core = { createNamespacedEvent: (r: { namespace: string; body: unknown }) => rest.post(`/api/v1/namespaces/${seg(r.namespace)}/events`, r.body) };
  }

  /** The agent's cluster from a kubeconfig, $KUBECONFIG, ~/.kube/config or the pod's service account (src/kube/rest-config.ts). */
  static async connect(opts: RestConfigOptions = {}): Promise<AgentCluster> {
    return new AgentCluster(new KubeRest(await restConnection(opts)));
  }

  /** Frees idle connections. */
  close(): void {
    this.rest.close();
  }

  async session(namespace: string, name: string): Promise<RestoreSession> {
    try {
      return (await this.custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace, name })) as RestoreSession;
    } catch (e) {
      const info = apiErrorInfo(e);
      throw new AgentError(
        'SessionNotFound',
        `cannot read RestoreSession ${namespace}/${name}: ${info.message} (check --session and that the agent's ServiceAccount may get restoresessions)`,
        { kind: 'RestoreSession', object: `${namespace}/${name}`, ...(info.code ? { status: info.code } : {}) },
        { cause: e },
      );
    }
  }

  async repository(namespace: string, name: string): Promise<Repository> {
    try {
      return (await this.custom.getNamespacedCustomObject({ ...REPOSITORIES, namespace, name })) as Repository;
    } catch (e) {
      const info = apiErrorInfo(e);
      throw new AgentError(
        'RepositoryNotFound',
        `cannot read Repository ${namespace}/${name}: ${info.message} (create it, or fix the session's spec.repository)`,
        { kind: 'Repository', object: `${namespace}/${name}`, ...(info.code ? { status: info.code } : {}) },
        { cause: e },
      );
    }
  }

  /** The AppBinding a database session restores into (built-in database restores). */
  async appBinding(namespace: string, name: string): Promise<AppBinding> {
    try {
      return (await this.custom.getNamespacedCustomObject({ ...APP_BINDINGS, namespace, name })) as AppBinding;
    } catch (e) {
      const info = apiErrorInfo(e);
      throw new AgentError(
        'AppBindingNotFound',
        `cannot read AppBinding ${namespace}/${name}: ${isNotFound(e) ? "it does not exist (create it, or fix the session's spec.target.ref)" : info.message}`,
        { kind: 'AppBinding', object: `${namespace}/${name}`, ...(info.code ? { status: info.code } : {}) },
        { cause: e },
      );
    }
  }

  /** The Secret's data, decoded. The values stay in memory; callers must never print them. */
  async secretData(namespace: string, name: string): Promise<Record<string, string>> {
    let secret: SecretObject;
    try {
      secret = await this.rest.get<SecretObject>(`/api/v1/namespaces/${seg(namespace)}/secrets/${seg(name)}`);
    } catch (e) {
      const info = apiErrorInfo(e);
      throw new AgentError(
        'SecretNotFound',
        `cannot read Secret ${namespace}/${name}: ${isNotFound(e) ? "it does not exist (create it, or fix the Repository's storageSecretName or the AppBinding's secret)" : info.message}`,
        { kind: 'Secret', object: `${namespace}/${name}`, ...(info.code ? { status: info.code } : {}) },
        { cause: e },
      );
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
    for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = v;
    return out;
  }

  /** A read-modify-write of the session's status (retried on 409; with `opts.retry`, through outages too). */
  updateStatus(
    namespace: string,
    name: string,
    mutate: (s: RestoreSession) => RestoreSessionStatus | undefined,
    opts: StatusUpdateOptions = {},
  ): Promise<RestoreSession> {
    return updateSessionStatus(this.custom, namespace, name, mutate, opts);
  }

  /** Records an event on the session; a failure to record never fails the restore. */
  event(session: RestoreSession, type: 'Normal' | 'Warning', reason: string, message: string, host: string): Promise<void> {
    return recordEvent(this.core, session, type, reason, message, { component: 'restore-agent', host });
  }

  /**
   * Takes the Lease `name` for `holder` when it is free, expired or already ours. Returns whether
   * this holder has it.
   */
  async acquireLease(namespace: string, name: string, holder: string, durationSeconds: number): Promise<boolean> {
    const at = new Date();
    const now = microTime(at);
    const spec = { holderIdentity: holder, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now };
    try {
      await this.rest.post(leasesPath(namespace), { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec });
      return true;
    } catch (e) {
      if (!isAlreadyExists(e) && !isConflict(e)) throw e;
    }
    const lease = await this.rest.get<Lease>(`${leasesPath(namespace)}/${seg(name)}`);
    const held = lease.spec?.holderIdentity;
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    const expired = renewed + (lease.spec?.leaseDurationSeconds ?? durationSeconds) * 1000 < at.getTime();
    if (held && held !== holder && !expired) return false;
    try {
      await this.rest.put(`${leasesPath(namespace)}/${seg(name)}`, {
        ...lease,
        spec: { ...lease.spec, ...spec, acquireTime: held === holder && lease.spec?.acquireTime ? lease.spec.acquireTime : now },
      });
      return true;
    } catch (e) {
      if (isConflict(e)) return false; // someone else took it first
      throw e;
    }
  }

  /** Gives the Lease up if this holder has it, so the next restore of the workload need not wait for it to expire. */
  async releaseLease(namespace: string, name: string, holder: string): Promise<void> {
    try {
      const lease = await this.rest.get<Lease>(`${leasesPath(namespace)}/${seg(name)}`);
      if (lease.spec?.holderIdentity !== holder) return;
      await this.rest.put(`${leasesPath(namespace)}/${seg(name)}`, { ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: undefined } });
    } catch (e) {
      if (!isNotFound(e) && !isConflict(e)) throw e;
    }
  }
}
