// The API semantics, independent of HTTP: create/read/update/patch/delete with uid,
// creationTimestamp, generation, optimistic concurrency, status subresource rules, admission,
// finalizers, ownerReference garbage collection, namespace lifecycle and CRD registration.
// The HTTP layer and the workload simulator both write through here.
import { randomBytes } from 'node:crypto';
import { ApiError, alreadyExists, badRequest, conflict, gone, invalid, notFound, unsupportedMediaType } from './errors.ts';
import { applyBuiltinDefaults, initialStatus, newUid } from './defaults.ts';
import { jsonPatch, mergePatch, strategicMerge } from './patch.ts';
import { ResourceRegistry, apiVersionOf, resourceFromCrd, resourceKey } from './resources.ts';
import type { ResourceType } from './resources.ts';
import { fieldMatcher, labelMatcher } from './selectors.ts';
import { recordUpdate, serverSideApply } from './ssa.ts';
import type { Obj, Store } from './store.ts';
import { admitCustom, builtinCauses, metadataCauses, podUpdateCauses, transitionCauses } from './validation.ts';
import type { FieldValidation } from './validation.ts';
import { parse as parseYaml } from 'yaml';

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  /** `status` for the /status subresource. */
  subresource?: string;
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
}

export interface WriteResult {
  object: Obj;
  warnings: string[];
  created?: boolean;
}

