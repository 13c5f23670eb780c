// Whether a target workload is kept in sync by Flux or Argo CD, read from the labels and
// annotations they put on what they apply. Such an owner may take the injected stash-init back
// out on its next sync (issue 7 §3), so the session says so. Pure.
//
// Not taken as a sign: `app.kubernetes.io/instance` alone. Argo CD's default label tracking uses
// it, but so does every Helm chart; warning on all of those would teach people to ignore it.
import type { KubeObject } from '../api/meta.ts';

export interface GitOpsOwner {
  tool: 'Flux' | 'Argo CD';
  /** The object that applies the workload, e.g. `Kustomization flux-system/apps`, `Application guestbook`. */
  owner: string;
  /** What to do about it during the restore. */
  advice: string;
}

export function gitopsOwner(o: KubeObject): GitOpsOwner | undefined {
  const labels = o.metadata.labels ?? {};
  const annotations = o.metadata.annotations ?? {};
  for (const [kind, prefix, cli] of [
    ['Kustomization', 'kustomize', 'kustomization'],
    ['HelmRelease', 'helm', 'helmrelease'],
  ] as const) {
    const name = labels[`${prefix}.toolkit.fluxcd.io/name`];
    if (!name) continue;
    const ns = labels[`${prefix}.toolkit.fluxcd.io/namespace`];
    return {
      tool: 'Flux',
      owner: `${kind} ${ns ? `${ns}/` : ''}${name}`,
      advice: `suspend it until the restore is done: flux suspend ${cli} ${name}${ns ? ` -n ${ns}` : ''}`,
    };
  }
  // Annotation tracking: `<app>:<group>/<kind>:<namespace>/<name>`; label tracking set to argocd.argoproj.io/instance.
  const tracking = annotations['argocd.argoproj.io/tracking-id'];
  const app = tracking ? tracking.split(':')[0] : labels['argocd.argoproj.io/instance'];
  if (app) {
    return { tool: 'Argo CD', owner: `Application ${app}`, advice: 'turn off its automated sync (selfHeal) until the restore is done' };
  }
  return undefined;
}

/** The session condition that carries the warning (not one of Stash's; it never changes the phase). */
export const MANAGED_BY_GITOPS_CONDITION = 'WorkloadManagedByGitOps';

export function gitopsWarning(workload: KubeObject, owner: GitOpsOwner): string {
  const ns = workload.metadata.namespace ? `${workload.metadata.namespace}/` : '';
  return `${workload.kind} ${ns}${workload.metadata.name} is managed by ${owner.tool} (${owner.owner}), which may remove the injected stash-init on its next sync, before every pod has restored: ${owner.advice}`;
}
