// Test helper: a sandbox on a random port in a temp dir, a client-node KubeConfig for it, and
// kubectl run against its kubeconfig (with its own discovery cache and HOME). stop() tears it
// all down, temp dir included.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { Sandbox } from '@restore-controller/devkit/sandbox';
import type { SandboxOptions } from '@restore-controller/devkit/sandbox';

export interface KubectlResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunningKubectl {
  child: ChildProcess;
  /** Output so far. */
  output(): KubectlResult;
  done: Promise<KubectlResult>;
}

export interface TestSandbox {
  sandbox: Sandbox;
  dir: string;
  kubeconfigPath: string;
  kc: k8s.KubeConfig;
  kubectl(args: string[], input?: string): Promise<KubectlResult>;
  kubectlStart(args: string[]): RunningKubectl;
  /** Stops the server, keeping the dir (for restart tests). */
  stopServer(): Promise<void>;
  stop(): Promise<void>;
}

export const REPO_ROOT = new URL('../../', import.meta.url).pathname;

export async function startSandbox(options: Partial<SandboxOptions> = {}): Promise<TestSandbox> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sandbox-test-'));
  const sandbox = await new Sandbox({ ...options, dir, port: options.port ?? 0 }).start();
  const kubeconfigPath = sandbox.kubeconfigPath!;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const env = { ...process.env, HOME: dir, KUBECACHEDIR: join(dir, 'kubectl-cache'), KUBECONFIG: kubeconfigPath };
  const running = new Set<ChildProcess>();

  function kubectlStart(args: string[], input?: string): RunningKubectl {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfigPath, ...args], { env, cwd: REPO_ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.stdin!.end(input ?? '');
    const done = new Promise<KubectlResult>((resolve) => {
      child.on('close', (code) => {
        running.delete(child);
        resolve({ code, stdout, stderr });
      });
    });
    return { child, output: () => ({ code: child.exitCode, stdout, stderr }), done };
  }

  let serverStopped = false;
  const stopServer = async (): Promise<void> => {
    if (serverStopped) return;
    serverStopped = true;
    await sandbox.stop();
  };
  return {
    sandbox,
    dir,
    kubeconfigPath,
    kc,
    kubectl: (args, input) => kubectlStart(args, input).done,
    kubectlStart: (args) => kubectlStart(args),
    stopServer,
    async stop() {
      for (const c of running) c.kill('SIGKILL');
      await stopServer();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls until `check` returns a truthy value (or throws the last error after `timeoutMs`). */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
      lastError = new Error('condition not met');
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) throw lastError;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
