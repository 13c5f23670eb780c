// The OpenAPI v3 schemas of RestoreSession and Repository, and of what a Task restore reads (Function, Task, AppBinding). deploy/crds is generated from these
// (`npm run gen:crds`, checked by a test), and the manifest validator checks against them.
import type { Schema } from './openapi.ts';

const str = (extra: Partial<Schema> = {}): Schema => ({ type: 'string', ...extra });
const int = (extra: Partial<Schema> = {}): Schema => ({ type: 'integer', ...extra });
const bool = (extra: Partial<Schema> = {}): Schema => ({ type: 'boolean', ...extra });
const list = (items: Schema, extra: Partial<Schema> = {}): Schema => ({ type: 'array', items, ...extra });
const strings = (extra: Partial<Schema> = {}): Schema => list(str(), extra);
const obj = (properties: Record<string, Schema>, required?: string[], extra: Partial<Schema> = {}): Schema => ({
  type: 'object',
  properties,
  ...(required ? { required } : {}),
  ...extra,
});
const strMap = (): Schema => ({ type: 'object', additionalProperties: str() });
const intOrString = (): Schema => ({ 'x-kubernetes-int-or-string': true });
const quantityMap = (): Schema => ({ type: 'object', additionalProperties: intOrString() });
/** A Kubernetes core type carried as-is (probes, affinity, security contexts…). */
const opaque = (description: string): Schema => ({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });

const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
/** Go durations as Stash's timeOut takes them (time.ParseDuration): `30m`, `1h30m`, `90s`, `1.5h`, `.5h`, `0`. */
export const DURATION_PATTERN = '^[-+]?(0|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|μs|ms|s|m|h))+)$';

/** What the loader checks in every object's metadata (the API server does it for CRDs too). */
export const objectMetaSchema: Schema = obj(
  {
    name: str({ pattern: DNS1123_SUBDOMAIN, maxLength: 253, description: 'a DNS-1123 subdomain (lower-case letters, digits, "-" and ".")' }),
    generateName: str(),
    namespace: str({ pattern: DNS1123_LABEL, maxLength: 63, description: 'a DNS-1123 label (lower-case letters, digits and "-")' }),
    labels: strMap(),
    annotations: strMap(),
    uid: str(),
    selfLink: str(),
    resourceVersion: str(),
    generation: int(),
    creationTimestamp: { type: 'string', nullable: true },
    deletionTimestamp: { type: 'string', nullable: true },
    deletionGracePeriodSeconds: int(),
    finalizers: strings(),
    ownerReferences: list(opaque('an owner reference')),
    managedFields: list(opaque('a managed-fields entry')),
  },
  ['name'],
);

const volumeMount = obj(
  {
    name: str({ minLength: 1 }),
    mountPath: str({ minLength: 1 }),
    subPath: str(),
    subPathExpr: str(),
    readOnly: bool(),
    mountPropagation: str(),
    recursiveReadOnly: str(),
  },
  ['name', 'mountPath'],
);

const pvcTemplate = (what: string): Schema =>
  obj(
    {
      apiVersion: str(),
      kind: str(),
      metadata: obj(
        {
          name: str({ minLength: 1 }),
          generateName: str(),
          namespace: str(),
          labels: strMap(),
          annotations: strMap(),
          finalizers: strings(),
          ownerReferences: list(opaque('an owner reference')),
        },
        ['name'],
      ),
      spec: obj({
        accessModes: strings(),
        storageClassName: str(),
        volumeMode: str(),
        volumeName: str(),
        resources: obj({ requests: quantityMap(), limits: quantityMap() }),
        selector: opaque('a label selector'),
        dataSource: obj({ apiGroup: str(), kind: str({ minLength: 1 }), name: str({ minLength: 1 }) }, ['kind', 'name']),
        dataSourceRef: opaque('a typed object reference'),
        volumeAttributesClassName: str(),
      }),
    },
    ['metadata'],
    { description: what },
  );

