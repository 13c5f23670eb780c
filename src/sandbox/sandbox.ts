// The sandbox: an in-process Kubernetes API server (store + semantics + HTTP) and the workload
// simulator, started and stopped as one. State lives in `dir` when given (state.json, volumes/,
// pods/, kubeconfig), so a restart is like an API server restart.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiCore } from './core.ts';
import { ApiHttpServer } from './http.ts';
import { sandboxKubeconfig } from './kubeconfig.ts';
import { Store } from './store.ts';

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
  /** The program an agent container runs, its args appended; default `node bin/restorectl.js`. */
  agentCommand?: string[];
  /** Request log (one line per request) and internal errors. */
  log?: (line: string) => void;
}

export class Sandbox {
  static readonly DEFAULT_AGENT_IMAGE = 'ghcr.io/restore-controller/restorectl:latest';
  readonly options: SandboxOptions;
  store!: Store;
  core!: ApiCore;
  http!: ApiHttpServer;
  port = 0;

  constructor(options: SandboxOptions = {}) {
    this.options = options;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get kubeconfigPath(): string | undefined {
    return this.options.dir ? join(this.options.dir, 'kubeconfig') : undefined;
  }

  async start(): Promise<this> {
    const dir = this.options.dir;
    if (dir) mkdirSync(dir, { recursive: true });
    this.store = new Store({ historySize: this.options.historySize ?? 10_000, ...(dir ? { file: join(dir, 'state.json') } : {}) });
    this.core = new ApiCore(this.store);
    this.http = new ApiHttpServer(this.core, { bookmarkIntervalMs: this.options.bookmarkIntervalMs ?? 60_000, ...(this.options.log ? { log: this.options.log } : {}) });
    this.port = await this.http.listen(this.options.port ?? 0);
    if (dir) writeFileSync(join(dir, 'kubeconfig'), sandboxKubeconfig(this.url));
    return this;
  }

  kubeconfig(namespace = 'default'): string {
    return sandboxKubeconfig(this.url, namespace);
  }

  async stop(): Promise<void> {
    await this.http?.close();
    this.store?.save();
  }
}
