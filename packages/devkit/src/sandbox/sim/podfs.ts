// A running container's view of the file system: a root folder in which every volumeMount path
// is a symlink to the volume's folder — a PVC's DIR/volumes/<ns>/<claim>/, an emptyDir made for the
// pod, a hostPath's own path, or a Secret/ConfigMap written out as files.
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RestoreError } from 'restore-controller/common/errors';
import type { Obj } from '../store.ts';

/**
 * What building a container's environment and root needs, on either engine: the embedded
 * simulator's SimContext reads its store; the kube-apiserver engine's kubelet looks up what it
 * fetched over HTTP for the pod (with the node's credentials) just before.
 */
export interface PodContext {
  dirs: { pods: string; volumes: string };
  /** A Secret, ConfigMap or PersistentVolumeClaim of the pod's namespace, or undefined. */
  lookup(resource: 'secrets' | 'configmaps' | 'persistentvolumeclaims', ns: string, name: string): Obj | undefined;
  /** A bound claim's folder (default DIR/volumes/<namespace>/<claim>/). */
  claimDir?(pvc: Obj): string;
  /** A projected serviceAccountToken source's token (undefined: the source is skipped). */
  serviceAccountToken?(pod: Obj, source: Record<string, any>): string | undefined;
}

/** What a container's config refers to that is missing or not ready. */
export interface ContainerConfigData {
  kind: 'persistentvolumeclaim' | 'secret' | 'configmap' | 'volume' | 'fieldRef';
  name: string;
  key?: string;
}

/** A container that cannot start yet: the kubelet's `CreateContainerConfigError` (retried). */
export class ContainerConfigError extends RestoreError<'CreateContainerConfigError', ContainerConfigData> {
  constructor(message: string, data: ContainerConfigData) {
    super('CreateContainerConfigError', message, data);
  }
}

export function podDir(ctx: PodContext, pod: Obj): string {
  return join(ctx.dirs.pods, pod.metadata.namespace, pod.metadata.name);
}

function writeItems(dir: string, data: Record<string, string>, items: Array<{ key: string; path: string }> | undefined, decode: boolean): void {
  mkdirSync(dir, { recursive: true });
  const pick = items ?? Object.keys(data).map((key) => ({ key, path: key }));
  for (const { key, path } of pick) {
    if (data[key] === undefined) continue;
    const file = join(dir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, decode ? Buffer.from(data[key]!, 'base64') : data[key]!);
  }
}

/** A downward API file: labels/annotations as sorted `key="value"` lines, other fields as text. */
function downwardValue(pod: Obj, path: string): string {
  if (path === 'metadata.labels' || path === 'metadata.annotations') {
    const map: Record<string, string> = pod.metadata[path.slice('metadata.'.length)] ?? {};
    return Object.keys(map)
      .sort()
      .map((k) => `${k}=${JSON.stringify(map[k])}`)
      .join('\n');
  }
  let cur: any = pod;
  for (const seg of path.split('.')) cur = cur?.[seg];
  return cur === undefined ? '' : String(cur);
}

