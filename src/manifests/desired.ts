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

/**
 * What one object contributes to the desired set by itself (its kind, schema and defaults), before
 * the checks across objects (an object declared twice).
 */
type Admission =
  | { diagnostics: Diagnostic[]; managed?: undefined }
  | {
      /** The object with its namespace defaulted, as diagnostics point at it. */
      managed: Manifest;
      key: string;
      diagnostics: Diagnostic[];
      /** The typed object with the schema's defaults; absent when its schema errors refuse it. */
      admitted?: Manifest<RestoreSession> | Manifest<Repository>;
    };

/**
 * Each object's admission, kept while its manifest is the same object (an unchanged file's,
 * from the FileCache), for one default namespace. A run keeps only the objects it was given.
 */
export class AdmissionCache {
  private entries = new Map<Manifest, Admission>();
  private used = new Map<Manifest, Admission>();
  private namespace: string | undefined;

  admission(m: Manifest, defaultNamespace: string): Admission {
    if (this.namespace !== defaultNamespace) {
      this.entries.clear();
      this.used.clear();
      this.namespace = defaultNamespace;
    }
    let a = this.entries.get(m) ?? this.used.get(m);
    if (!a) a = admit(m, defaultNamespace);
    this.used.set(m, a);
    return a;
  }

  endRun(): void {
    this.entries = this.used;
    this.used = new Map();
  }

  get size(): number {
    return this.entries.size;
  }
}

function admit(m: Manifest, defaultNamespace: string): Admission {
  const o = m.object;
  if (o.kind === 'Secret') return { diagnostics: [diagnosticAt(m, ['kind'], 'error', `Secret ${o.metadata.name} refused: ${SECRET_MESSAGE}`)] };
  const kind = managedKind(o.apiVersion, o.kind);
  if (!kind) {
    const sameKind = MANAGED_KINDS.find((k) => k.kind === o.kind);
    if (sameKind)
      return {
        diagnostics: [diagnosticAt(m, ['apiVersion'], 'error', `${o.kind} must have apiVersion ${sameKind.group}/${sameKind.version}, not ${o.apiVersion}`)],
      };
    if (crdKind(o.apiVersion, o.kind)) {
      // Function, Task, AppBinding: read by task restores, never applied from git.
      return {
        diagnostics: [
          diagnosticAt(
            m,
            ['kind'],
            'warning',
            `${o.kind} ${o.metadata.name} skipped: restore-controller applies only RestoreSession and Repository objects; a ${o.kind} is read from the cluster (install it there, e.g. with Stash's catalog or KubeDB, and list it in --cluster-state to plan against it)`,
          ),
        ],
      };
    }
    return {
      diagnostics: [
        diagnosticAt(m, ['kind'], 'warning', `${o.kind} ${o.metadata.name} skipped: restore-controller applies only RestoreSession and Repository objects`),
      ],
    };
  }
  const namespaced: KubeObject = { ...o, metadata: { ...o.metadata, namespace: o.metadata.namespace || defaultNamespace } };
  const managed: Manifest = { ...m, object: namespaced };
  const key = objectKey(namespaced);
  const diagnostics: Diagnostic[] = [];
  const violations = validateSchema(manifestSchema(kind), o);
  for (const v of violations) {
    diagnostics.push(diagnosticAt(managed, v.path, 'error', v.message, v.kind === 'unknown' ? 'key' : 'value'));
  }
  if (o['status'] !== undefined) {
    diagnostics.push(diagnosticAt(managed, ['status'], 'warning', 'status is written by the controller; the status in git is ignored', 'key'));
  }
  if (violations.length > 0) return { managed, key, diagnostics };
  const { status: _status, ...withoutStatus } = namespaced;
  const object = applyDefaults(kind.schema, withoutStatus) as KubeObject;
  return { managed, key, diagnostics, admitted: { ...managed, object } as Manifest<RestoreSession> | Manifest<Repository> };
}

/**
 * The desired set of objects already parsed (loadObjects, or loadObjectsYielding in the daemon).
 * With a `cache`, each object's own part (kind, schema, defaults) is reused while its manifest is
 * the same; what depends on the other objects (an object declared twice) is decided every time.
 */
export function desiredFromObjects(loaded: LoadedObjects, opts: LoadOptions = {}, cache?: AdmissionCache): DesiredSet {
  const defaultNamespace = opts.defaultNamespace ?? 'default';
  const diagnostics = [...loaded.diagnostics];
  const sessions: Manifest<RestoreSession>[] = [];
  const repositories: Manifest<Repository>[] = [];
  const refused = new Set<string>();
  const seen = new Map<string, Manifest>();
  const duplicated = new Set<string>();

  for (const m of loaded.manifests) {
    const a = cache ? cache.admission(m, defaultNamespace) : admit(m, defaultNamespace);
    if (!a.managed) {
      diagnostics.push(...a.diagnostics);
      continue;
    }
    const { managed, key } = a;
    const first = seen.get(key);
    if (first) {
      const o = managed.object;
      diagnostics.push(
        diagnosticAt(
          managed,
          ['metadata', 'name'],
          'error',
          `${o.kind} ${o.metadata.namespace}/${o.metadata.name} is declared twice: here and in ${whereIs(first)}; neither is applied until one is removed`,
        ),
      );
      duplicated.add(key);
      continue;
    }
    seen.set(key, managed);
    diagnostics.push(...a.diagnostics);
    if (!a.admitted) {
      refused.add(key);
      continue;
    }
    if (a.admitted.object.kind === 'RestoreSession') sessions.push(a.admitted as Manifest<RestoreSession>);
    else repositories.push(a.admitted as Manifest<Repository>);
  }
  cache?.endRun();
  // An object declared twice is ambiguous: apply neither copy.
  for (const key of duplicated) refused.add(key);
  const unique = <T extends KubeObject>(ms: Manifest<T>[]) => ms.filter((m) => !duplicated.has(objectKey(m.object)));
  return { sessions: unique(sessions), repositories: unique(repositories), refused, diagnostics };
}