export const ruleSchema: Schema = obj({
  targetHosts: strings({ description: 'Hosts this rule applies to; empty means every host without a specific rule.' }),
  sourceHost: str({ description: 'Host whose backup is restored; empty means the host itself.' }),
  snapshots: strings({ description: 'Snapshot ids to restore (or "latest"); excludes paths.' }),
  paths: strings({ description: 'Paths to restore from the latest snapshot of sourceHost; excludes snapshots.' }),
  include: strings({ description: 'restic --include patterns.' }),
  exclude: strings({ description: 'restic --exclude patterns.' }),
});

const port = intOrString();
/** HTTP or HTTPS, in any case: Stash's prober lower-cases the scheme before using it. */
const scheme = str({ pattern: '^[Hh][Tt][Tt][Pp][Ss]?$', description: 'HTTP or HTTPS' });
const httpHeaders = list(obj({ name: str(), value: str() }, ['name', 'value']));
const handlerProps: Record<string, Schema> = {
  exec: obj({ command: strings({ minItems: 1 }) }, ['command']),
  httpGet: obj({ host: str(), port, path: str(), scheme, httpHeaders }, ['port']),
  httpPost: obj(
    {
      host: str(),
      port,
      path: str(),
      scheme,
      httpHeaders,
      body: str(),
      form: list(obj({ key: str(), values: strings() }, ['key'])),
    },
    ['port'],
  ),
  tcpSocket: obj({ host: str(), port }, ['port']),
  containerName: str(),
};

/** Stash's Param: a value for a Task variable; Stash's CRD requires both fields. */
const param = obj({ name: str({ minLength: 1 }), value: str() }, ['name', 'value']);

const envVar = obj({ name: str({ minLength: 1 }), value: str(), valueFrom: opaque('an env var source') }, ['name']);

const containerSettings = obj({
  resources: obj({ requests: quantityMap(), limits: quantityMap(), claims: list(opaque('a resource claim')) }),
  livenessProbe: opaque('a probe'),
  readinessProbe: opaque('a probe'),
  lifecycle: opaque('a lifecycle'),
  securityContext: opaque('a security context'),
  nice: obj({ adjustment: int({ minimum: -20, maximum: 19 }) }),
  ionice: obj({ class: int({ minimum: 0, maximum: 3 }), classData: int({ minimum: 0, maximum: 7 }) }),
  env: list(envVar),
  envFrom: list(opaque('an env source')),
});

const podSettings = obj({
  serviceAccountName: str(),
  nodeSelector: strMap(),
  automountServiceAccountToken: bool(),
  nodeName: str(),
  securityContext: opaque('a pod security context'),
  imagePullSecrets: list(obj({ name: str() }, ['name'])),
  affinity: opaque('an affinity'),
  schedulerName: str(),
  tolerations: list(obj({ key: str(), operator: str({ enum: ['Exists', 'Equal'] }), value: str(), effect: str(), tolerationSeconds: int() })),
  priorityClassName: str(),
  priority: int(),
  readinessGates: list(obj({ conditionType: str() }, ['conditionType'])),
  runtimeClassName: str(),
  enableServiceLinks: bool(),
  podAnnotations: strMap(),
  podLabels: strMap(),
  serviceAccountAnnotations: strMap(),
  topologySpreadConstraints: list(opaque('a topology spread constraint')),
});

const condition = obj(
  {
    type: str(),
    status: str({ enum: ['True', 'False', 'Unknown'] }),
    reason: str(),
    message: str(),
    severity: str(),
    lastTransitionTime: str(),
    observedGeneration: int(),
  },
  ['type', 'status'],
);

/**
 * A RestoreSession's spec never changes after creation (SPEC Rules): the planner blocks a changed
 * spec without a rerun bump, and this rule makes the API server refuse the change from anyone
 * (kubectl, another tool). Metadata (annotations such as restore.gitops/rerun, finalizers) and
 * the status subresource stay writable.
 */
