// Loading the client configuration: an explicit kubeconfig file, else $KUBECONFIG / ~/.kube/config,
// else the in-cluster service account. A plain-HTTP server (the sandbox) gets skipTLSVerify,
// which client-node requires before it will talk http:// at all (there is no TLS to verify).
import type { Agent as HttpAgent } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import type { RestConnection } from './rest.ts';
import { KubeConfigError } from './kubeconfig-error.ts';
import type { LoadOptions } from './kubeconfig-error.ts';

export { KubeConfigError } from './kubeconfig-error.ts';
export type { KubeConfigErrorCode, LoadOptions } from './kubeconfig-error.ts';

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
  return selectContext(kc, options.context, options.kubeconfig);
}

function selectContext(kc: KubeConfig, context: string | undefined, file: string | undefined): KubeConfig {
  if (context) {
    if (!kc.getContextObject(context)) {
      const contexts = kc.getContexts().map((c) => c.name);
      throw new KubeConfigError(
        'KubeContextNotFound',
        `kubeconfig has no context "${context}" (it has: ${contexts.join(', ') || 'none'}; see kubectl config get-contexts)`,
        { context, contexts, ...(file ? { file } : {}) },
      );
    }
    kc.setCurrentContext(context);
  }
  return allowPlainHttp(kc);
}

/** Loads kubeconfig files as $KUBECONFIG lists them (the first's current context, the others merged in), then `context`. */
export function loadKubeConfigFiles(files: string[], context?: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(files[0]!);
    for (const file of files.slice(1)) {
      const more = new KubeConfig();
      more.loadFromFile(file);
      kc.mergeConfig(more);
    }
  } catch (e) {
    throw new KubeConfigError(
      'KubeConfigUnreadable',
      `cannot load kubeconfig ${files.join(':')}: ${(e as Error).message}`,
      { file: files.join(':') },
      { cause: e },
    );
  }
  return selectContext(kc, context, files.join(':'));
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

/**
 * The connection of `kc`'s current context for the small REST client (rest.ts), with client-node
 * doing the authentication: what rest-config.ts falls back to for what it does not read itself
 * (exec plugins, auth providers, proxies, several $KUBECONFIG files). Each request asks
 * client-node for its headers, so a plugin's token is refreshed as client-node would.
 */
export async function restConnectionOf(kc: KubeConfig, source = 'kubeconfig (through @kubernetes/client-node)'): Promise<RestConnection> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeConfigError('KubeConfigUnreadable', 'the kubeconfig has no current context with a cluster (set current-context)', {});
  // client-node's own request options: TLS material, and the agent (a proxy's, when proxy-url is set)
  const applied = async () => {
    const o: {
      headers?: Record<string, string>;
      auth?: string;
      ca?: Buffer;
      cert?: Buffer;
      key?: Buffer;
      rejectUnauthorized?: boolean;
      servername?: string;
      agent?: HttpAgent;
    } = {};
    await kc.applyToHTTPSOptions(o);
    return o;
  };
  const first = await applied();
  return {
    server: cluster.server,
    tls: {
      ...(first.ca ? { ca: first.ca } : {}),
      ...(first.cert ? { cert: first.cert } : {}),
      ...(first.key ? { key: first.key } : {}),
      ...(first.rejectUnauthorized !== undefined ? { rejectUnauthorized: first.rejectUnauthorized } : {}),
      ...(first.servername ? { servername: first.servername } : {}),
    },
    ...(cluster.proxyUrl && first.agent ? { agent: first.agent } : {}),
    headers: async () => {
      const o = await applied();
      return { ...o.headers, ...(o.auth ? { Authorization: `Basic ${Buffer.from(o.auth).toString('base64')}` } : {}) };
    },
    source,
  };
}
