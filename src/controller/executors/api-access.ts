// The agent talks to the API as its pod's ServiceAccount. A workload whose pods set
// `automountServiceAccountToken: false` gets no token, so stash-init alone gets one: a projected
// volume as the ServiceAccount admission plugin would add (a bound token, the cluster CA, the
// namespace) mounted at the in-cluster path on stash-init only; the workload's own containers
// stay without. Pure.
import type { PodTemplateSpec } from '../../api/core.ts';
import { API_ACCESS_VOLUME, INIT_CONTAINER_NAME } from '../agent-container.ts';
export const SERVICE_ACCOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The template with stash-init's own token when the pods have none; else the template as it is. */
export function withAgentApiAccess(template: PodTemplateSpec): PodTemplateSpec {
  const spec = template.spec;
  if (spec.automountServiceAccountToken !== false) return template;
  if (spec.volumes?.some((v) => v.name === API_ACCESS_VOLUME)) return template;
  const volume = {
    name: API_ACCESS_VOLUME,
    projected: {
      defaultMode: 0o444,
      sources: [
        { serviceAccountToken: { path: 'token', expirationSeconds: 3607 } },
        { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
      ],
    },
  };
  return {
    ...template,
    spec: {
      ...spec,
      volumes: [...(spec.volumes ?? []), volume],
      initContainers: (spec.initContainers ?? []).map((c) =>
        c.name === INIT_CONTAINER_NAME
          ? { ...c, volumeMounts: [...(c.volumeMounts ?? []), { name: API_ACCESS_VOLUME, mountPath: SERVICE_ACCOUNT_PATH, readOnly: true }] }
          : c,
      ),
    },
  };
}
