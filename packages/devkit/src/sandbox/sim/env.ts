// A container's environment as the kubelet builds it: envFrom, then env with value,
// fieldRef (metadata.name → POD_NAME, spec.nodeName → NODE_NAME, …), secretKeyRef, configMapKeyRef.
// A missing Secret/ConfigMap or key is CreateContainerConfigError, as on a real node.
import type { Obj } from '../store.ts';
import { ContainerConfigError } from './podfs.ts';
import type { PodContext } from './podfs.ts';

function fieldRef(pod: Obj, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (m) return pod.metadata[m[1]!]?.[m[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid;
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.podIP':
      return pod.status?.podIP ?? '';
    case 'status.hostIP':
      return pod.status?.hostIP ?? '';
    default:
      throw new ContainerConfigError(`unsupported fieldRef "${path}"`, { kind: 'fieldRef', name: path });
  }
}

function secretData(ctx: PodContext, ns: string, name: string, optional: boolean): Record<string, string> | undefined {
  const s = ctx.lookup('secrets', ns, name);
  if (!s) {
    if (optional) return undefined;
    throw new ContainerConfigError(`secret "${name}" not found`, { kind: 'secret', name });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((s.data ?? {}) as Record<string, string>)) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries((s.stringData ?? {}) as Record<string, string>)) out[k] = String(v);
  return out;
}

function configMapData(ctx: PodContext, ns: string, name: string, optional: boolean): Record<string, string> | undefined {
  const cm = ctx.lookup('configmaps', ns, name);
  if (!cm) {
    if (optional) return undefined;
    throw new ContainerConfigError(`configmap "${name}" not found`, { kind: 'configmap', name });
  }
  return cm.data ?? {};
}

export function containerEnv(ctx: PodContext, pod: Obj, container: Record<string, any>): Record<string, string> {
  const ns = pod.metadata.namespace;
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const data = from.secretRef
      ? secretData(ctx, ns, from.secretRef.name, Boolean(from.secretRef.optional))
      : from.configMapRef
        ? configMapData(ctx, ns, from.configMapRef.name, Boolean(from.configMapRef.optional))
        : undefined;
    for (const [k, v] of Object.entries(data ?? {})) env[`${from.prefix ?? ''}${k}`] = v;
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n: string) => env[n] ?? m);
    else if (e.valueFrom?.fieldRef) env[e.name] = fieldRef(pod, e.valueFrom.fieldRef.fieldPath);
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const data = secretData(ctx, ns, ref.name, Boolean(ref.optional));
      if (data && data[ref.key] === undefined && !ref.optional)
        throw new ContainerConfigError(`couldn't find key ${ref.key} in Secret ${ns}/${ref.name}`, { kind: 'secret', name: ref.name, key: ref.key });
      if (data?.[ref.key] !== undefined) env[e.name] = data[ref.key]!;
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const data = configMapData(ctx, ns, ref.name, Boolean(ref.optional));
      if (data && data[ref.key] === undefined && !ref.optional)
        throw new ContainerConfigError(`couldn't find key ${ref.key} in ConfigMap ${ns}/${ref.name}`, { kind: 'configmap', name: ref.name, key: ref.key });
      if (data?.[ref.key] !== undefined) env[e.name] = data[ref.key]!;
    } else env[e.name] = '';
  }
  return env;
}
