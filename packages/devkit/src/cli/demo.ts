import { runDemo } from '../demo/demo.ts';
import type { Command } from 'restore-controller/cli/command';
import { UsageError, parseCommandArgs } from 'restore-controller/cli/command';

export const demoCommand: Command = {
  name: 'demo',
  help: `Usage: restorectl demo [--dir DIR] [--engine embedded|kube-apiserver] [--exit]

Runs the whole loop on this machine, with nothing to install beyond restic and git: the sandbox
cluster, a git server holding a copy of the examples (shipped with the dev kit), a restic
repository made on the spot with backups of the examples' hosts, and the daemon. Shows the plan,
the restores running, the files restored into the pods' volumes and the status branch's git log,
then how to look around: the git URL, the \`restorectl status\`, \`reconcile\` and \`suspend\` commands
for it, and the daemon's log file (DIR/daemon.log). The plan shown is the one a pull request gets:
every host, and the snapshot \`latest\` is pinned to for it.

Ctrl-C (or SIGTERM), at any step: the daemon, the git server and the sandbox stop, and the
temporary folder is removed; a folder given with --dir is left, and the demo says so.

Options:
  --dir DIR   keep everything in DIR (default: a temporary folder, removed with --exit)
  --engine E  the sandbox's engine: embedded (default) or kube-apiserver (a real control plane
              with the simulator as its nodes; see restorectl sandbox --help)
  --exit      stop once every restore is final (exit 0 if all succeeded); otherwise the demo
              stays up until Ctrl-C`,
  async run(argv, io) {
    const { values } = parseCommandArgs('demo', argv, {
      dir: { type: 'string' },
      engine: { type: 'string', default: 'embedded' },
      exit: { type: 'boolean', default: false },
    });
    if (values.engine !== 'embedded' && values.engine !== 'kube-apiserver')
      throw new UsageError(`demo: --engine must be embedded or kube-apiserver; got "${values.engine}"`);
    const code = await runDemo({ dir: values.dir, engine: values.engine, exit: values.exit ?? false, out: io.stdout });
    // Interrupted mid-way, a step may still be waiting on a timer: do not let it hold the process.
    if (code === 130) setTimeout(() => process.exit(code), 500).unref();
    return code;
  },
};
