// The kubeconfig a sandbox writes for kubectl and client-node: plain HTTP, no credentials.
// `insecure-skip-tls-verify` is what client-node needs to accept an http:// server.
import { stringify } from 'yaml';

export function sandboxKubeconfig(server: string, namespace = 'default'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'sandbox', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'sandbox', user: {} }],
    contexts: [{ name: 'sandbox', context: { cluster: 'sandbox', user: 'sandbox', namespace } }],
    'current-context': 'sandbox',
    preferences: {},
  });
}
