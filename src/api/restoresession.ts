// The Stash RestoreSession API (stash.appscode.com/v1beta1), field for field as Stash defines it,
// plus the status additions marked as Decisions in SPEC-restoresession.md.
import type { Condition, KubeObject, ObjectMeta } from './meta.ts';

export const STASH_GROUP = 'stash.appscode.com';
export const RESTORE_SESSION_VERSION = 'v1beta1';
export const RESTORE_SESSION_API_VERSION = `${STASH_GROUP}/${RESTORE_SESSION_VERSION}`;
export const RESTORE_SESSION_KIND = 'RestoreSession';

export type Driver = 'Restic' | 'VolumeSnapshotter';

export interface RepositoryRef {
  name: string;
  /** Defaults to the session's namespace. */
  namespace?: string;
}

export interface TaskRef {
  name?: string;
  params?: { name: string; value: string }[];
}

export interface TargetRef {
  /** Defaulted by kind when empty (`targetApiVersion`). */
  apiVersion?: string;
  kind: string;
  name: string;
  namespace?: string;
}

export interface VolumeMount {
  name: string;
  mountPath: string;
  subPath?: string;
  readOnly?: boolean;
  [field: string]: unknown;
}

/** A PersistentVolumeClaim template; `metadata.name` may contain `${POD_ORDINAL}`. */
export interface PvcTemplate {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    ownerReferences?: Record<string, unknown>[];
  };
  spec: {
    accessModes?: string[];
    storageClassName?: string;
    resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
    dataSource?: { apiGroup?: string; kind: string; name: string };
    volumeMode?: string;
    [field: string]: unknown;
  };
}

export interface Rule {
  /** Hosts this rule applies to; empty or absent means every host without a specific rule. */
  targetHosts?: string[];
  /** Host whose backup is restored; empty means the host itself. */
  sourceHost?: string;
  snapshots?: string[];
  paths?: string[];
  include?: string[];
  exclude?: string[];
}

export interface RestoreTarget {
  alias?: string;
  ref?: TargetRef;
  volumeMounts?: VolumeMount[];
  replicas?: number;
  volumeClaimTemplates?: PvcTemplate[];
  rules?: Rule[];
  /** Extra arguments appended to `restic restore`. */
  args?: string[];
}

export interface HttpHeader {
  name: string;
  value: string;
}

export interface HookHandler {
  exec?: { command: string[] };
  httpGet?: { host?: string; port: number | string; path?: string; scheme?: string; httpHeaders?: HttpHeader[] };
  httpPost?: {
    host?: string;
    port: number | string;
    path?: string;
    scheme?: string;
    httpHeaders?: HttpHeader[];
    body?: string;
    form?: { key: string; values?: string[] }[];
  };
  tcpSocket?: { host?: string; port: number | string };
  containerName?: string;
}

export type HookExecutionPolicy = 'Always' | 'OnSuccess' | 'OnFailure';

export interface PostRestoreHook extends HookHandler {
  executionPolicy?: HookExecutionPolicy;
}

export interface RestoreHooks {
  preRestore?: HookHandler;
  postRestore?: PostRestoreHook;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: Record<string, unknown>;
}

export interface ContainerRuntimeSettings {
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  livenessProbe?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
  lifecycle?: Record<string, unknown>;
  securityContext?: Record<string, unknown>;
  nice?: { adjustment?: number };
  ionice?: { class?: number; classData?: number };
  env?: EnvVar[];
  envFrom?: Record<string, unknown>[];
}

