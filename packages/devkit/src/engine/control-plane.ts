// The real control plane as a child process: packages/devkit/control-plane/start.sh (which builds the
// binaries when they are not cached, with progress on stderr, then runs the launcher). Ready when
// it prints the path of its admin kubeconfig; stopped with SIGTERM (the launcher stops every part).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The control plane's scripts: CONTROL_PLANE_SCRIPTS, else the dev kit's own control-plane/. */
export function controlPlaneScripts(): string {
  return process.env['CONTROL_PLANE_SCRIPTS'] ?? fileURLToPath(new URL('../../control-plane', import.meta.url));
}

function cacheRoot(): string {
  return process.env['CONTROL_PLANE_CACHE'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'restore-controller', 'control-plane');
}

/**
 * Why the real engine cannot start here, or undefined when it can: the scripts must exist, and
 * either Go is on PATH (to build) or the binaries are already cached.
 */
export function kubeEngineUnavailable(): string | undefined {
  const scripts = controlPlaneScripts();
  if (!existsSync(join(scripts, 'start.sh'))) return `no ${join(scripts, 'start.sh')} (the real engine needs the dev kit's control-plane/)`;
  if (process.platform === 'win32') return 'the real engine runs on Linux and macOS only';
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status === 0) return undefined;
  let cached = false;
  try {
    const mod = readFileSync(join(scripts, 'go.mod'), 'utf8');
    const k8s = /^\s*k8s\.io\/kubernetes\s+(v\S+)/m.exec(mod)?.[1];
    const etcd = /^\s*go\.etcd\.io\/etcd\/server\/v3\s+(v\S+)/m.exec(mod)?.[1];
    const bin = join(cacheRoot(), `${k8s}-${etcd}`, 'bin');
    cached = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].every((b) => existsSync(join(bin, b)));
  } catch {
    // no go.mod
  }
  return cached ? undefined : `no Go on PATH to build the control plane (${go.error?.message ?? go.stderr.trim()}) and no cached build in ${cacheRoot()}`;
}

export interface ControlPlaneOptions {
  /** The launcher's folder (pki/, etcd/, logs/, kubeconfigs/). */
  dir: string;
  /** kube-apiserver's port; 0: the last one if free, else a free one. */
  port?: number;
  /** Node names that get a client certificate system:node:<name> (DIR/kubeconfigs/node-<name>.kubeconfig). */
  nodes?: string[];
  /** Each line the build and the launcher print (progress). */
  onProgress?: (line: string) => void;
  /** How long the parts may take to become ready once built (default 3 minutes). */
  readyTimeout?: string;
}

/** The parts the launcher runs (and can stop and start one at a time). */
export type ControlPlanePart = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';

export class ControlPlane {
  readonly options: ControlPlaneOptions;
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;
  /** The admin kubeconfig (system:masters). */
  adminKubeconfig = '';
  /** Lines of output kept for error messages. */
  private readonly recent: string[] = [];
  /** Called when the control plane exits without being asked to. */
  onExit: ((code: number | null, tail: string) => void) | undefined;
  private stopping = false;
  /** Answers of the launcher to commands on its stdin ("ok <command>" / "error <command>: …"), waited for in order. */
  private readonly answers: Array<(line: string) => void> = [];

  constructor(options: ControlPlaneOptions) {
    this.options = options;
  }

  nodeKubeconfig(node: string): string {
    return join(this.options.dir, 'kubeconfigs', `node-${node}.kubeconfig`);
  }

  get logDir(): string {
    return join(this.options.dir, 'logs');
  }

  async start(): Promise<this> {
    const args = [join(controlPlaneScripts(), 'start.sh'), this.options.dir];
    if (this.options.port) args.push('--port', String(this.options.port));
    if (this.options.nodes?.length) args.push('--nodes', this.options.nodes.join(','));
    if (this.options.readyTimeout) args.push('--timeout', this.options.readyTimeout);
    // The launcher stops when its stdin (a pipe from us, never written) closes: when this
    // process exits in any way, SIGKILL included, the control plane does not outlive it.
    args.push('--stop-on-stdin-eof');
    // Its own process group: a terminal's Ctrl-C reaches us, and we stop it in order.
    const child = spawn('bash', args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.child = child;
    this.exited = new Promise((r) => child.on('exit', (code) => r(code)));
    const keep = (line: string): void => {
      this.recent.push(line);
      if (this.recent.length > 40) this.recent.shift();
      this.options.onProgress?.(line);
    };
    createInterface({ input: child.stderr! }).on('line', keep);
    const ready = new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        if (/^(ok|error) /.test(line) && this.answers.length) this.answers.shift()!(line);
        else if (line.endsWith('kubeconfig')) resolve(line.trim());
        else keep(line);
      });
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`the control plane exited (${code}) before it was ready:\n  ${this.recent.slice(-20).join('\n  ')}`)));
    });
    this.adminKubeconfig = await ready;
    void this.exited.then((code) => {
      if (!this.stopping) this.onExit?.(code, this.recent.slice(-20).join('\n'));
    });
    return this;
  }

  /**
   * One command to the running launcher (its stdin): `stop`/`kill` (SIGTERM/SIGKILL) a part and
   * wait until it exited, or `start` it again with the same flags (same port, same etcd data) and
   * wait until it is ready. The other parts keep running: an API server failover, as a cluster's
   * clients meet it. `crash` SIGKILLs a part as if it had died by itself: the launcher restarts
   * kube-controller-manager and kube-scheduler (as a kubelet restarts static pods) and stops
   * every part for the others.
   */
  async command(verb: 'stop' | 'kill' | 'start' | 'crash', part: ControlPlanePart): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) throw new Error(`the control plane is not running (${verb} ${part})`);
    const line = `${verb} ${part}`;
    const answer = new Promise<string>((resolve, reject) => {
      this.answers.push(resolve);
      void this.exited!.then((code) => reject(new Error(`the control plane exited (${code}) during "${line}":\n  ${this.recent.slice(-20).join('\n  ')}`)));
    });
    child.stdin!.write(`${line}\n`);
    const got = await answer;
    if (!got.startsWith(`ok ${line}`)) throw new Error(`the control plane: ${got.slice('error '.length)}`);
  }

  /** SIGTERM; the launcher stops kube-scheduler, the controller-manager, kube-apiserver, etcd. */
  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.stopping = true;
    // The group: start.sh and build.sh too while a build runs (the launcher puts each part in a
    // group of its own and stops them itself).
    try {
      process.kill(-this.child.pid!, 'SIGTERM');
    } catch {
      this.child.kill('SIGTERM');
    }
    await this.exited;
  }
}
