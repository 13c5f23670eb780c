// For tests: a real engine in a temp dir (or a given one), with a client-node KubeConfig and
// kubectl against it; stop() stops every part and removes the temp dir. Tests that need it call
// `skipUnlessKubeEngine(this)` first: without Go and without a cached build they skip, saying why.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { kubeEngineUnavailable } from './control-plane.ts';
import { KubeEngine } from './engine.ts';
import type { KubeEngineOptions } from './engine.ts';

export interface TestKubeEngine {
  engine: KubeEngine;
  dir: string;
  kubeconfigPath: string;
  kc: k8s.KubeConfig;
  kubectl(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Stops the engine, keeping the dir (for restart tests). */
  stopEngine(): Promise<void>;
  stop(): Promise<void>;
}

/** Skips the calling suite (mocha `this` of before/it) when the real engine cannot run here. */
export function skipUnlessKubeEngine(ctx: { skip(): void; test?: { title: string } }): void {
  const why = kubeEngineUnavailable();
  if (why) {
    process.stderr.write(`      (skipped: the kube-apiserver engine is unavailable: ${why})\n`);
    ctx.skip();
  }
}

export async function startKubeEngine(options: Partial<KubeEngineOptions> = {}): Promise<TestKubeEngine> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'kube-engine-test-'));
  const lines: string[] = [];
  const engine = new KubeEngine({
    ...options,
    dir,
    onProgress: (l) => {
      lines.push(l);
      options.onProgress?.(l);
      if (process.env['KUBE_ENGINE_VERBOSE']) process.stderr.write(`${l}\n`);
    },
  });
  try {
    await engine.start();
  } catch (e) {
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(e as Error).message}\n--- engine output:\n${lines.slice(-30).join('\n')}`);
  }
  const kubeconfigPath = engine.kubeconfigPath;
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const env = { ...process.env, HOME: dir, KUBECACHEDIR: join(dir, 'kubectl-cache'), KUBECONFIG: kubeconfigPath };
  let stopped = false;
  const stopEngine = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await engine.stop();
  };
  return {
    engine,
    dir,
    kubeconfigPath,
    kc,
    kubectl: (args, input) =>
      new Promise((resolve) => {
        // From where the test runs (the repository's root), as test/support/sandbox.ts runs it (`-f deploy/crds`).
        const child = spawn('kubectl', ['--kubeconfig', kubeconfigPath, '--request-timeout', '30s', ...args], {
          env,
          cwd: process.cwd(),
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d) => (stdout += d));
        child.stderr.on('data', (d) => (stderr += d));
        child.stdin.end(input ?? '');
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      }),
    stopEngine,
    async stop() {
      await stopEngine();
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
