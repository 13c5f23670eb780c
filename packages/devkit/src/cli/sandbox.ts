// `restorectl sandbox`: the embedded Kubernetes API and workload simulator in the foreground.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError, parseCommandArgs } from 'restore-controller/cli/command';
import type { Command, Io } from 'restore-controller/cli/command';
import { textLogger } from 'restore-controller/common/log';
import { Sandbox } from '../sandbox/index.ts';

const HELP = `Usage: restorectl sandbox --dir DIR [--port P] [--nodes N] [--agent-image IMAGE] [--verbose]

Runs an embedded Kubernetes API server on 127.0.0.1 (plain HTTP) with a workload simulator:
Deployments, StatefulSets, DaemonSets and Jobs make Pods; PVCs are folders; containers whose
image is the agent image run for real as \`restorectl\` processes. kubectl works against it.

Options:
  --dir DIR            where state lives: DIR/kubeconfig, DIR/state.json (objects; a restart is
                       like an API server restart), DIR/volumes/<namespace>/<pvc>/, DIR/pods/
  --port P             TCP port (default: the port of the last run in DIR, else a free one)
  --nodes N            simulated nodes, each runs one pod of every DaemonSet (default 1)
  --agent-image IMAGE  the image that runs as a real process (default: ${Sandbox.DEFAULT_AGENT_IMAGE})
  --verbose            log every request to stderr

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
      dir: { type: 'string' },
      port: { type: 'string' },
      nodes: { type: 'string' },
      'agent-image': { type: 'string' },
      verbose: { type: 'boolean' },
    });
    if (positionals.length) throw new UsageError(`sandbox: unexpected argument "${positionals[0]}"`);
    if (!values.dir) throw new UsageError('sandbox: --dir is required');
    const dir = resolve(values.dir);
    const memo = join(dir, 'sandbox.json');
    const lastPort = existsSync(memo) ? (JSON.parse(readFileSync(memo, 'utf8')) as { port?: number }).port : undefined;
    const port = intOption('port', values.port, 0) ?? lastPort ?? 0;
    const nodes = intOption('nodes', values.nodes, 1) ?? 1;
    const sandbox = new Sandbox({
      dir, port, nodes, gracefulPodDeletion: true,
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
    io.stdout(`Sandbox API server: ${sandbox.url}\nkubeconfig: ${sandbox.kubeconfigPath}\n  export KUBECONFIG=${sandbox.kubeconfigPath}\nNodes: ${nodes}. Press Ctrl-C to stop.\n`);
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