export interface DeleteOptions {
  dryRun?: boolean;
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
  /** Pods: 0 removes at once; otherwise the pod terminates first (when a kubelet runs). */
  gracePeriodSeconds?: number;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: Obj[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

const CRD_RESOURCE = 'customresourcedefinitions.apiextensions.k8s.io';
const NAMESPACES = 'namespaces';

export function timestamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function specOf(obj: Obj): string {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return JSON.stringify(rest);
}

export class ApiCore {
  readonly store: Store;
  readonly resources: ResourceRegistry;
  /**
   * Set while a kubelet runs: deleted pods then get a deletionTimestamp and stay Terminating
   * until the kubelet has stopped their containers and deletes them with grace period 0.
   */
  gracefulPods = false;

  constructor(store: Store, resources = new ResourceRegistry()) {
    this.store = store;
    this.resources = resources;
    for (const crd of store.list(CRD_RESOURCE)) {
      const r = resourceFromCrd(crd);
      if (r) resources.register(r);
    }
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      if (!store.get(NAMESPACES, undefined, ns)) this.create(this.mustResource('', NAMESPACES), 'v1', undefined, { metadata: { name: ns } });
    }
  }

  mustResource(group: string, plural: string): ResourceType {
    const r = this.resources.get(group, plural);
    if (!r) throw new Error(`no resource ${plural} in group "${group}"`);
    return r;
  }

  /** The object as served at `version` (apiVersion/kind first). */
  present(r: ResourceType, obj: Obj, version = r.versions[0]!): Obj {
    const { apiVersion: _a, kind: _k, ...rest } = obj;
    return { apiVersion: apiVersionOf(r.group, version), kind: r.kind, ...rest } as Obj;
  }

  private checkNamespace(r: ResourceType, ns: string | undefined, forCreate: boolean): void {
    if (!r.namespaced) return;
    if (!ns) throw badRequest(`the namespace of the object must be set for ${resourceKey(r)}`);
    const nsObj = this.store.get(NAMESPACES, undefined, ns);
    if (!nsObj) throw notFound({ group: '', plural: 'namespaces', kind: 'Namespace' }, ns);
    if (forCreate && nsObj.metadata.deletionTimestamp) {
      throw new ApiError(
        403,
        'Forbidden',
        `${resourceKey(r)} "${''}" is forbidden: unable to create new content in namespace ${ns} because it is being terminated`,
      );
    }
  }

  get(r: ResourceType, ns: string | undefined, name: string): Obj {
    this.checkNamespace(r, ns, false);
    const obj = this.store.get(resourceKey(r), r.namespaced ? ns : undefined, name);
    if (!obj) throw notFound(r, name);
    return structuredClone(obj);
  }

  tryGet(r: ResourceType, ns: string | undefined, name: string): Obj | undefined {
    const obj = this.store.get(resourceKey(r), r.namespaced ? ns : undefined, name);
    return obj ? structuredClone(obj) : undefined;
  }

  list(r: ResourceType, ns: string | undefined, opts: ListOptions = {}): ListResult {
    const byLabel = labelMatcher(opts.labelSelector);
    const byField = fieldMatcher(opts.fieldSelector);
    let items = this.store.list(resourceKey(r), r.namespaced ? ns : undefined).filter((o) => byLabel(o) && byField(o));
    let resourceVersion = String(this.store.resourceVersion);
    let start = '';
    if (opts.continue) {
      let token: { rv: number; start: string };
      try {
        token = JSON.parse(Buffer.from(opts.continue, 'base64url').toString('utf8'));
      } catch {
        throw badRequest('invalid continue token');
      }
      if (token.rv < this.store.oldestResourceVersion) {
        throw gone(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      start = token.start;
      resourceVersion = String(token.rv);
    }
    const keyOf = (o: Obj): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (start) items = items.filter((o) => keyOf(o) > start);
    const result: ListResult = { items: [], resourceVersion };
    if (opts.limit && opts.limit > 0 && items.length > opts.limit) {
      const page = items.slice(0, opts.limit);
      result.items = page.map((o) => structuredClone(o));
      result.continue = Buffer.from(JSON.stringify({ rv: Number(resourceVersion), start: keyOf(page[page.length - 1]!) })).toString('base64url');
      result.remainingItemCount = items.length - opts.limit;
    } else result.items = items.map((o) => structuredClone(o));
    return result;
  }

  private admit(r: ResourceType, version: string, obj: Obj, creating: boolean, opts: WriteOptions): string[] {
    const causes = metadataCauses(r, obj);
    if (causes.length) throw invalid(r, obj.metadata?.name ?? '', causes);
    if (r.builtin) {
      applyBuiltinDefaults(r, obj, creating);
      const fieldCauses = builtinCauses(r, obj);
      if (fieldCauses.length) throw invalid(r, obj.metadata.name, fieldCauses);
      if (r.plural === 'customresourcedefinitions') this.admitCrd(r, obj);
      return [];
    }
    const admitted = admitCustom(r, version, obj, opts.fieldValidation ?? 'Warn');
    Object.assign(obj, admitted.object);
    return admitted.warnings;
  }

  /**
   * The ServiceAccount admission plugin: a pod naming a service account that does not exist is
   * refused (403), so a Job's pods fail to be created (FailedCreate). `default` is not checked:
   * no controller here creates it in every namespace.
   */
  private admitServiceAccount(ns: string | undefined, pod: Obj): void {
    const sa = pod.spec?.serviceAccountName;
    if (!sa || sa === 'default' || this.store.get('serviceaccounts', ns, sa)) return;
    throw new ApiError(
      403,
      'Forbidden',
      `pods "${pod.metadata?.name ?? ''}" is forbidden: error looking up service account ${ns}/${sa}: serviceaccount "${sa}" not found`,
      { name: pod.metadata?.name, kind: 'pods' },
    );
  }

  private admitCrd(r: ResourceType, crd: Obj): void {
    const served = resourceFromCrd(crd);
    if (!served) throw invalid(r, crd.metadata.name, [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.names.plural' }]);
    if (crd.metadata.name !== `${served.plural}.${served.group}`) {
      throw invalid(r, crd.metadata.name, [
        {
          reason: 'FieldValueInvalid',
          message: `Invalid value: ${JSON.stringify(crd.metadata.name)}: must be spec.names.plural+"."+spec.group`,
          field: 'metadata.name',
        },
      ]);
    }
    const clash = this.resources.get(served.group, served.plural);
    if (clash?.builtin)
      throw invalid(r, crd.metadata.name, [
        { reason: 'FieldValueInvalid', message: 'Invalid value: a built-in resource has this name', field: 'spec.names.plural' },
      ]);
    const now = timestamp();
    crd.status = {
      acceptedNames: crd.spec.names,
      storedVersions: [served.versions[0]],
      conditions: [
        { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts', message: 'no conflicts found', lastTransitionTime: now },
        { type: 'Established', status: 'True', reason: 'InitialNamesAccepted', message: 'the initial names have been accepted', lastTransitionTime: now },
      ],
    };
  }

  /** `applied`: the object comes from a server-side apply, whose fields the applier then owns. */
  create(r: ResourceType, version: string, ns: string | undefined, body: Obj, opts: WriteOptions = {}, applied?: Obj): WriteResult {
    if (!body || typeof body !== 'object' || typeof body.metadata !== 'object') throw badRequest('the object has no metadata');
    checkKind(r, version, body);
    if (body.metadata.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    const obj: Obj = structuredClone(body);
    if (r.namespaced) {
      if (obj.metadata.namespace && ns && obj.metadata.namespace !== ns)
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      ns ??= obj.metadata.namespace;
      obj.metadata.namespace = ns;
    } else delete obj.metadata.namespace;
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${randomBytes(4).toString('hex').slice(0, 5)}`;
    this.checkNamespace(r, ns, true);
    if (obj.metadata.name && this.store.get(resourceKey(r), ns, obj.metadata.name)) throw alreadyExists(r, obj.metadata.name);
    const now = timestamp();
    for (const k of ['resourceVersion', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields']) delete obj.metadata[k];
    obj.metadata.uid = newUid();
    obj.metadata.creationTimestamp = now;
    obj.metadata.generation = 1;
    obj.apiVersion = apiVersionOf(r.group, r.versions[0]!);
    obj.kind = r.kind;
    if (r.statusSubresource) {
      const initial = initialStatus(r, obj);
      if (initial === undefined) delete obj.status;
      else obj.status = initial;
    }
    const warnings = this.admit(r, version, obj, true, opts);
    if (r.plural === 'pods' && !r.group) this.admitServiceAccount(ns, obj);
    if (applied)
      obj.metadata.managedFields = serverSideApply(
        { ...obj, metadata: { ...obj.metadata, managedFields: [] } },
        applied,
        opts.fieldManager ?? 'unknown',
        true,
        apiVersionOf(r.group, version),
        now,
      ).metadata.managedFields;
    else recordUpdate(undefined, obj, opts.fieldManager ?? 'unknown', apiVersionOf(r.group, version), now);
    if (opts.dryRun) return { object: this.present(r, obj, version), warnings, created: true };
    const stored = this.store.put(resourceKey(r), obj);
    if (r.plural === 'customresourcedefinitions') this.registerCrd(stored);
    return { object: this.present(r, stored, version), warnings, created: true };
  }

  update(r: ResourceType, version: string, ns: string | undefined, name: string, body: Obj, opts: WriteOptions = {}): WriteResult {
    if (!body || typeof body !== 'object' || typeof body.metadata !== 'object') throw badRequest('the object has no metadata');
    if (body.metadata.name && body.metadata.name !== name)
      throw badRequest(`the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`);
    checkKind(r, version, body);
    const existing = this.get(r, ns, name);
    const rv = body.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== existing.metadata.resourceVersion) throw conflict(r, name);
    return this.replace(r, version, existing, structuredClone(body), opts);
  }

  /** Writes `next` over `existing` with the subresource rules, immutable metadata and generation. */
  private replace(r: ResourceType, version: string, existing: Obj, next: Obj, opts: WriteOptions, applied = false): WriteResult {
    let obj: Obj;
    if (opts.subresource === 'status') {
      if (!r.statusSubresource) throw notFoundSub(r, existing.metadata.name, 'status');
      obj = structuredClone(existing);
      if (next.status === undefined) delete obj.status;
      else obj.status = next.status;
      if (applied) obj.metadata.managedFields = next.metadata.managedFields;
    } else {
      obj = next;
      if (r.statusSubresource) {
        if (existing.status === undefined) delete obj.status;
        else obj.status = existing.status;
      }
      obj.metadata = { ...obj.metadata };
      for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'namespace', 'name', 'generation']) {
        if (existing.metadata[k] === undefined) delete obj.metadata[k];
        else obj.metadata[k] = existing.metadata[k];
      }
      if (!applied) obj.metadata.managedFields = existing.metadata.managedFields;
      if (existing.metadata.deletionTimestamp) {
        const added = (obj.metadata.finalizers ?? []).filter((f: string) => !(existing.metadata.finalizers ?? []).includes(f));
        if (added.length)
          throw new ApiError(
            422,
            'Invalid',
            `${r.kind} "${existing.metadata.name}" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
            {
              name: existing.metadata.name,
              kind: r.kind,
              causes: [
                { reason: 'FieldValueForbidden', message: 'no new finalizers can be added if the object is being deleted', field: 'metadata.finalizers' },
              ],
            },
          );
      }
    }
    obj.apiVersion = apiVersionOf(r.group, r.versions[0]!);
    obj.kind = r.kind;
    obj.metadata.resourceVersion = existing.metadata.resourceVersion;
    const warnings = this.admit(r, version, obj, false, opts);
    if (!r.builtin) {
      const causes = transitionCauses(r, version, this.present(r, existing, version), obj);
      if (causes.length) throw invalid(r, existing.metadata.name, causes);
    }
    if (r.plural === 'pods' && !r.group && opts.subresource !== 'status') {
      const causes = podUpdateCauses(existing, obj);
      if (causes.length) throw invalid(r, existing.metadata.name, causes);
    }
    if (specOf(obj) !== specOf(existing) || (!r.statusSubresource && JSON.stringify(obj.status) !== JSON.stringify(existing.status))) {
      obj.metadata.generation = (existing.metadata.generation ?? 1) + 1;
    }
    if (!applied) recordUpdate(existing, obj, opts.fieldManager ?? 'unknown', apiVersionOf(r.group, version), timestamp(), opts.subresource);
    if (opts.dryRun) return { object: this.present(r, obj, version), warnings };
    if (JSON.stringify(obj) === JSON.stringify(existing)) return { object: this.present(r, existing, version), warnings };
    const stored = this.store.put(resourceKey(r), obj);
    if (r.plural === 'customresourcedefinitions') this.registerCrd(stored);
    if (stored.metadata.deletionTimestamp && !(stored.metadata.finalizers ?? []).length) {
      this.removeNow(r, stored, 'Background');
    }
    return { object: this.present(r, stored, version), warnings };
  }

  patch(r: ResourceType, version: string, ns: string | undefined, name: string, contentType: string, raw: string, opts: WriteOptions = {}): WriteResult {
    const type = contentType.split(';')[0]!.trim();
    if (type === PATCH_TYPES.apply) return this.apply(r, version, ns, name, raw, opts);
    let patch: any;
    try {
      patch = JSON.parse(raw);
    } catch (e) {
      throw badRequest(`error decoding patch: ${(e as Error).message}`);
    }
    const existing = this.get(r, ns, name);
    let next: Obj;
    const target = this.present(r, existing, version);
    switch (type) {
      case PATCH_TYPES.merge:
        next = mergePatch(target, patch);
        break;
      case PATCH_TYPES.json:
        next = jsonPatch(target, patch);
        break;
      case PATCH_TYPES.strategic:
        if (!r.builtin)
          throw new ApiError(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
          );
        next = strategicMerge(target, patch);
        break;
      default:
        throw unsupportedMediaType(type);
    }
    if (!next || typeof next.metadata !== 'object') throw badRequest('the patch removed the object metadata');
    const rv = next.metadata.resourceVersion;
    if (rv !== undefined && rv !== existing.metadata.resourceVersion) throw conflict(r, name);
    return this.replace(r, version, existing, next, opts);
  }

  private apply(r: ResourceType, version: string, ns: string | undefined, name: string, raw: string, opts: WriteOptions): WriteResult {
    let applied: Obj;
    try {
      applied = parseYaml(raw) as Obj;
    } catch (e) {
      throw badRequest(`error decoding YAML: ${(e as Error).message}`);
    }
    if (!applied || typeof applied !== 'object') throw badRequest('the applied configuration is not an object');
    applied.metadata ??= { name };
    if (!opts.fieldManager) throw badRequest('PATCH, fieldManager: Required value: is required for apply patch');
    if (applied.metadata.name && applied.metadata.name !== name)
      throw badRequest(`the name of the object (${applied.metadata.name}) does not match the name on the URL (${name})`);
    const existing = this.tryGet(r, ns, name);
    const av = apiVersionOf(r.group, version);
    if (!existing) {
      if (opts.subresource) throw notFound(r, name);
      return this.create(r, version, ns, { ...applied, metadata: { ...applied.metadata, name } }, opts, applied);
    }
    if (applied.metadata.resourceVersion && applied.metadata.resourceVersion !== existing.metadata.resourceVersion) throw conflict(r, name);
    const merged = serverSideApply(this.present(r, existing, version), applied, opts.fieldManager, Boolean(opts.force), av, timestamp(), opts.subresource);
    return this.replace(r, version, existing, merged, opts, true);
  }

  delete(r: ResourceType, ns: string | undefined, name: string, opts: DeleteOptions = {}): Obj {
    const existing = this.get(r, ns, name);
    const pre = opts.preconditions;
    if (pre?.uid && pre.uid !== existing.metadata.uid)
      throw conflict(r, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${existing.metadata.uid}`);
    if (pre?.resourceVersion && pre.resourceVersion !== existing.metadata.resourceVersion)
      throw conflict(
        r,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${existing.metadata.resourceVersion}`,
      );
    if (opts.dryRun) return this.present(r, existing);
    const policy = opts.propagationPolicy ?? 'Background';
    if (r.plural === NAMESPACES && !r.group) return this.present(r, this.terminateNamespace(existing));
    if (r.plural === 'pods' && !r.group && this.gracefulPods && opts.gracePeriodSeconds !== 0) {
      if (existing.metadata.deletionTimestamp) return this.present(r, existing);
      const terminating = structuredClone(existing);
      terminating.metadata.deletionTimestamp = timestamp();
      terminating.metadata.deletionGracePeriodSeconds = opts.gracePeriodSeconds ?? existing.spec?.terminationGracePeriodSeconds ?? 30;
      return this.present(r, this.store.put(resourceKey(r), terminating));
    }
    if ((existing.metadata.finalizers ?? []).length > 0 || policy === 'Foreground') {
      let obj = existing;
      if (!obj.metadata.deletionTimestamp) {
        obj = structuredClone(existing);
        obj.metadata.deletionTimestamp = timestamp();
        obj.metadata.deletionGracePeriodSeconds = 0;
        obj = this.store.put(resourceKey(r), obj);
      }
      if (policy === 'Foreground') {
        this.collectDependents(obj, 'Background');
        if (!(obj.metadata.finalizers ?? []).length) return this.present(r, this.removeNow(r, obj, 'Background', false) ?? obj);
      }
      return this.present(r, obj);
    }
    return this.present(r, this.removeNow(r, existing, policy) ?? existing);
  }

  deleteCollection(r: ResourceType, ns: string | undefined, list: ListOptions, opts: DeleteOptions = {}): Obj[] {
    const { items } = this.list(r, ns, { labelSelector: list.labelSelector, fieldSelector: list.fieldSelector });
    const out: Obj[] = [];
    for (const o of items) {
      try {
        out.push(this.delete(r, o.metadata.namespace, o.metadata.name, opts));
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      }
    }
    return out;
  }

  /** Removes an object from the store and garbage-collects what it owned. */
  private removeNow(r: ResourceType, obj: Obj, policy: 'Background' | 'Foreground' | 'Orphan', collect = true): Obj | undefined {
    const removed = this.store.remove(resourceKey(r), obj.metadata.namespace, obj.metadata.name);
    if (r.plural === 'customresourcedefinitions') this.unregisterCrd(obj);
    if (collect) this.collectDependents(obj, policy);
    return removed;
  }

  private collectDependents(owner: Obj, policy: 'Background' | 'Foreground' | 'Orphan'): void {
    const uid = owner.metadata.uid;
    for (const r of this.resources.all()) {
      for (const dep of this.store.list(resourceKey(r))) {
        const refs: Array<{ uid: string }> = dep.metadata.ownerReferences ?? [];
        if (!refs.some((ref) => ref.uid === uid)) continue;
        if (policy === 'Orphan') {
          const next = structuredClone(dep);
          next.metadata.ownerReferences = refs.filter((ref) => ref.uid !== uid);
          if (!next.metadata.ownerReferences.length) delete next.metadata.ownerReferences;
          this.store.put(resourceKey(r), next);
          continue;
        }
        // A dependent with other live owners stays (the real collector checks every owner).
        const otherOwners = refs.filter((ref) => ref.uid !== uid);
        if (otherOwners.length) continue;
        try {
          this.delete(r, dep.metadata.namespace, dep.metadata.name, { propagationPolicy: 'Background' });
        } catch (e) {
          if (!(e instanceof ApiError && e.status === 404)) throw e;
        }
      }
    }
  }

  private terminateNamespace(ns: Obj): Obj {
    let obj = ns;
    if (!obj.metadata.deletionTimestamp) {
      obj = structuredClone(ns);
      obj.metadata.deletionTimestamp = timestamp();
      obj.status = { ...obj.status, phase: 'Terminating' };
      obj = this.store.put(NAMESPACES, obj);
    }
    const name = obj.metadata.name;
    const sweep = (): void => {
      let remaining = 0;
      for (const r of this.resources.all().filter((x) => x.namespaced)) {
        for (const o of this.store.list(resourceKey(r), name)) {
          remaining++;
          if (!o.metadata.deletionTimestamp) {
            try {
              this.delete(r, name, o.metadata.name);
            } catch (e) {
              if (!(e instanceof ApiError && e.status === 404)) throw e;
            }
          }
        }
      }
      const stillThere = this.resources.all().some((r) => r.namespaced && this.store.list(resourceKey(r), name).length > 0);
      if (!stillThere) this.store.remove(NAMESPACES, undefined, name);
      else setTimeout(sweep, remaining ? 100 : 0).unref();
    };
    setImmediate(sweep);
    return obj;
  }

  private registerCrd(crd: Obj): void {
    const r = resourceFromCrd(crd);
    if (r) this.resources.register(r);
  }

  private unregisterCrd(crd: Obj): void {
    const r = resourceFromCrd(crd);
    if (!r) return;
    for (const o of this.store.list(resourceKey(r))) this.store.remove(resourceKey(r), o.metadata.namespace, o.metadata.name);
    this.resources.unregister(r);
  }
}

/** A body's apiVersion/kind, when given, must be the resource's (as the server's decoder insists). */
function checkKind(r: ResourceType, version: string, body: Obj): void {
  if (body.kind && body.kind !== r.kind) throw badRequest(`the kind in the data (${body.kind}) does not match the expected kind (${r.kind})`);
  if (body.apiVersion) {
    const group = String(body.apiVersion).includes('/') ? String(body.apiVersion).split('/')[0] : '';
    if (group !== r.group)
      throw badRequest(`the API version in the data (${body.apiVersion}) does not match the expected API version (${apiVersionOf(r.group, version)})`);
  }
}

function notFoundSub(r: ResourceType, name: string, sub: string): ApiError {
  return new ApiError(404, 'NotFound', `${resourceKey(r)} "${name}" has no subresource ${sub}`);
}
