// Admission for writes: object metadata rules, the few built-in field rules the simulator relies
// on, and CRD schemas (validate, prune, default with the project's one OpenAPI checker).
import { applyDefaults, formatPath, pruneUnknown, validateSchema } from 'restore-controller/api/openapi';
import type { Schema, SchemaViolation } from 'restore-controller/api/openapi';
import { badRequest, invalid } from './errors.ts';
import type { StatusCause } from './errors.ts';
import type { ResourceType } from './resources.ts';
import { selectorObjectMatches } from './selectors.ts';
import type { Obj } from './store.ts';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function required(field: string): StatusCause {
  return { reason: 'FieldValueRequired', message: 'Required value', field };
}

function invalidValue(field: string, value: unknown, why: string): StatusCause {
  return { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${why}`, field };
}

/** kube-apiserver's TotalAnnotationSizeLimitB. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function metadataCauses(r: ResourceType, obj: Obj): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = obj.metadata?.name;
  if (!name) causes.push(required('metadata.name'));
  else if (r.plural === 'namespaces' ? !DNS_LABEL.test(name) || name.length > 63 : !DNS_SUBDOMAIN.test(name) || name.length > 253) {
    const what = r.plural === 'namespaces' ? 'a lowercase RFC 1123 label' : 'a lowercase RFC 1123 subdomain';
    causes.push(
      invalidValue(
        'metadata.name',
        name,
        `${what} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
      ),
    );
  }
  for (const [k, v] of Object.entries(obj.metadata?.labels ?? {})) {
    if (typeof v !== 'string' || v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v))
      causes.push(
        invalidValue(`metadata.labels`, v, `a valid label value must be 63 characters or less and consist of alphanumerics, '-', '_' or '.' (label ${k})`),
      );
  }
  // As ValidateAnnotationsSize: every key and value together, in bytes, at most 256 KiB.
  const annotationBytes = Object.entries(obj.metadata?.annotations ?? {}).reduce(
    (n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(typeof v === 'string' ? v : String(v)),
    0,
  );
  if (annotationBytes > TOTAL_ANNOTATION_SIZE_LIMIT)
    causes.push({ reason: 'FieldValueTooLong', message: `Too long: may not be more than ${TOTAL_ANNOTATION_SIZE_LIMIT} bytes`, field: 'metadata.annotations' });
  // As ValidateOwnerReferences: each reference names its owner fully (the garbage collector finds it by uid).
  for (const [i, ref] of ((obj.metadata?.ownerReferences ?? []) as Array<Record<string, unknown>>).entries()) {
    for (const field of ['apiVersion', 'kind', 'name', 'uid'])
      if (!ref?.[field])
        causes.push({ reason: 'FieldValueRequired', message: 'Required value: must not be empty', field: `metadata.ownerReferences[${i}].${field}` });
  }
  return causes;
}

