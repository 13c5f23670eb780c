// Counting the Kubernetes API errors of everything the daemon runs (Applier, Controller, its own
// lists, the leader elector) at the one place every typed client shares: the HTTP library each
// client is made with. `KubeConfig.makeApiClient` builds the same configuration as client-node's,
// with an HTTP library that reports failed answers. Watches (which stream) are not counted.
import * as k8s from '@kubernetes/client-node';
import { RestoreError } from '../common/errors.ts';

export type ApiErrorSink = (code: number | 'network') => void;

/** The kubeconfig names no cluster to talk to, so no API client can be made. */
export class KubeClusterMissing extends RestoreError<'KubeClusterMissing', { currentContext: string; contexts: string[] }> {}

class CountingKubeConfig extends k8s.KubeConfig {
  private readonly onError: ApiErrorSink;

  constructor(onError: ApiErrorSink) {
    super();
    this.onError = onError;
  }

  override makeApiClient<T extends k8s.ApiType>(apiClientType: k8s.ApiConstructor<T>): T {
    const cluster = this.getCurrentCluster();
    if (!cluster) {
      const currentContext = this.getCurrentContext();
      const contexts = this.getContexts().map((c) => c.name);
      throw new KubeClusterMissing(
        'KubeClusterMissing',
        `the kubeconfig has no current cluster${currentContext ? ` (context "${currentContext}" names none)` : ''}: set current-context to one of ${contexts.length ? contexts.join(', ') : '(no contexts defined)'}, or pass --kubeconfig`,
        { currentContext, contexts },
      );
    }
    const inner = new k8s.IsomorphicFetchHttpLibrary();
    const onError = this.onError;
    const httpApi = k8s.wrapHttpLibrary({
      async send(request) {
        let response: k8s.ResponseContext;
        try {
          response = await inner.send(request).toPromise();
        } catch (e) {
          onError('network');
          throw e;
        }
        if (response.httpStatusCode >= 400) onError(response.httpStatusCode);
        return response;
      },
    });
    return new apiClientType(k8s.createConfiguration({ baseServer: new k8s.ServerConfiguration(cluster.server, {}), authMethods: { default: this }, httpApi }));
  }
}

/** A copy of `kc` whose API clients report every failed request to `onError`. */
export function countApiErrors(kc: k8s.KubeConfig, onError: ApiErrorSink): k8s.KubeConfig {
  const out = new CountingKubeConfig(onError);
  out.loadFromOptions({ clusters: kc.getClusters(), users: kc.getUsers(), contexts: kc.getContexts(), currentContext: kc.getCurrentContext() });
  return out;
}
