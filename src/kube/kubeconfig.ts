// Loading the client configuration: an explicit kubeconfig file, else $KUBECONFIG / ~/.kube/config,
// else the in-cluster service account. A plain-HTTP server (the sandbox) gets skipTLSVerify,
// which client-node requires before it will talk http:// at all (there is no TLS to verify).
import { KubeConfig } from '@kubernetes/client-node';

export interface LoadOptions {
  /** Path of a kubeconfig file; wins over $KUBECONFIG. */
  kubeconfig?: string;
  /** Context to use instead of current-context. */
  context?: string;
}

export class KubeConfigError extends Error {
  readonly code = 'KubeConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubeConfigError';
  }
}

export function loadKubeConfig(options: LoadOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new KubeConfigError(`cannot load kubeconfig${options.kubeconfig ? ` ${options.kubeconfig}` : ''}: ${(e as Error).message}`, { cause: e });
  }
  if (options.context) {
    if (!kc.getContextObject(options.context)) throw new KubeConfigError(`kubeconfig has no context "${options.context}"`);
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
