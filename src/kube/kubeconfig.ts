// Loading the client configuration: an explicit kubeconfig file, else $KUBECONFIG / ~/.kube/config,
// else the in-cluster service account. A plain-HTTP server (the sandbox) gets skipTLSVerify,
// which client-node requires before it will talk http:// at all (there is no TLS to verify).
import { KubeConfig } from '@kubernetes/client-node';
import { RestoreError } from '../common/errors.ts';

export interface LoadOptions {
  /** Path of a kubeconfig file; wins over $KUBECONFIG. */
  kubeconfig?: string;
  /** Context to use instead of current-context. */
  context?: string;
}

export type KubeConfigErrorCode =
  /** The kubeconfig file (or $KUBECONFIG, ~/.kube/config, the in-cluster account) cannot be read or parsed. */
  | 'KubeConfigUnreadable'
  /** --context names a context the kubeconfig does not have. */
  | 'KubeContextNotFound';

export class KubeConfigError extends RestoreError<KubeConfigErrorCode, { file?: string; context?: string; contexts?: string[] }> {}

export function loadKubeConfig(options: LoadOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new KubeConfigError(
      'KubeConfigUnreadable',
      `cannot load kubeconfig${options.kubeconfig ? ` ${options.kubeconfig}` : ''}: ${(e as Error).message}`,
      options.kubeconfig ? { file: options.kubeconfig } : {},
      { cause: e },
    );
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) {
      const contexts = kc.getContexts().map((c) => c.name);
      throw new KubeConfigError(
        'KubeContextNotFound',
        `kubeconfig has no context "${options.context}" (it has: ${contexts.join(', ') || 'none'}; see kubectl config get-contexts)`,
        { context: options.context, contexts, ...(options.kubeconfig ? { file: options.kubeconfig } : {}) },
      );
    }
    kc.setCurrentContext(options.context);
  }
  return allowPlainHttp(kc);
}

/** Marks http:// clusters skipTLSVerify, so client-node accepts them. */
export function allowPlainHttp(kc: KubeConfig): KubeConfig {
  const clusters = kc.getClusters().map((c) => (c.server.startsWith('http://') && !c.skipTLSVerify ? { ...c, skipTLSVerify: true } : c));
  if (clusters.some((c, i) => c !== kc.getClusters()[i])) {
    kc.loadFromOptions({ clusters, users: kc.getUsers(), contexts: kc.getContexts(), currentContext: kc.getCurrentContext() });
  }
  return kc;
}

/** The namespace of the current context, or `default`. */
export function currentNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}
