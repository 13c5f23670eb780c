// The variables Stash gives a restore Task (stashed/stash pkg/resolver/inputs.go setVariables,
// the names of stashed/apimachinery apis/constants.go): the Repository's backend, the target, the
// host and what it restores, the interim data directory, the session and its invoker, the image,
// and last (overriding all) the session's `task.params`. No Secret value is among them: a Function
// reads the storage Secret itself by REPOSITORY_SECRET_NAME/NAMESPACE.
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import type { HostPlan } from '../hosts/types.ts';
import type { Variables } from './substitute.ts';

/** Where Stash mounts a stand-alone PVC without volumeMounts (apis.StashDefaultMountPath). */
export const STASH_DATA_DIR = '/stash-data';
/** The scratch emptyDir every step mounts (apis.TmpDirVolumeName, TmpDirMountPath). */
export const TMP_VOLUME = 'stash-tmp-dir';
export const TMP_DIR = '/stash-tmp';
/** The interim PVC's volume, mount and data directory (apis.StashInterimVolume…). */
export const INTERIM_VOLUME = 'stash-interim-volume';
export const INTERIM_MOUNT_PATH = '/stash-interim-volume';
export const INTERIM_DATA_DIR = '/stash-interim-volume/data';

export interface VariableInput {
  session: RestoreSession;
  repository: Repository;
  /** The host the Job restores, as src/hosts plans it (Task restores have one). */
  host: HostPlan;
  /** The image Stash's own steps use (update-status, hooks): STASH_DOCKER_REGISTRY/IMAGE/TAG. */
  image?: { registry: string; image: string; tag: string };
  licenseApiService?: string;
  pushgatewayUrl?: string;
  /** The params of the restore task a KubeDB AppBinding names (spec.parameters.stash.addon.restoreTask); the session's own win. */
  addonParams?: readonly { name: string; value: string }[];
}

/** Provider, bucket and prefix of a backend, as kmodules objectstore-api Backend's helpers give them. */
function backendVariables(repo: Repository): Record<string, string> {
  const b = repo.spec.backend;
  const v: Record<string, string> = { REPOSITORY_INSECURE_TLS: 'false' };
  const set = (provider: string, bucket: string, prefix = '') =>
    Object.assign(v, { REPOSITORY_PROVIDER: provider, REPOSITORY_BUCKET: bucket, REPOSITORY_PREFIX: prefix });
  if (b.local) set('local', b.local.mountPath);
  else if (b.s3) set('s3', b.s3.bucket, b.s3.prefix);
  else if (b.gcs) set('gcs', b.gcs.bucket, b.gcs.prefix);
  else if (b.azure) set('azure', b.azure.container, b.azure.prefix);
  else if (b.swift) set('swift', b.swift.container, b.swift.prefix);
  else if (b.b2) set('b2', b.b2.bucket, b.b2.prefix);
  else if (b.rest) {
    const u = URL.canParse(b.rest.url) ? new URL(b.rest.url) : undefined;
    set('rest', u?.host ?? '', u?.pathname ?? '');
  }
  if (b.storageSecretName) Object.assign(v, { REPOSITORY_SECRET_NAME: b.storageSecretName, REPOSITORY_SECRET_NAMESPACE: repo.metadata.namespace ?? '' });
  if (b.s3)
    Object.assign(v, {
      REPOSITORY_INSECURE_TLS: String(Boolean(b.s3.insecureTLS)),
      REPOSITORY_ENDPOINT: b.s3.endpoint ?? '',
      REPOSITORY_REGION: b.s3.region ?? '',
    });
  if (b.rest) v['REPOSITORY_ENDPOINT'] = b.rest.url;
  v['MAX_CONNECTIONS'] = String(b.gcs?.maxConnections ?? b.azure?.maxConnections ?? b.b2?.maxConnections ?? 0);
  return v;
}

/**
 * Stash's variables for one host of a Task restore. Two deliberate differences: TARGET_NAMESPACE
 * defaults to the session's namespace (Stash's addons fall back to it too), and HOSTNAME is the
 * host src/hosts names (`alias` or `host-0`) where Stash passes the bare alias and lets the addon
 * default an empty one to `host-0`.
 */
export function stashVariables(input: VariableInput): Variables {
  const { session, repository, host } = input;
  const spec = session.spec;
  const target = spec.target;
  const ref = target?.ref;
  const v: Record<string, string> = {
    REPOSITORY_NAME: repository.metadata.name,
    REPOSITORY_NAMESPACE: repository.metadata.namespace ?? '',
    ...backendVariables(repository),
  };
  if (target) {
    if (target.args?.length) v['DRIVER_ARGS'] = target.args.join(' ');
    if (ref?.kind) v['TARGET_KIND'] = ref.kind;
    if (ref?.name) v['TARGET_NAME'] = ref.name;
    if (ref) v['TARGET_NAMESPACE'] = ref.namespace || session.metadata.namespace || 'default';
    v['TARGET_MOUNT_PATH'] = target.volumeMounts?.[0]?.mountPath ?? STASH_DATA_DIR;
    if (target.volumeClaimTemplates?.length && !ref?.name) v['TARGET_NAME'] = target.volumeClaimTemplates[0]!.metadata.name;
  }
  const matched = host.rule !== undefined;
  Object.assign(v, {
    HOSTNAME: host.host,
    SOURCE_HOSTNAME: matched ? host.sourceHost : '',
    RESTORE_PATHS: (host.paths ?? []).join(','),
    RESTORE_SNAPSHOTS: (host.snapshots ?? []).join(','),
    INCLUDE_PATTERNS: (host.include ?? []).join(','),
    EXCLUDE_PATTERNS: (host.exclude ?? []).join(','),
    ENABLE_CACHE: String(!spec.tempDir?.disableCaching),
    TARGET_APP_REPLICAS: String(target?.replicas ?? 1),
    INTERIM_DATA_DIR: spec.interimVolumeTemplate ? INTERIM_DATA_DIR : `${TMP_DIR}/stash-interim-volume/data`,
    NAMESPACE: session.metadata.namespace ?? 'default',
    RESTORE_SESSION: session.metadata.name,
    INVOKER_KIND: session.kind,
    INVOKER_NAME: session.metadata.name,
    LICENSE_APISERVICE: input.licenseApiService ?? '',
    PROMETHEUS_PUSHGATEWAY_URL: input.pushgatewayUrl ?? '',
    PROMETHEUS_JOB_NAME: session.metadata.name,
  });
  if (input.image) Object.assign(v, { STASH_DOCKER_REGISTRY: input.image.registry, STASH_DOCKER_IMAGE: input.image.image, STASH_IMAGE_TAG: input.image.tag });
  for (const p of [...(input.addonParams ?? []), ...(spec.task?.params ?? [])]) v[p.name] = p.value;
  return v;
}
