// `restorectl sandbox`: the embedded Kubernetes API and workload simulator in the foreground.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, parseCommandArgs } from 'restore-controller/cli/command';
import type { Command, Io } from 'restore-controller/cli/command';
import { textLogger } from 'restore-controller/common/log';
import { Sandbox } from '../sandbox/index.ts';
import { KubeEngine } from '../engine/engine.ts';
import { kubeEngineUnavailable } from '../engine/control-plane.ts';

const HELP = `Usage: restorectl sandbox --dir DIR [--engine embedded|kube-apiserver] [--port P] [--nodes N]
                         [--agent-image IMAGE] [--verbose]

Runs an embedded Kubernetes API server on 127.0.0.1 (plain HTTP) with a workload simulator:
Deployments, StatefulSets, DaemonSets and Jobs make Pods; PVCs are folders; containers whose
image is the agent image run for real as \`restorectl\` processes. kubectl works against it.

With --engine kube-apiserver, a real control plane instead (etcd, kube-apiserver,
kube-controller-manager, kube-scheduler, built from source by packages/devkit/control-plane/build.sh
the first time, which takes many minutes, then cached): HTTPS with RBAC and admission; the
simulator is its nodes (their kubelets, over HTTP with each node's credentials) and a
local-path provisioner (StorageClasses standard, the default, WaitForFirstConsumer, and
immediate). Agent containers get their pod's ServiceAccount token. DIR/kubeconfig is admin.

Options:
  --engine E           embedded (default) or kube-apiserver
  --dir DIR            where state lives: DIR/kubeconfig, DIR/state.json (objects; a restart is
                       like an API server restart; kube-apiserver: DIR/control-plane/ with etcd's
                       data, keys and logs), DIR/volumes/<namespace>/<pvc>/, DIR/pods/
  --port P             TCP port (default: the port of the last run in DIR, else a free one)
  --nodes N            simulated nodes, each runs one pod of every DaemonSet (default 1)
  --agent-image IMAGE  the image that runs as a real process (default: ${Sandbox.DEFAULT_AGENT_IMAGE})
  --verbose            log every request to stderr (kube-apiserver: every line of the start-up)

Then, in another shell:
  export KUBECONFIG=DIR/kubeconfig
  kubectl apply --server-side -f deploy/crds
  kubectl get pods -A

Stops cleanly on Ctrl-C (SIGINT) or SIGTERM: running agent processes are stopped and the
objects are saved.
`;

function intOption(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`sandbox: --${name} must be an integer ≥ ${min}; got "${value}"`);
  return n;
}

export const sandboxCommand: Command = {
  name: 'sandbox',
  help: HELP,
  async run(argv: string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs('sandbox', argv, {
      engine: { type: 'string', default: 'embedded' },
      dir: { type: 'string' },
      port: { type: 'string' },
      nodes: { type: 'string' },
      'agent-image': { type: 'string' },
      verbose: { type: 'boolean' },
    });
    if (positionals.length) throw new UsageError(`sandbox: unexpected argument "${positionals[0]}"`);
    if (!values.dir) throw new UsageError('sandbox: --dir is required');
    const dir = resolve(values.dir);
    if (values.engine === 'kube-apiserver') return runKubeEngine(dir, values, io);
    if (values.engine !== 'embedded') throw new UsageError(`sandbox: --engine must be embedded or kube-apiserver; got "${values.engine}"`);
    const memo = join(dir, 'sandbox.json');
    const lastPort = existsSync(memo) ? (JSON.parse(readFileSync(memo, 'utf8')) as { port?: number }).port : undefined;
    const port = intOption('port', values.port, 0) ?? lastPort ?? 0;
    const nodes = intOption('nodes', values.nodes, 1) ?? 1;
    const sandbox = new Sandbox({
      dir,
      port,
      nodes,
      gracefulPodDeletion: true,
      ...(values['agent-image'] ? { agentImage: values['agent-image'] } : {}),
      // Problems always; every request too with --verbose.
      log: textLogger(io.stderr, { level: values.verbose ? 'debug' : 'info' }),
    });
    try {
      await sandbox.start();
    } catch (e) {
      io.stderr(`restorectl sandbox: cannot start: ${(e as Error).message}\n`);
      return 2;
    }
    writeFileSync(memo, JSON.stringify({ port: sandbox.port }) + '\n');
    io.stdout(
      `Sandbox API server: ${sandbox.url}\nkubeconfig: ${sandbox.kubeconfigPath}\n  export KUBECONFIG=${sandbox.kubeconfigPath}\nNodes: ${nodes}. Press Ctrl-C to stop.\n`,
    );
    // `on`, not `once`: a Ctrl-C reaches both restorectl and this plugin, which restorectl also
    // passes on; the second must not kill the sandbox while it stops.
    const signal = await new Promise<string>((done) => {
      process.on('SIGINT', () => done('SIGINT'));
      process.on('SIGTERM', () => done('SIGTERM'));
    });
    io.stdout(`\n${signal}: stopping the sandbox…\n`);
    await sandbox.stop();
    io.stdout('Stopped; state saved in ' + dir + '\n');
    return 0;
  },
};