/** The folder that backs a pod volume (made on demand). */
export function volumeSource(ctx: PodContext, pod: Obj, volume: Record<string, any>): string {
  const ns = pod.metadata.namespace;
  const own = join(podDir(ctx, pod), 'volumes', volume.name);
  if (volume.persistentVolumeClaim) {
    const claim = volume.persistentVolumeClaim.claimName;
    const pvc = ctx.lookup('persistentvolumeclaims', ns, claim);
    if (pvc?.status?.phase !== 'Bound')
      throw new ContainerConfigError(`persistentvolumeclaim "${claim}" is not bound`, { kind: 'persistentvolumeclaim', name: claim });
    return ctx.claimDir ? ctx.claimDir(pvc) : join(ctx.dirs.volumes, ns, claim);
  }
  if (volume.hostPath) {
    mkdirSync(volume.hostPath.path, { recursive: true });
    return volume.hostPath.path;
  }
  if (volume.secret) {
    const s = ctx.lookup('secrets', ns, volume.secret.secretName);
    if (!s && !volume.secret.optional)
      throw new ContainerConfigError(`secret "${volume.secret.secretName}" not found`, { kind: 'secret', name: volume.secret.secretName });
    rmSync(own, { recursive: true, force: true });
    writeItems(
      own,
      { ...(s?.data ?? {}), ...Object.fromEntries(Object.entries(s?.stringData ?? {}).map(([k, v]) => [k, Buffer.from(String(v)).toString('base64')])) },
      volume.secret.items,
      true,
    );
    return own;
  }
  if (volume.configMap) {
    const cm = ctx.lookup('configmaps', ns, volume.configMap.name);
    if (!cm && !volume.configMap.optional)
      throw new ContainerConfigError(`configmap "${volume.configMap.name}" not found`, { kind: 'configmap', name: volume.configMap.name });
    rmSync(own, { recursive: true, force: true });
    writeItems(own, cm?.data ?? {}, volume.configMap.items, false);
    return own;
  }
  if (volume.downwardAPI || volume.projected) {
    rmSync(own, { recursive: true, force: true });
    mkdirSync(own, { recursive: true });
    const sources: Array<Record<string, any>> = volume.projected ? (volume.projected.sources ?? []) : [{ downwardAPI: volume.downwardAPI }];
    for (const src of sources) {
      if (src.downwardAPI) {
        for (const item of src.downwardAPI.items ?? []) {
          if (!item.fieldRef) continue;
          const file = join(own, item.path);
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, downwardValue(pod, item.fieldRef.fieldPath));
        }
      } else if (src.secret || src.configMap) {
        const sub = volumeSource(ctx, pod, {
          name: `${volume.name}-${src.secret ? 'secret' : 'configmap'}-${src.secret?.name ?? src.configMap?.name}`,
          ...(src.secret ? { secret: { secretName: src.secret.name, items: src.secret.items, optional: src.secret.optional } } : { configMap: src.configMap }),
        });
        cpSync(sub, own, { recursive: true });
      } else if (src.serviceAccountToken && ctx.serviceAccountToken) {
        const token = ctx.serviceAccountToken(pod, src.serviceAccountToken);
        if (token !== undefined) {
          const file = join(own, src.serviceAccountToken.path ?? 'token');
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, token, { mode: 0o600 });
        }
      }
    }
    return own;
  }
  if (volume.nfs) {
    // Pods sharing an NFS export share a folder: DIR/nfs/<server>/<path>.
    const dir = join(ctx.dirs.volumes, '..', 'nfs', volume.nfs.server ?? 'server', volume.nfs.path ?? '');
    mkdirSync(dir, { recursive: true });
    return dir;
  }
  // emptyDir and anything else: a folder that lives as long as the pod.
  mkdirSync(own, { recursive: true });
  return own;
}

/** Builds the container's root folder and returns its path. */
export function prepareRoot(ctx: PodContext, pod: Obj, container: Record<string, any>): string {
  const root = join(podDir(ctx, pod), 'containers', container.name, 'root');
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const volumes: Array<Record<string, any>> = pod.spec?.volumes ?? [];
  for (const m of container.volumeMounts ?? []) {
    const v = volumes.find((x) => x.name === m.name);
    if (!v) throw new ContainerConfigError(`volume "${m.name}" not found`, { kind: 'volume', name: m.name });
    let target = volumeSource(ctx, pod, v);
    if (m.subPath) {
      target = join(target, m.subPath);
      mkdirSync(target, { recursive: true });
    }
    const link = join(root, m.mountPath);
    mkdirSync(dirname(link), { recursive: true });
    rmSync(link, { recursive: true, force: true });
    symlinkSync(target, link, 'dir');
  }
  return root;
}
