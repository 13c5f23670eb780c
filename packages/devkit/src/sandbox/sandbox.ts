// The sandbox: an in-process Kubernetes API server (store + semantics + HTTP) and the workload
// simulator, started and stopped as one. State lives in `dir` when given (state.json, volumes/,
// pods/, kubeconfig), so a restart is like an API server restart.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { textLogger } from 'restore-controller/common/log';
import type { Logger } from 'restore-controller/common/log';
import { DEFAULT_AGENT_IMAGE } from 'restore-controller/controller/agent-container';
import { ApiCore } from './core.ts';
import { ApiHttpServer } from './http.ts';
import { sandboxKubeconfig } from './kubeconfig.ts';
import { Store } from './store.ts';
import { Simulator } from './sim/simulator.ts';
import type { KubeletTiming } from './sim/kubelet.ts';

export interface SandboxOptions {
  /** Folder for state, volumes, pod roots and the kubeconfig. Without it, state is in memory only. */
  dir?: string;
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** How many simulated nodes (DaemonSets run one pod on each). */
  nodes?: number;
  /** How many changes a watch can replay before 410 Expired. */
  historySize?: number;
  bookmarkIntervalMs?: number;
  /** Containers with this image run for real (see README.md); default {@link Sandbox.DEFAULT_AGENT_IMAGE}. */
  agentImage?: string;
  /** The program an agent container runs, its args appended; default the product's `restorectl` bin, run by this Node. */
  agentCommand?: string[];
  /** Run the workload simulator (default true). */
  simulate?: boolean;
  /**
   * Deleted pods stay Terminating (deletionTimestamp set) until the kubelet has stopped their
   * containers, as on a cluster. Default false: pods go at once, which keeps tests quick.
   */
  gracefulPodDeletion?: boolean;
  /** Back-off and simulated run times (tests shorten them). */
  timing?: Partial<KubeletTiming>;
  /**
   * Requests (debug, one line each), the API server's internal errors and the simulator's
   * problems (warn, error). Default: the simulator's problems on stderr, nothing else.
   */
  log?: Logger;
}

/** The `restorectl` program of the installed product package (its package.json `bin`). */
export function restorectlBin(): string {
  const manifest = createRequire(import.meta.url).resolve('restore-controller/package.json');
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin: Record<string, string> };
  return join(dirname(manifest), bin['restorectl']!);
}

export class Sandbox {
  static readonly DEFAULT_AGENT_IMAGE = DEFAULT_AGENT_IMAGE;
  readonly options: SandboxOptions;
  store!: Store;
  core!: ApiCore;
  http!: ApiHttpServer;
  simulator: Simulator | undefined;
  port = 0;
  /** Where volumes, pods and the kubeconfig live: `dir`, or a temp dir removed on stop. */
  workDir = '';
  private tempWorkDir = false;

  constructor(options: SandboxOptions = {}) {
    this.options = options;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get kubeconfigPath(): string {
    return join(this.workDir, 'kubeconfig');
  }

  async start(): Promise<this> {
    const dir = this.options.dir;
    if (dir) mkdirSync(dir, { recursive: true });
    this.workDir = dir ?? mkdtempSync(join(tmpdir(), 'restore-sandbox-'));
    this.tempWorkDir = !dir;
    this.store = new Store({ historySize: this.options.historySize ?? 10_000, ...(dir ? { file: join(dir, 'state.json') } : {}) });
    this.core = new ApiCore(this.store);
    this.http = new ApiHttpServer(this.core, {
      bookmarkIntervalMs: this.options.bookmarkIntervalMs ?? 60_000,
      podLogFile: (pod, container) => join(this.workDir, 'pods', pod.metadata.namespace, pod.metadata.name, 'containers', container, 'log'),
      ...(this.options.log ? { log: this.options.log } : {}),
    });
    this.port = await this.http.listen(this.options.port ?? 0);
    writeFileSync(this.kubeconfigPath, sandboxKubeconfig(this.url));
    if (this.options.simulate !== false) {
      const log = this.options.log ?? textLogger((line) => process.stderr.write(line), { level: 'warn', fields: { component: 'sandbox' } });
      this.simulator = new Simulator(this.core, {
        dirs: {
          volumes: join(this.workDir, 'volumes'),
          snapshots: join(this.workDir, 'snapshots'),
          pods: join(this.workDir, 'pods'),
          kubeconfig: this.kubeconfigPath,
        },
        nodes: this.options.nodes ?? 1,
        agent: {
          image: this.options.agentImage ?? Sandbox.DEFAULT_AGENT_IMAGE,
          command: this.options.agentCommand ?? [process.execPath, restorectlBin()],
          baseEnv: Object.fromEntries(['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'].filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!])),
        },
        ...(this.options.timing ? { timing: this.options.timing } : {}),
        gracefulPodDeletion: this.options.gracefulPodDeletion ?? false,
        log,
      });
      this.simulator.start();
    }
    return this;
  }

  kubeconfig(namespace = 'default'): string {
    return sandboxKubeconfig(this.url, namespace);
  }

  async stop(): Promise<void> {
    await this.simulator?.stop();
    await this.http?.close();
    this.store?.close();
    if (this.tempWorkDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}
