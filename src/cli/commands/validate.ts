import { checkDesired, formatDiagnostic, hasErrors, loadDesired, readManifestPaths, sortDiagnostics } from '../../manifests/index.ts';
import type { Command } from '../command.ts';
import { EXIT_ERRORS, EXIT_OK, UsageError, parseCommandArgs } from '../command.ts';
import { readClusterState } from '../inputs.ts';

export const validateCommand: Command = {
  name: 'validate',
  help: `Usage: restorectl validate PATH… [--cluster-state PATH] [--default-namespace NS]

Checks every *.yaml / *.yml file under each PATH (files or folders): YAML syntax, the CRD
schemas of deploy/crds, the rule constraints (one catch-all rule, no host in two rules, snapshots
or paths but not both), references (a RestoreSession's Repository must be declared or be in the
cluster state) and tenancy. Secrets in the source are refused.

Prints one line per problem:  file:line:col: severity: message (field)

Options:
  --cluster-state PATH      YAML file or folder of live objects (Repositories, workloads,
                            Namespaces) used to check references
  --default-namespace NS    namespace of objects that name none (default: "default")
  -h, --help                show this help

Exit status: 0 no errors (warnings allowed), 1 at least one error, 2 could not run.`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs('validate', argv, {
      'cluster-state': { type: 'string' },
      'default-namespace': { type: 'string' },
    });
    if (positionals.length === 0) throw new UsageError('validate: give at least one file or folder to check');
    const read = await readManifestPaths(positionals);
    const state = values['cluster-state'] ? await readClusterState(values['cluster-state']) : undefined;
    const desired = loadDesired(read.files, { defaultNamespace: values['default-namespace'] });
    const diagnostics = sortDiagnostics([...read.diagnostics, ...(state?.diagnostics ?? []), ...desired.diagnostics, ...checkDesired(desired, state?.cluster)]);
    for (const d of diagnostics) io.stdout(formatDiagnostic(d) + '\n');
    const errors = diagnostics.filter((d) => d.severity === 'error').length;
    io.stderr(
      `${read.files.length} file(s), ${desired.sessions.length} RestoreSession(s), ${desired.repositories.length} Repository(ies): ${errors} error(s), ${diagnostics.length - errors} warning(s)\n`,
    );
    return hasErrors(diagnostics) ? EXIT_ERRORS : EXIT_OK;
  },
};