export const SPEC_IMMUTABLE_MESSAGE =
  'spec is immutable: a RestoreSession runs the spec it was created with; to restore again with another spec, delete the session and create it anew (with restorectl run: change the spec in git and bump the restore.gitops/rerun annotation)';

export const restoreSessionSpecSchema: Schema = obj(
  {
    driver: str({ enum: ['Restic', 'VolumeSnapshotter', ''], default: 'Restic' }),
    repository: obj({ name: str({ minLength: 1 }), namespace: str() }, ['name']),
    task: obj({ name: str(), params: list(param) }),
    target: obj({
      alias: str(),
      ref: obj(
        {
          apiVersion: str({ description: 'Defaults by kind when empty (apps/v1 for Deployment, StatefulSet, DaemonSet; v1 for PersistentVolumeClaim…).' }),
          kind: str({ minLength: 1 }),
          name: str({ minLength: 1 }),
          namespace: str(),
        },
        ['kind', 'name'],
      ),
      volumeMounts: list(volumeMount),
      replicas: int({ minimum: 0 }),
      volumeClaimTemplates: list(pvcTemplate('A PVC template; ${POD_ORDINAL} in the name is replaced per replica.')),
      rules: list(ruleSchema),
      args: strings(),
    }),
    rules: list(ruleSchema, { description: 'Deprecated: use target.rules.' }),
    hooks: obj({
      preRestore: obj(handlerProps),
      postRestore: obj({ ...handlerProps, executionPolicy: str({ enum: ['Always', 'OnSuccess', 'OnFailure'], default: 'Always' }) }),
    }),
    runtimeSettings: obj({ container: containerSettings, pod: podSettings }),
    tempDir: obj({ medium: str(), sizeLimit: intOrString(), disableCaching: bool({ default: false }) }),
    interimVolumeTemplate: pvcTemplate('A PVC created for the restore Job, owned by the session.'),
    timeOut: str({ pattern: DURATION_PATTERN, description: 'a duration such as "30m" or "1h30m"' }),
  },
  undefined,
  { 'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: SPEC_IMMUTABLE_MESSAGE }] },
);

export const restoreSessionStatusSchema: Schema = obj({
  phase: str({ enum: ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown', 'Invalid'] }),
  totalHosts: int({ minimum: 0 }),
  sessionDuration: str(),
  sessionDeadline: str(),
  conditions: list(condition),
  stats: list(
    obj(
      {
        hostname: str(),
        phase: str({ enum: ['Running', 'Succeeded', 'Failed', 'Unknown'] }),
        duration: str(),
        error: str(),
        snapshot: str(),
        snapshotTime: str(),
        latestMoved: str(),
        progress: obj({ bytesDone: int(), bytesTotal: int(), filesDone: int(), filesTotal: int() }),
      },
      ['hostname'],
    ),
  ),
});

const local = obj({ mountPath: str({ minLength: 1 }), subPath: str() }, ['mountPath'], {
  'x-kubernetes-preserve-unknown-fields': true,
  description: 'mountPath, subPath and one Kubernetes volume source.',
});
const maxConnections = int({ minimum: 0 });

export const repositorySpecSchema: Schema = obj(
  {
    backend: obj({
      storageSecretName: str(),
      local,
      s3: obj({ endpoint: str({ minLength: 1 }), bucket: str({ minLength: 1 }), prefix: str(), region: str(), insecureTLS: bool() }, ['bucket', 'endpoint']),
      gcs: obj({ bucket: str({ minLength: 1 }), prefix: str(), maxConnections }, ['bucket']),
      azure: obj({ container: str({ minLength: 1 }), prefix: str(), maxConnections }, ['container']),
      swift: obj({ container: str({ minLength: 1 }), prefix: str() }, ['container']),
      b2: obj({ bucket: str({ minLength: 1 }), prefix: str(), maxConnections }, ['bucket']),
      rest: obj({ url: str({ minLength: 1 }) }, ['url']),
    }),
    wipeOut: bool(),
    usagePolicy: obj({
      allowedNamespaces: obj({
        from: str({ enum: ['Same', 'All', 'Selector'], default: 'Same' }),
        selector: obj({
          matchLabels: strMap(),
          matchExpressions: list(
            obj({ key: str(), operator: str({ enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }), values: strings() }, ['key', 'operator']),
          ),
        }),
      }),
    }),
  },
  ['backend'],
);

export const repositoryStatusSchema: Schema = {
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
};

/** The whole object as the CRD declares it (metadata is checked by `objectMetaSchema`). */
export function topLevelSchema(spec: Schema, status: Schema, specRequired: boolean): Schema {
  return obj({ apiVersion: str(), kind: str(), metadata: { type: 'object' }, spec, status }, specRequired ? ['spec'] : undefined);
}

// Function and Task (stash.appscode.com/v1beta1), as stashed/apimachinery crds/stash.appscode.com_{functions,tasks}.yaml
// declare them; Kubernetes core types (ports, volumes) are carried as they are.
export const functionSpecSchema: Schema = obj({
  image: str(),
  command: strings(),
  args: strings(),
  workingDir: str(),
  ports: list(opaque('a container port')),
  volumeMounts: list(volumeMount),
  volumeDevices: list(obj({ name: str(), devicePath: str() }, ['name', 'devicePath'])),
  runtimeSettings: containerSettings,
  podSecurityPolicyName: str(),
});

export const taskSpecSchema: Schema = obj({
  steps: list(obj({ name: str({ description: 'The Function this step runs.' }), params: list(param) })),
  volumes: list(
    obj({ name: str({ minLength: 1 }) }, ['name'], { 'x-kubernetes-preserve-unknown-fields': true, description: 'a pod volume: name and one volume source' }),
  ),
});

const typedLocalRef = obj({ apiGroup: str({ default: '' }), kind: str({ default: 'Secret' }), name: str() }, ['name']);

// AppBinding (appcatalog.appscode.com/v1alpha1), as kmodules/custom-resources crds/appcatalog.appscode.com_appbindings.yaml declares it.
export const appBindingSpecSchema: Schema = obj(
  {
    type: str(),
    appRef: obj({ apiGroup: str(), kind: str(), name: str(), namespace: str() }, ['name']),
    version: str(),
    clientConfig: obj({
      url: str({ description: '[scheme://]host:port/path; exactly one of url and service' }),
      service: obj({ scheme: str(), name: str(), namespace: str(), port: int(), path: str(), query: str() }, ['name', 'port', 'scheme']),
      insecureSkipTLSVerify: bool(),
      caBundle: str({ format: 'byte' }),
      serverName: str(),
    }),
    secret: typedLocalRef,
    secretTransforms: list(
      obj({
        renameKey: obj({ from: str(), to: str() }, ['from', 'to']),
        addKey: obj({ key: str(), value: str({ format: 'byte' }), stringValue: str() }, ['key']),
        addKeysFrom: obj({ secretRef: obj({ name: str({ default: '' }) }) }),
        removeKey: obj({ key: str() }, ['key']),
      }),
    ),
    parameters: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, 'x-kubernetes-embedded-resource': true },
    tlsSecret: typedLocalRef,
  },
  ['clientConfig'],
);

/** A kind without a status: apiVersion, kind, metadata and spec. */
function specOnlySchema(spec: Schema, specRequired: boolean): Schema {
  return obj({ apiVersion: str(), kind: str(), metadata: { type: 'object' }, spec }, specRequired ? ['spec'] : undefined);
}

export const functionSchema = specOnlySchema(functionSpecSchema, false);
export const taskSchema = specOnlySchema(taskSpecSchema, false);
export const appBindingSchema = specOnlySchema(appBindingSpecSchema, false);

export const restoreSessionSchema = topLevelSchema(restoreSessionSpecSchema, restoreSessionStatusSchema, true);
export const repositorySchema = topLevelSchema(repositorySpecSchema, repositoryStatusSchema, true);