/** `--engine kube-apiserver`: the real control plane with the simulator as its nodes. */
async function runKubeEngine(
  dir: string,
  values: { port?: string | undefined; nodes?: string | undefined; 'agent-image'?: string | undefined; verbose?: boolean | undefined },
  io: Io,
): Promise<number> {
  const port = intOption('port', values.port, 0) ?? 0;
  const nodes = intOption('nodes', values.nodes, 1) ?? 1;
  const why = kubeEngineUnavailable();
  if (why) {
    io.stderr(`restorectl sandbox: the kube-apiserver engine cannot run here: ${why}\n`);
    return 2;
  }
  let failed: string | undefined;
  let wake: (signal: string) => void = () => {};
  const stopped = new Promise<string>((done) => (wake = done));
  const engine = new KubeEngine({
    dir,
    port,
    nodes,
    ...(values['agent-image'] ? { agentImage: values['agent-image'] } : {}),
    // The build's progress and the start-up's milestones always; every line with --verbose.
    onProgress: (line) => {
      if (values.verbose || /^\[control-plane build|ready|error|exited|\[engine\]|building the launcher/.test(line)) io.stderr(`${line}\n`);
    },
    onFailure: (message) => {
      failed = message;
      wake('failure');
    },
  });
  // `on`, not `once`: a Ctrl-C reaches both restorectl and this plugin (see above).
  process.on('SIGINT', () => wake('SIGINT'));
  process.on('SIGTERM', () => wake('SIGTERM'));
  const started = engine.start().then(
    () => 'ready',
    (e: Error) => {
      failed = e.message;
      return 'failed';
    },
  );
  const first = await Promise.race([started, stopped]);
  if (first !== 'ready') {
    if (first !== 'failed') io.stdout(`\n${first}: stopping the kube-apiserver engine…\n`);
    // Stopping ends a build or a start under way (start() then fails, which is expected here).
    await engine.stop();
    await started;
    if (first !== 'failed' && first !== 'failure') failed = undefined;
    if (failed) io.stderr(`restorectl sandbox: cannot start the kube-apiserver engine: ${failed}\n`);
    return failed ? 2 : 0;
  }
  io.stdout(
    `Sandbox API server: ${engine.url} (kube-apiserver engine, ready in ${(engine.startupMs / 1000).toFixed(1)}s)\nkubeconfig: ${engine.kubeconfigPath}\n  export KUBECONFIG=${engine.kubeconfigPath}\nNodes: ${nodes}. Logs: ${engine.controlPlane.logDir}. Press Ctrl-C to stop.\n`,
  );
  const signal = await stopped;
  io.stdout(`\n${signal}: stopping the kube-apiserver engine…\n`);
  await engine.stop();
  if (failed) {
    io.stderr(`restorectl sandbox: ${failed}\n`);
    return 1;
  }
  io.stdout('Stopped; state kept in ' + dir + '\n');
  return 0;
}
