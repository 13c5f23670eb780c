// The Role the agent needs (for a database session also its AppBinding and that one's Secrets),
// bound to the service account its pods run as (a workload's pods or a restore Job's), owned by
// the session so it goes with it. A Repository in another namespace (usagePolicy All or Selector)
// is read there: a second Role and RoleBinding in the Repository's namespace grant get on it and
// its Secret. An ownerReference cannot cross namespaces, so the controller removes those when the
// session ends or goes ({@link removeRepositoryAccess}).
import type { AppBinding } from '../../api/appbinding.ts';
import { APPCATALOG_GROUP } from '../../api/appbinding.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/meta.ts';
import { appBindingSecretNames } from '../../databases/index.ts';
import type { Repository } from '../../api/repository.ts';
import { repositoryOf } from '../../api/restoresession.ts';
import type { RestoreSession } from '../../api/restoresession.ts';
import { dnsLabel } from '../../session/names.ts';
import { SESSION_LABEL, sessionOwner } from '../claims.ts';
import type { ControllerCluster } from '../cluster.ts';
import type { ExecutorContext } from './types.ts';

/** On the grant in a Repository's namespace: the namespace of the session it serves. */
export const SESSION_NAMESPACE_LABEL = 'restore.gitops/session-namespace';

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}

/**
 * What the agent may do (read its session, write its status, read the Repository and its Secret,
 * events, its Lease). The controller must hold all of it to grant it (deploy/rbac/clusterrole.yaml).
 */
export function agentRoleRules(session: RestoreSession, repository: Repository, appBinding?: AppBinding): PolicyRule[] {
  // A built-in database restore reads its AppBinding and the Secrets it names (credentials, TLS).
  const database: PolicyRule[] = appBinding
    ? [
        { apiGroups: [APPCATALOG_GROUP], resources: ['appbindings'], resourceNames: [appBinding.metadata.name], verbs: ['get'] },
        ...(appBindingSecretNames(appBinding).length
          ? [{ apiGroups: [''], resources: ['secrets'], resourceNames: appBindingSecretNames(appBinding), verbs: ['get'] }]
          : []),
      ]
    : [];
  return [
    { apiGroups: ['stash.appscode.com'], resources: ['restoresessions'], resourceNames: [session.metadata.name], verbs: ['get'] },
    { apiGroups: ['stash.appscode.com'], resources: ['restoresessions/status'], resourceNames: [session.metadata.name], verbs: ['get', 'update'] },
    { apiGroups: ['stash.appscode.com'], resources: ['repositories'], verbs: ['get'] },
    { apiGroups: [''], resources: ['secrets'], resourceNames: [repository.spec.backend.storageSecretName ?? ''], verbs: ['get'] },
    { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    ...database,
  ];
}

/** What the agent reads in a Repository's namespace when that is not its own: the Repository and its Secret. */
export function repositoryAccessRules(repository: Repository): PolicyRule[] {
  return [
    { apiGroups: ['stash.appscode.com'], resources: ['repositories'], resourceNames: [repository.metadata.name], verbs: ['get'] },
    { apiGroups: [''], resources: ['secrets'], resourceNames: [repository.spec.backend.storageSecretName ?? ''], verbs: ['get'] },
  ];
}

/** Where the grant for a session's cross-namespace Repository is (undefined when the Repository is in the session's namespace). */
export function repositoryAccessName(session: RestoreSession): { namespace: string; name: string } | undefined {
  const ref = repositoryOf(session);
  const ns = session.metadata.namespace!;
  if (!ref || ref.namespace === ns) return undefined;
  return { namespace: ref.namespace, name: dnsLabel('stash-restore', `${ns}-${session.metadata.name}`) };
}

/** Takes back what {@link ensureAgentRbac} granted in another namespace (nothing when there is none). */
export async function removeRepositoryAccess(cluster: ControllerCluster, session: RestoreSession): Promise<void> {
  const where = repositoryAccessName(session);
  if (!where) return;
  await cluster.deleteRoleBinding(where.namespace, where.name);
  await cluster.deleteRole(where.namespace, where.name);
}

/** A Role for the agent ({@link agentRoleRules}, a database session's AppBinding among them) and `extra` (what a Task's steps read), bound to the pods' service account. */
export async function ensureAgentRbac(ctx: ExecutorContext, serviceAccount: string, appBinding?: AppBinding, extra: PolicyRule[] = []): Promise<void> {
  const { session, cluster } = ctx;
  const ns = session.metadata.namespace!;
  const name = dnsLabel('stash-restore', session.metadata.name);
  const meta = { name, namespace: ns, labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE }, ownerReferences: [sessionOwner(session)] };
  await cluster.createRole({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta,
    rules: [...agentRoleRules(session, ctx.repository, appBinding), ...extra],
  });
  await cluster.createRoleBinding({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: meta,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: ns }],
  });
  const where = repositoryAccessName(session);
  if (!where) return;
  const there = {
    ...where,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [SESSION_LABEL]: session.metadata.name, [SESSION_NAMESPACE_LABEL]: ns },
  };
  await cluster.createRole({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: there, rules: repositoryAccessRules(ctx.repository) });
  await cluster.createRoleBinding({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: there,
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: where.name },
    subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: ns }],
  });
}
