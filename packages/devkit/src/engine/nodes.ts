// The nodes' registration and heartbeats, as a kubelet does them, each with the node's own
// credentials (client certificate system:node:<name>, group system:nodes: the Node authorizer and
// NodeRestriction apply): the Node object is created if missing, its status (Ready, capacity,
// addresses, nodeInfo) posted at start and every `statusMs`, and its Lease in kube-node-lease
// renewed every `leaseMs` (the node lifecycle controller reads the Lease).
import type { Obj } from './rest.ts';
import { ApiError, Rest } from './rest.ts';

export interface NodeAgentOptions {
  name: string;
  index: number;
  /** The port of the node's kubelet endpoint (kubelet-server.ts), 0 when there is none. */
  kubeletPort?: number;
  kubeconfig: string;
  leaseMs?: number;
  statusMs?: number;
  onError?: (message: string) => void;
}

const LEASE_SECONDS = 40;

/**
 * Every node's InternalIP (and so its pods' hostIP) is 127.0.0.1, where its kubelet endpoint
 * listens (kube-apiserver reaches kubelets at their InternalIP; each node has a port of its own).
 */
export function nodeIP(_index: number): string {
  return '127.0.0.1';
}

export class NodeAgent {
  readonly name: string;
  readonly rest: Rest;
  private readonly options: NodeAgentOptions;
  private timers: NodeJS.Timeout[] = [];
  private uid = '';
  private stopped = false;

  constructor(options: NodeAgentOptions) {
    this.options = options;
    this.name = options.name;
    this.rest = new Rest(options.kubeconfig);
  }

  private status(): Record<string, unknown> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const resources = { cpu: '4', memory: '8Gi', pods: '110', 'ephemeral-storage': '100Gi' };
    return {
      capacity: resources,
      allocatable: resources,
      conditions: [
        {
          type: 'MemoryPressure',
          status: 'False',
          reason: 'KubeletHasSufficientMemory',
          message: 'kubelet has sufficient memory available',
          lastHeartbeatTime: now,
        },
        { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'kubelet has no disk pressure', lastHeartbeatTime: now },
        { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'kubelet has sufficient PID available', lastHeartbeatTime: now },
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now },
      ],
      addresses: [
        { type: 'InternalIP', address: nodeIP(this.options.index) },
        { type: 'Hostname', address: this.name },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.options.kubeletPort || 10250 } },
      nodeInfo: {
        machineID: '',
        systemUUID: '',
        bootID: '',
        kernelVersion: '',
        osImage: 'restore-controller simulator',
        containerRuntimeVersion: 'sandbox://1.0',
        kubeletVersion: 'v1.37.2-sandbox',
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
  }

  /** Registers the node (or finds it after a restart), posts Ready and takes its Lease. */
  async start(): Promise<void> {
    let node = await this.rest.tryGet(`/api/v1/nodes/${this.name}`);
    if (!node) {
      try {
        node = await this.rest.post('/api/v1/nodes', {
          apiVersion: 'v1',
          kind: 'Node',
          metadata: {
            name: this.name,
            labels: {
              'kubernetes.io/hostname': this.name,
              'kubernetes.io/os': 'linux',
              'kubernetes.io/arch': 'amd64',
              'beta.kubernetes.io/os': 'linux',
              'beta.kubernetes.io/arch': 'amd64',
            },
          },
          spec: {},
        });
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 409)) throw e;
        node = await this.rest.get(`/api/v1/nodes/${this.name}`);
      }
    }
    this.uid = node!.metadata.uid;
    await this.postStatus();
    await this.renewLease();
    this.every(this.options.leaseMs ?? 10_000, () => this.renewLease());
    this.every(this.options.statusMs ?? 60_000, () => this.postStatus());
  }

  private every(ms: number, f: () => Promise<void>): void {
    const t = setInterval(() => {
      if (this.stopped) return;
      f().catch((e: Error) => this.options.onError?.(`node ${this.name}: ${e.message}`));
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  async postStatus(): Promise<void> {
    const node = await this.rest.get(`/api/v1/nodes/${this.name}`);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const status = this.status() as { conditions: Array<Record<string, string>> };
    for (const c of status.conditions) {
      const prev = (node.status?.conditions ?? []).find((p: Record<string, string>) => p.type === c.type);
      c['lastTransitionTime'] = prev && prev.status === c['status'] ? prev.lastTransitionTime : now;
    }
    await this.rest.patch(`/api/v1/nodes/${this.name}/status`, { status });
  }

  async renewLease(): Promise<void> {
    const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${this.name}`;
    const now = new Date()
      .toISOString()
      .replace('Z', '000Z')
      .replace(/(\.\d{6})\d*Z$/, '$1Z');
    const lease = await this.rest.tryGet(path);
    const spec = { holderIdentity: this.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: now };
    if (!lease) {
      await this.rest.post('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: 'kube-node-lease', ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.name, uid: this.uid }] },
        spec,
      });
    } else {
      await this.rest.put(path, { ...lease, spec: { ...lease.spec, ...spec } } as Obj);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }
}