/** `claimVolumes`: a StatefulSet's volumeClaimTemplates, which its containers may mount by name. */
function podSpecCauses(spec: any, at: string, claimVolumes: string[] = []): StatusCause[] {
  const causes: StatusCause[] = [];
  if (!spec || typeof spec !== 'object') return [required(at)];
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) causes.push(required(`${at}.containers`));
  const names = new Set<string>();
  for (const [list, items] of [
    ['initContainers', spec.initContainers ?? []],
    ['containers', containers ?? []],
  ] as const) {
    (items as any[]).forEach((c, i) => {
      if (!c?.name) causes.push(required(`${at}.${list}[${i}].name`));
      else if (names.has(c.name))
        causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(c.name)}`, field: `${at}.${list}[${i}].name` });
      else names.add(c.name);
      if (!c?.image) causes.push(required(`${at}.${list}[${i}].image`));
    });
  }
  const volumes = new Set([...(spec.volumes ?? []).map((v: any) => v?.name), ...claimVolumes]);
  for (const [list, items] of [
    ['initContainers', spec.initContainers ?? []],
    ['containers', containers ?? []],
  ] as const) {
    for (const [i, c] of (items as any[]).entries()) {
      for (const [j, m] of ((c?.volumeMounts ?? []) as any[]).entries()) {
        if (!volumes.has(m?.name))
          causes.push({ reason: 'FieldValueNotFound', message: `Not found: ${JSON.stringify(m?.name)}`, field: `${at}.${list}[${i}].volumeMounts[${j}].name` });
      }
    }
  }
  return causes;
}

function workloadCauses(obj: Obj, templateAt = 'spec.template'): StatusCause[] {
  const causes: StatusCause[] = [];
  const spec = obj.spec ?? {};
  if (!spec.selector) causes.push(required('spec.selector'));
  else if (!selectorObjectMatches(spec.selector, spec.template?.metadata?.labels)) {
    causes.push(invalidValue(`${templateAt}.metadata.labels`, spec.template?.metadata?.labels ?? {}, '`selector` does not match template `labels`'));
  }
  const claims = obj.kind === 'StatefulSet' ? (spec.volumeClaimTemplates ?? []).map((t: any) => t?.metadata?.name).filter(Boolean) : [];
  causes.push(...podSpecCauses(spec.template?.spec, `${templateAt}.spec`, claims));
  return causes;
}

const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

/** apimachinery's IsConfigMapKey, on the keys of a Secret's or ConfigMap's data (stringData is merged into data before this). */
function configKeyCauses(obj: Obj, fields: string[]): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const f of fields)
    for (const key of Object.keys((obj[f] as Record<string, unknown> | undefined) ?? {})) {
      const at = `${f}[${key}]`;
      if (key.length > 253) causes.push(invalidValue(at, key, 'must be no more than 253 characters'));
      if (!CONFIG_KEY.test(key))
        causes.push(
          invalidValue(
            at,
            key,
            "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
          ),
        );
      else if (key === '.' || key === '..') causes.push(invalidValue(at, key, `must not be '${key}'`));
    }
  return causes;
}

/** Field rules for built-in kinds (a small subset of the real ones). */
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

export function builtinCauses(r: ResourceType, obj: Obj): StatusCause[] {
  switch (`${r.group}/${r.plural}`) {
    case '/pods':
      return podSpecCauses(obj.spec, 'spec');
    case 'apps/deployments':
    case 'apps/statefulsets':
    case 'apps/daemonsets':
      return workloadCauses(obj);
    case 'batch/jobs': {
      const causes = podSpecCauses(obj.spec?.template?.spec, 'spec.template.spec');
      const rp = obj.spec?.template?.spec?.restartPolicy;
      if (rp !== 'Never' && rp !== 'OnFailure')
        causes.push({
          reason: 'FieldValueNotSupported',
          message: `Unsupported value: ${JSON.stringify(rp ?? '')}: supported values: "OnFailure", "Never"`,
          field: 'spec.template.spec.restartPolicy',
        });
      return causes;
    }
    case '/secrets':
      return configKeyCauses(obj, ['data']);
    case '/configmaps':
      return configKeyCauses(obj, ['data', 'binaryData']);
    case '/persistentvolumeclaims':
      return obj.spec?.accessModes?.length ? [] : [required('spec.accessModes')];
    case 'coordination.k8s.io/leases':
      // MicroTime: a real API server parses exactly six fractional digits (RFC3339Micro), so a
      // JavaScript Date's three are refused there; refuse them here too.
      return ['acquireTime', 'renewTime']
        .filter((f) => obj.spec?.[f] != null && !MICRO_TIME.test(String(obj.spec[f])))
        .map((f) => invalidValue(`spec.${f}`, obj.spec[f], `parsing time as "2006-01-02T15:04:05.000000Z07:00": a MicroTime has six fractional digits`));
    default:
      return [];
  }
}

function causeOf(v: SchemaViolation, value: unknown): StatusCause {
  const field = formatPath(v.path);
  switch (v.kind) {
    case 'required':
      return required(field);
    case 'enum':
      return {
        reason: 'FieldValueNotSupported',
        message: `Unsupported value: ${JSON.stringify(value)}: ${v.message.replace(/; got .*$/, '').replace(/^must be one of/, 'supported values:')}`,
        field,
      };
    case 'type':
      return { reason: 'FieldValueTypeInvalid', message: `Invalid value: ${JSON.stringify(value)}: ${field} in body ${v.message}`, field };
    default:
      return invalidValue(field, value, `${field} in body ${v.message}`);
  }
}

function valueAt(obj: unknown, path: (string | number)[]): unknown {
  let cur: any = obj;
  for (const s of path) cur = cur?.[s];
  return cur;
}

export interface Admitted {
  object: Obj;
  warnings: string[];
}

/** A custom resource checked against its CRD schema: unknown fields per `fieldValidation`, then pruned, defaulted and validated. */
export function admitCustom(r: ResourceType, version: string, obj: Obj, fieldValidation: FieldValidation): Admitted {
  const schema: Schema | undefined = r.schemas?.[version] ?? r.schemas?.[r.versions[0]!];
  const warnings: string[] = [];
  if (!schema) return { object: obj, warnings };
  const { metadata, ...body } = obj;
  const unknown = validateSchema(schema, body).filter((v) => v.kind === 'unknown');
  if (unknown.length && fieldValidation === 'Strict') {
    throw badRequest(
      `${r.kind} in version "${version}" cannot be handled as a ${r.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${formatPath(u.path)}"`).join(', ')}`,
    );
  }
  if (fieldValidation === 'Warn') for (const u of unknown) warnings.push(`unknown field "${formatPath(u.path)}"`);
  const cleaned = applyDefaults(schema, pruneUnknown(schema, body));
  const violations = validateSchema(schema, cleaned).filter((v) => v.kind !== 'unknown');
  if (violations.length)
    throw invalid(
      r,
      metadata.name ?? '',
      violations.map((v) => causeOf(v, valueAt(cleaned, v.path))),
    );
  return { object: { ...cleaned, metadata } as Obj, warnings };
}

