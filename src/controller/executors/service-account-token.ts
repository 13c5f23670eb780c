// Whether the agent's pods get a ServiceAccount token from Kubernetes: a pod that says nothing
// leaves it to its ServiceAccount (agent-container.ts tokenAutomounted), which is read here.
import type { PodSpec } from '../../api/core.ts';
import type { ServiceAccountTokenSetting } from '../agent-container.ts';
import { ControllerError } from '../errors.ts';
import { apiErrorInfo } from '../../kube/api-error.ts';
import type { ExecutorContext } from './types.ts';

/**
 * The token setting of the ServiceAccount `spec` runs as in `namespace`, when the pod leaves the
 * decision to it; undefined when the pod decides, or the ServiceAccount does not exist (its pods
 * are then refused by the API, which the executors report). Read once, when the agent's pod
 * spec is built: a ServiceAccount changed afterwards reaches the next session only.
 */
export async function serviceAccountTokenSetting(
  ctx: ExecutorContext,
  namespace: string,
  spec: Pick<PodSpec, 'serviceAccountName' | 'automountServiceAccountToken'>,
): Promise<ServiceAccountTokenSetting | undefined> {
  if (spec.automountServiceAccountToken !== undefined) return undefined;
  const name = spec.serviceAccountName || 'default';
  let sa: Awaited<ReturnType<ExecutorContext['cluster']['serviceAccount']>>;
  try {
    sa = await ctx.cluster.serviceAccount(namespace, name);
  } catch (e) {
    const session = `${ctx.session.metadata.namespace}/${ctx.session.metadata.name}`;
    const status = apiErrorInfo(e).code;
    throw new ControllerError(
      'ServiceAccountUnreadable',
      `cannot read ServiceAccount ${namespace}/${name}, whose automountServiceAccountToken decides whether the agent mounts a token of its own: ${ctx.cluster.describeError(e)} (retrying with backoff; check the controller may get serviceaccounts in ${namespace})`,
      { session, object: `ServiceAccount ${namespace}/${name}`, ...(status ? { status } : {}) },
      { cause: e },
    );
  }
  return sa?.automountServiceAccountToken === undefined ? undefined : { automountServiceAccountToken: sa.automountServiceAccountToken };
}
