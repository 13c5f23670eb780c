// `restorectl sandbox --engine kube-apiserver`: a real control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler from packages/devkit/control-plane) with the project's
// simulator as its nodes. Same interface as the embedded Sandbox: a folder, a port, a number of
// nodes, DIR/kubeconfig (admin) written when every part is ready and removed on stop; the same
// folder again keeps the data.
//
// DIR/control-plane/   the launcher's (pki/, etcd/, kubeconfigs/, logs/, ports.json)
// DIR/kubeconfig       admin (system:masters), present while the engine is ready
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ControlPlane } from './control-plane.ts';
import { DEFAULT_AGENT_IMAGE } from 'restore-controller/controller/agent-container';
import { restorectlBin } from '../sandbox/sandbox.ts';
import { KubeKubelet } from './kubelet.ts';
import { KubeletServer } from './kubelet-server.ts';
import { NodeAgent } from './nodes.ts';
import { LocalPathProvisioner } from './provisioner.ts';
import { SnapshotController } from './snapshots.ts';
import { Rest } from './rest.ts';

export interface KubeEngineOptions {
  dir: string;
  /** kube-apiserver's port on 127.0.0.1 (0: the last one if free, else a free one). */
  port?: number;
  /** How many nodes (node-0 … node-<N-1>). */
  nodes?: number;
  /** Build and start-up progress, and the engine's problems, one line each. */
  onProgress?: (line: string) => void;
  /** Called when a part dies while the engine runs (the engine is then stopped). */
  onFailure?: (message: string) => void;
  /** Containers with this image run as processes (default the product's agent image). */
  agentImage?: string;
  /** The program an agent container runs, its args appended; default the product's `restorectl` bin, run by this Node. */
  agentCommand?: string[];
  /** Kubelet back-off and simulated run times (tests shorten them). */
  timing?: { crashLoopBaseMs?: number; crashLoopMaxMs?: number; simulatedRunMs?: number };
  /** Node heartbeats (tests shorten them): Lease renewal and status post periods. */
  leaseMs?: number;
  statusMs?: number;
}

export class KubeEngine {
  readonly options: KubeEngineOptions;
  readonly dir: string;
  controlPlane!: ControlPlane;
  readonly nodeNames: string[];
  nodes: NodeAgent[] = [];
  kubelets: KubeKubelet[] = [];
  kubeletServers: KubeletServer[] = [];
  provisioner: LocalPathProvisioner | undefined;
  snapshots: SnapshotController | undefined;
  /** Admin, for the parts that act as the control plane's own controllers (the provisioner). */
  admin!: Rest;
  /** Milliseconds from start() to ready. */
  startupMs = 0;

  constructor(options: KubeEngineOptions) {
    this.options = options;
    this.dir = resolve(options.dir);
    this.nodeNames = Array.from({ length: Math.max(1, options.nodes ?? 1) }, (_, i) => `node-${i}`);
  }

  get kubeconfigPath(): string {
    return join(this.dir, 'kubeconfig');
  }

  /** The launcher's admin kubeconfig (there as soon as the control plane is ready). */
  get adminKubeconfig(): string {
    return this.controlPlane.adminKubeconfig;
  }

  /** https://127.0.0.1:PORT */
  get url(): string {
    return this.admin.server.origin;
  }

  progress(line: string): void {
    this.options.onProgress?.(line);
  }

  async start(): Promise<this> {
    const t0 = Date.now();
    mkdirSync(this.dir, { recursive: true });
    rmSync(this.kubeconfigPath, { force: true });
    this.controlPlane = new ControlPlane({
      dir: join(this.dir, 'control-plane'),
      ...(this.options.port ? { port: this.options.port } : {}),
      nodes: this.nodeNames,
      onProgress: (l) => this.progress(l),
    });
    this.controlPlane.onExit = (code, tail) => {
      const msg = `the control plane exited (${code}):\n${tail}`;
      this.progress(msg);
      this.options.onFailure?.(msg);
    };
    await this.controlPlane.start();
    try {
      await this.startParts();
    } catch (e) {
      await this.stop();
      throw e;
    }
    copyFileSync(this.adminKubeconfig, this.kubeconfigPath);
    this.startupMs = Date.now() - t0;
    this.progress(`[engine] ready in ${(this.startupMs / 1000).toFixed(1)}s: ${this.nodeNames.length} node(s); kubeconfig ${this.kubeconfigPath}`);
    return this;
  }

