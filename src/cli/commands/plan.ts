import { hasErrors, sortDiagnostics, validateSource } from '../../manifests/index.ts';
import { planRestores, planToJson, planToMarkdown, planToText } from '../../plan/index.ts';
import type { Command } from '../command.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, parseCommandArgs } from '../command.ts';
import { headCommitOf, readClusterState, readSourceDir } from '../inputs.ts';

const OUTPUTS = ['text', 'markdown', 'json'] as const;

export const planCommand: Command = {
  name: 'plan',
  help: `Usage: restorectl plan --source DIR [--cluster-state PATH] [--output text|markdown|json]

Loads and validates the manifests under DIR, then plans them against the cluster state: which
RestoreSessions are created, re-run, pruned or blocked, which executor each uses (init-container:
the workload's pods restart; job; volume-snapshot), and for every host which snapshot or paths it
restores, from which source host, with which include/exclude patterns.

Options:
  --source DIR              folder holding the RestoreSession and Repository manifests (required)
  --cluster-state PATH      YAML file or folder of live objects standing in for the cluster
                            (workloads, PVCs, Nodes, Repositories, RestoreSessions, Secret names),
                            so CI can plan without cluster credentials. Without it, hosts that
                            depend on a workload (StatefulSet replicas, DaemonSet nodes) are
                            reported unknown, with a warning.
  --output FORMAT           text (default), markdown (for a pull-request comment) or json
  --default-namespace NS    namespace of objects that name none (default: "default")
  -h, --help                show this help

JSON output: {"sourceCommit", "diagnostics": [...], "actions": [...]} (see docs/architecture.md).
Exit status: 0 no errors, 1 at least one error diagnostic, 2 could not run.`,
  async run(argv, io) {
    const { values } = parseCommandArgs('plan', argv, {
      source: { type: 'string' },
      'cluster-state': { type: 'string' },
      output: { type: 'string', short: 'o', default: 'text' },
      'default-namespace': { type: 'string' },
    });
    if (!values.source) throw new UsageError('plan: --source DIR is required');
    const output = values.output as (typeof OUTPUTS)[number];
    if (!OUTPUTS.includes(output)) throw new UsageError(`plan: --output must be one of ${OUTPUTS.join(', ')}, not "${values.output}"`);

    const source = await readSourceDir(values.source);
    const state = values['cluster-state'] ? await readClusterState(values['cluster-state']) : undefined;
    const desired = validateSource(source.files, state?.cluster, { defaultNamespace: values['default-namespace'] });
    desired.diagnostics.unshift(...source.diagnostics, ...(state?.diagnostics ?? []));
    const plan = planRestores({ desired, cluster: state?.cluster, sourceCommit: await headCommitOf(values.source) });
    sortDiagnostics(plan.diagnostics);
    io.stdout(output === 'json' ? planToJson(plan) : output === 'markdown' ? planToMarkdown(plan) : planToText(plan));
    return hasErrors(plan.diagnostics) ? EXIT_ERRORS : EXIT_OK;
  },
};
