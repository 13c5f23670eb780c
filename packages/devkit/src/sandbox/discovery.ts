// Legacy (unaggregated) discovery documents: /version, /api, /apis, /apis/<group>,
// /api/v1 and /apis/<group>/<version>. kubectl falls back to these when the server answers its
// aggregated-discovery Accept header with plain JSON.
import type { ResourceRegistry, ResourceType } from './resources.ts';
import { VERBS, apiVersionOf } from './resources.ts';

export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0-restore-sandbox',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.23.0',
  compiler: 'gc',
  platform: 'linux/amd64',
};

export function apiVersions(address: string): Record<string, unknown> {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: address }] };
}

function groupDoc(name: string, versions: string[]): Record<string, unknown> {
  const vs = versions.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
  return { name, versions: vs, preferredVersion: vs[0] };
}

export function apiGroupList(registry: ResourceRegistry): Record<string, unknown> {
  const groups = [...registry.groups()].filter(([g]) => g !== '').map(([g, vs]) => groupDoc(g, vs));
  return { kind: 'APIGroupList', apiVersion: 'v1', groups };
}

export function apiGroup(registry: ResourceRegistry, group: string): Record<string, unknown> | undefined {
  const vs = registry.groups().get(group);
  return vs && group ? { kind: 'APIGroup', apiVersion: 'v1', ...groupDoc(group, vs) } : undefined;
}

function resourceEntries(r: ResourceType): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [
    {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: VERBS,
      ...(r.shortNames.length ? { shortNames: r.shortNames } : {}),
      ...(r.categories.length ? { categories: r.categories } : {}),
    },
  ];
  if (r.group === 'apps' && (r.plural === 'deployments' || r.plural === 'statefulsets')) {
    out.push({
      name: `${r.plural}/scale`,
      singularName: '',
      namespaced: true,
      group: 'autoscaling',
      version: 'v1',
      kind: 'Scale',
      verbs: ['get', 'patch', 'update'],
    });
  }
  if (r.statusSubresource)
    out.push({ name: `${r.plural}/status`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] });
  return out;
}

export function apiResourceList(registry: ResourceRegistry, group: string, version: string): Record<string, unknown> | undefined {
  const rs = registry.all().filter((r) => r.group === group && r.versions.includes(version));
  if (rs.length === 0) return undefined;
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: apiVersionOf(group, version), resources: rs.flatMap(resourceEntries) };
}
