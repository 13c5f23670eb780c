// The desired set: the RestoreSessions and Repositories a git revision declares, checked against
// the CRD schemas, with everything else reported and left out.
import type { KubeObject } from '../api/meta.ts';
import { objectKey } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { crdKind, MANAGED_KINDS, managedKind, manifestSchema } from '../api/crds.ts';
import { applyDefaults, validateSchema } from '../api/openapi.ts';
import type { Diagnostic } from './diagnostic.ts';
import type { SourceFile } from './files.ts';
import { diagnosticAt, loadObjects, whereIs } from './load.ts';
import type { LoadedObjects, Manifest } from './load.ts';

export interface DesiredSet {
  sessions: Manifest<RestoreSession>[];
  repositories: Manifest<Repository>[];
  /** `kind/namespace/name` of objects that were declared but refused (so references to them are not reported twice). */
  refused: Set<string>;
  diagnostics: Diagnostic[];
  /**
   * The error diagnostics of each object that the semantic checks found (rules, references, policy),
   * by `kind/namespace/name`: such an object stays in the set (so it is planned as `blocked` with
   * its reason, and never pruned) but is never applied. Set by `validateSource`.
   */
  errors?: Map<string, Diagnostic[]>;
}

export interface LoadOptions {
  /** Namespace for objects that name none (like `kubectl apply` without `-n`). */
  defaultNamespace?: string;
}

const SECRET_MESSAGE =
  'a Secret does not belong in git: its values would be readable by everyone with access to the repository and its history. ' +
  "Create it in the cluster (or through Sealed Secrets, SOPS or External Secrets) and name it in the Repository's spec.backend.storageSecretName";

export function loadDesired(files: SourceFile[], opts: LoadOptions = {}): DesiredSet {
  return desiredFromObjects(loadObjects(files), opts);
}

/** The desired set of objects already parsed (loadObjects, or loadObjectsYielding in the daemon). */
export function desiredFromObjects(loaded: LoadedObjects, opts: LoadOptions = {}): DesiredSet {
  const defaultNamespace = opts.defaultNamespace ?? 'default';
  const diagnostics = [...loaded.diagnostics];
  const sessions: Manifest<RestoreSession>[] = [];
  const repositories: Manifest<Repository>[] = [];
  const refused = new Set<string>();
  const seen = new Map<string, Manifest>();
  const duplicated = new Set<string>();

  for (const m of loaded.manifests) {
    const o = m.object;
    if (o.kind === 'Secret') {
      diagnostics.push(diagnosticAt(m, ['kind'], 'error', `Secret ${o.metadata.name} refused: ${SECRET_MESSAGE}`));
      continue;
    }
    const kind = managedKind(o.apiVersion, o.kind);
    if (!kind) {
      const sameKind = MANAGED_KINDS.find((k) => k.kind === o.kind);
      if (sameKind) {
        diagnostics.push(diagnosticAt(m, ['apiVersion'], 'error', `${o.kind} must have apiVersion ${sameKind.group}/${sameKind.version}, not ${o.apiVersion}`));
      } else if (crdKind(o.apiVersion, o.kind)) {
        // Function, Task, AppBinding: read by task restores, never applied from git.
        diagnostics.push(
          diagnosticAt(
            m,
            ['kind'],
            'warning',
            `${o.kind} ${o.metadata.name} skipped: restore-controller applies only RestoreSession and Repository objects; a ${o.kind} is read from the cluster (install it there, e.g. with Stash's catalog or KubeDB, and list it in --cluster-state to plan against it)`,
          ),
        );
      } else {
        diagnostics.push(
          diagnosticAt(m, ['kind'], 'warning', `${o.kind} ${o.metadata.name} skipped: restore-controller applies only RestoreSession and Repository objects`),
        );
      }
      continue;
    }
    const namespaced: KubeObject = { ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace || defaultNamespace } };
    const managed: Manifest = { ...m, object: namespaced };
    const key = objectKey(namespaced);

    const first = seen.get(key);
    if (first) {
      diagnostics.push(
        diagnosticAt(
          managed,
          ['metadata', 'name'],
          'error',
          `${o.kind} ${namespaced.metadata.namespace}/${o.metadata.name} is declared twice: here and in ${whereIs(first)}; neither is applied until one is removed`,
        ),
      );
      duplicated.add(key);
      continue;
    }
    seen.set(key, managed);

    const violations = validateSchema(manifestSchema(kind), o);
    for (const v of violations) {
      diagnostics.push(diagnosticAt(managed, v.path, 'error', v.message, v.kind === 'unknown' ? 'key' : 'value'));
    }
    if (o['status'] !== undefined) {
      diagnostics.push(diagnosticAt(managed, ['status'], 'warning', 'status is written by the controller; the status in git is ignored', 'key'));
    }
    if (violations.length > 0) {
      refused.add(key);
      continue;
    }
    const { status: _status, ...withoutStatus } = namespaced;
    const object = applyDefaults(kind.schema, withoutStatus) as KubeObject;
    if (o.kind === 'RestoreSession') sessions.push({ ...managed, object: object as RestoreSession });
    else repositories.push({ ...managed, object: object as Repository });
  }
  // An object declared twice is ambiguous: apply neither copy.
  for (const key of duplicated) refused.add(key);
  const unique = <T extends KubeObject>(ms: Manifest<T>[]) => ms.filter((m) => !duplicated.has(objectKey(m.object)));
  return { sessions: unique(sessions), repositories: unique(repositories), refused, diagnostics };
}