  /** The simulator's parts, once the control plane is ready. */
  protected async startParts(): Promise<void> {
    this.admin = new Rest(this.adminKubeconfig);
    const problem = (m: string): void => this.progress(`[engine] ${m}`);
    this.kubeletServers = this.nodeNames.map(
      (node) => new KubeletServer({ node, pki: join(this.controlPlane.options.dir, 'pki'), pods: join(this.dir, 'pods') }),
    );
    const ports = await Promise.all(this.kubeletServers.map((k) => k.start()));
    this.nodes = this.nodeNames.map(
      (name, index) =>
        new NodeAgent({
          name,
          index,
          kubeletPort: ports[index]!,
          kubeconfig: this.controlPlane.nodeKubeconfig(name),
          onError: problem,
          ...(this.options.leaseMs ? { leaseMs: this.options.leaseMs } : {}),
          ...(this.options.statusMs ? { statusMs: this.options.statusMs } : {}),
        }),
    );
    await Promise.all(this.nodes.map((n) => n.start()));
    this.progress(`[engine] nodes registered and Ready: ${this.nodeNames.join(', ')}`);
    await SnapshotController.installCrds(this.admin);
    const dirs = { volumes: join(this.dir, 'volumes'), snapshots: join(this.dir, 'snapshots') };
    this.provisioner = new LocalPathProvisioner({ rest: this.admin, ...dirs, onError: problem });
    this.snapshots = new SnapshotController({ rest: this.admin, ...dirs, onError: problem });
    await Promise.all([this.provisioner.start(), this.snapshots.start()]);
    const baseEnv = Object.fromEntries(['PATH', 'TMPDIR', 'LANG', 'TZ'].filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
    this.kubelets = this.nodes.map(
      (n, nodeIndex) =>
        new KubeKubelet({
          node: n.name,
          nodeIndex,
          rest: n.rest,
          dirs: { pods: join(this.dir, 'pods'), volumes: join(this.dir, 'volumes') },
          agent: { image: this.options.agentImage ?? DEFAULT_AGENT_IMAGE, command: this.options.agentCommand ?? [process.execPath, restorectlBin()], baseEnv },
          pvPath: (pv) => pv.spec?.local?.path ?? pv.spec?.hostPath?.path,
          ...this.options.timing,
          onError: problem,
        }),
    );
    await Promise.all(this.kubelets.map((k) => k.start()));
  }

  /**
   * Stops kube-apiserver alone (`kill`: SIGKILL, a crash; `stop`: SIGTERM, a graceful shutdown):
   * etcd, the controller-manager, the scheduler and the nodes go on, and lose the API as a
   * cluster's parts do when its API server fails over. {@link startApiServer} brings it back.
   */
  async stopApiServer(how: 'kill' | 'stop' = 'kill'): Promise<void> {
    await this.controlPlane.command(how, 'kube-apiserver');
    this.progress(`[engine] kube-apiserver ${how === 'kill' ? 'killed' : 'stopped'}`);
  }

  /** Starts kube-apiserver again on the same port and etcd data; resolves once it is ready (/readyz). */
  async startApiServer(): Promise<void> {
    await this.controlPlane.command('start', 'kube-apiserver');
    this.progress('[engine] kube-apiserver ready again');
  }

  /** The program agent containers started from now on run; none: the default (`agentCommand`, else restorectl). */
  setAgentCommand(command?: string[]): void {
    for (const k of this.kubelets) k.setAgentCommand(command ?? this.options.agentCommand ?? [process.execPath, restorectlBin()]);
  }

  protected async stopParts(): Promise<void> {
    await Promise.all(this.kubelets.map((k) => k.stop()));
    for (const n of this.nodes) n.stop();
    this.provisioner?.stop();
    this.snapshots?.stop();
    await Promise.all(this.kubeletServers.map((k) => k.stop()));
  }

  async stop(): Promise<void> {
    rmSync(this.kubeconfigPath, { force: true });
    await this.stopParts();
    await this.controlPlane?.stop();
  }
}