export interface PodRuntimeSettings {
  serviceAccountName?: string;
  nodeSelector?: Record<string, string>;
  automountServiceAccountToken?: boolean;
  nodeName?: string;
  securityContext?: Record<string, unknown>;
  imagePullSecrets?: { name: string }[];
  affinity?: Record<string, unknown>;
  schedulerName?: string;
  tolerations?: Record<string, unknown>[];
  priorityClassName?: string;
  priority?: number;
  readinessGates?: { conditionType: string }[];
  runtimeClassName?: string;
  enableServiceLinks?: boolean;
  /** Annotations and labels of the restore Job's pod (Stash sets them on the Job's pod template). */
  podAnnotations?: Record<string, string>;
  podLabels?: Record<string, string>;
  /** Annotations of the ServiceAccount made for the restore Job. */
  serviceAccountAnnotations?: Record<string, string>;
  topologySpreadConstraints?: Record<string, unknown>[];
}

export interface RuntimeSettings {
  container?: ContainerRuntimeSettings;
  pod?: PodRuntimeSettings;
}

export interface TempDirSettings {
  medium?: string;
  sizeLimit?: string | number;
  disableCaching?: boolean;
}

export interface RestoreSessionSpec {
  driver?: Driver;
  repository?: RepositoryRef;
  task?: TaskRef;
  target?: RestoreTarget;
  /** Deprecated place for target rules; when set, it replaces `target.rules` (as Stash's webhook does). */
  rules?: Rule[];
  hooks?: RestoreHooks;
  runtimeSettings?: RuntimeSettings;
  tempDir?: TempDirSettings;
  interimVolumeTemplate?: PvcTemplate;
  /** A duration such as `30m` or `1h30m`; unset means no deadline. */
  timeOut?: string;
}

export type RestorePhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown' | 'Invalid';
export type HostRestorePhase = 'Succeeded' | 'Failed' | 'Unknown';

export interface HostProgress {
  bytesDone?: number;
  bytesTotal?: number;
  filesDone?: number;
  filesTotal?: number;
}

export interface HostRestoreStats {
  hostname: string;
  phase?: HostRestorePhase | 'Running';
  duration?: string;
  error?: string;
  progress?: HostProgress;
  /** The snapshot id actually restored (`latest` resolved); ids joined by `,` when the host restores several. */
  snapshot?: string;
  /** The time of that snapshot (RFC 3339 UTC): the point the data is restored to; joined by `,` like `snapshot`. */
  snapshotTime?: string;
  /** Set when `latest` was pinned at accept time and a newer snapshot appeared before the restore ran: what it is. */
  latestMoved?: string;
}

export interface RestoreSessionStatus {
  phase?: RestorePhase;
  totalHosts?: number;
  sessionDuration?: string;
  sessionDeadline?: string;
  conditions?: Condition[];
  stats?: HostRestoreStats[];
}

export interface RestoreSession extends KubeObject {
  apiVersion: typeof RESTORE_SESSION_API_VERSION;
  kind: typeof RESTORE_SESSION_KIND;
  metadata: ObjectMeta;
  spec: RestoreSessionSpec;
  status?: RestoreSessionStatus;
}

export const FINAL_PHASES: readonly RestorePhase[] = ['Succeeded', 'Failed', 'Unknown', 'Invalid'];

export function isFinalPhase(phase: RestorePhase | undefined): boolean {
  return phase !== undefined && FINAL_PHASES.includes(phase);
}

/**
 * The rules that apply: the deprecated `spec.rules` when set (Stash's mutating webhook moves them
 * into `target.rules`, replacing what was there), else `target.rules`.
 */
export function effectiveRules(spec: RestoreSessionSpec): { rules: Rule[]; field: 'spec.target.rules' | 'spec.rules' } {
  if (spec.rules?.length) return { rules: spec.rules, field: 'spec.rules' };
  return { rules: spec.target?.rules ?? [], field: 'spec.target.rules' };
}

/** The Repository a session uses, with its namespace defaulted to the session's. */
export function repositoryOf(session: RestoreSession): { name: string; namespace: string } | undefined {
  const ref = session.spec.repository;
  if (!ref?.name) return undefined;
  return { name: ref.name, namespace: ref.namespace || session.metadata.namespace || 'default' };
}
