// The errors of loading a client configuration, shared by client-node's loader (kubeconfig.ts)
// and the agent's own (rest-config.ts), so callers switch on one set of codes.
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