/** The CEL rules the sandbox evaluates; others in a CRD are accepted and not checked (README). */
const SUPPORTED_RULES = new Set(['self == oldSelf', 'oldSelf == self']);

/**
 * The CRD's transition rules on an update, as the API server evaluates them: of CEL, only
 * `self == oldSelf` (an immutable field), checked where both the old and the new object have the
 * field. The cause reads as kube-apiserver's (`spec: Invalid value: <message>`).
 */
export function transitionCauses(r: ResourceType, version: string, old: Obj, next: Obj): StatusCause[] {
  const schema: Schema | undefined = r.schemas?.[version] ?? r.schemas?.[r.versions[0]!];
  const causes: StatusCause[] = [];
  const walk = (s: Schema, before: unknown, after: unknown, path: string[]): void => {
    if (before === undefined || after === undefined) return;
    for (const v of s['x-kubernetes-validations'] ?? []) {
      if (!SUPPORTED_RULES.has(v.rule.replace(/\s+/g, ' ').trim())) continue;
      if (canonical(before) !== canonical(after)) {
        const field = path.join('.');
        causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${v.message ?? `failed rule: ${v.rule}`}`, ...(field ? { field } : {}) });
      }
    }
    if (s.properties && before && after && typeof before === 'object' && typeof after === 'object') {
      for (const [k, sub] of Object.entries(s.properties)) walk(sub, (before as Obj)[k], (after as Obj)[k], [...path, k]);
    }
  };
  if (schema) {
    const { metadata: _a, ...b } = old;
    const { metadata: _b, ...a } = next;
    walk(schema, b, a, []);
  }
  return causes;
}

/** JSON with object keys sorted: CEL's equality of maps ignores their order, of lists does not. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Obj)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/**
 * Pod spec updates the real API server allows: container and init-container images,
 * activeDeadlineSeconds, added tolerations, and setting nodeName once (what a binding does).
 */
export function podUpdateCauses(old: Obj, next: Obj): StatusCause[] {
  const strip = (spec: any, keepNode: boolean): any => {
    const s = structuredClone(spec ?? {});
    for (const c of [...(s.containers ?? []), ...(s.initContainers ?? [])]) delete c.image;
    delete s.activeDeadlineSeconds;
    delete s.tolerations;
    if (!keepNode) delete s.nodeName;
    return s;
  };
  const nodeNameSettable = !old.spec?.nodeName;
  if (JSON.stringify(strip(old.spec, !nodeNameSettable)) === JSON.stringify(strip(next.spec, !nodeNameSettable))) return [];
  return [
    {
      reason: 'FieldValueForbidden',
      message:
        'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
      field: 'spec',
    },
  ];
}
