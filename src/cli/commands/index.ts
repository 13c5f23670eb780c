// Every `restorectl` subcommand, in the order `restorectl --help` lists them. Modules load on use.
import type { CommandEntry } from '../command.ts';

export const COMMANDS: CommandEntry[] = [
  {
    name: 'validate',
    summary: 'Check RestoreSession and Repository manifests against the CRD schemas and the SPEC rules',
    load: async () => (await import('./validate.ts')).validateCommand,
  },
  {
    name: 'plan',
    summary: 'Show what applying a source folder would do: sessions created, pods restarted, hosts and paths restored',
    load: async () => (await import('./plan.ts')).planCommand,
  },
  {
    name: 'status',
    summary: 'Show what ran, when and from which commit, read from the status branch of a git remote',
    load: async () => (await import('./status.ts')).statusCommand,
  },
  {
    name: 'reconcile',
    summary: 'Ask the running daemon for a cycle now (signed with its webhook secret)',
    load: async () => (await import('./reconcile.ts')).reconcileCommand,
  },
  {
    name: 'rerun',
    summary: 'Run a restore again: commit the restore.gitops/rerun bump to the source branch (or print it as a patch)',
    load: async () => (await import('./rerun.ts')).rerunCommand,
  },
  {
    name: 'suspend',
    summary: "Hold a cluster's daemon (a commit on the status branch): it creates and prunes nothing, and follows running sessions",
    load: async () => (await import('./suspend.ts')).suspendCommand,
  },
  {
    name: 'resume',
    summary: "Free a cluster's daemon held by suspend (a commit on the status branch)",
    load: async () => (await import('./suspend.ts')).resumeCommand,
  },
  {
    name: 'run',
    summary: 'The daemon: follow a git branch, create each restore exactly once, drive it, write its history to the status branch',
    load: async () => (await import('./run.ts')).runCommand,
  },
  {
    name: 'controller',
    summary: 'Only the RestoreSession controller: drive sessions created by any means (kubectl, Helm) to a final phase',
    load: async () => (await import('./controller.ts')).controllerCommand,
  },
  {
    name: 'version',
    summary: 'Print the version of restorectl (every command also takes --version)',
    load: async () => (await import('./version.ts')).versionCommand,
  },
  {
    name: 'agent restore',
    summary: "Restore this pod's host of a RestoreSession with restic (runs inside stash-init or a restore Job)",
    load: async () => (await import('./agent.ts')).agentRestoreCommand,
  },
  {
    name: 'agent update-status',
    summary: "Record the host stats a Stash Task's steps wrote (output.json) in the RestoreSession: the last step of a Task's restore Job",
    load: async () => (await import('./agent-update-status.ts')).agentUpdateStatusCommand,
  },
];
