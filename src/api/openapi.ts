// Structural OpenAPI v3 schemas as Kubernetes uses them in CRDs: the one checker shared by the
// manifest validator and the sandbox API server, so what `restorectl validate` accepts is what a
// cluster with deploy/crds accepts.

export interface Schema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  items?: Schema;
  enum?: unknown[];
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  /** CEL rules the API server checks (validateSchema does not: they are the cluster's, like `self == oldSelf`). */
  'x-kubernetes-validations'?: { rule: string; message?: string; reason?: string; fieldPath?: string }[];
}

/** A path into an object: property names and array indexes. */
export type FieldPath = (string | number)[];

export interface SchemaViolation {
  path: FieldPath;
  /** `unknown` marks a field the schema does not know (the key itself is at fault). */
  kind: 'type' | 'required' | 'enum' | 'pattern' | 'range' | 'unknown';
  message: string;
}

/** Renders `['spec','rules',0,'paths']` as `spec.rules[0].paths`. */
export function formatPath(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(schema: Schema, value: unknown): boolean {
  if (schema['x-kubernetes-int-or-string']) return typeof value === 'string' || Number.isInteger(value);
  const actual = typeOf(value);
  switch (schema.type) {
    case undefined:
      return true;
    case 'number':
      return actual === 'number' || actual === 'integer';
    default:
      return actual === schema.type;
  }
}

const patternCache = new Map<string, RegExp>();
function compiled(pattern: string): RegExp {
  let re = patternCache.get(pattern);
  if (!re) {
    re = new RegExp(pattern, 'u');
    patternCache.set(pattern, re);
  }
  return re;
}

function closestName(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestScore) {
      bestScore = d;
      best = c;
    }
  }
  return bestScore <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/**
 * Checks a value against a structural schema. Unknown fields are reported (kind `unknown`) rather
 * than silently dropped: a misspelt `tagetHosts` in git must not turn a rule into a catch-all.
 */
export function validateSchema(schema: Schema, value: unknown, path: FieldPath = []): SchemaViolation[] {
  const out: SchemaViolation[] = [];
  check(schema, value, path, out);
  return out;
}

function check(schema: Schema, value: unknown, path: FieldPath, out: SchemaViolation[]): void {
  if (value === null || value === undefined) {
    if (value === null && !schema.nullable && schema.type !== undefined) {
      out.push({ path, kind: 'type', message: `must be ${article(schema)}, not null` });
    }
    return;
  }
  if (!typeMatches(schema, value)) {
    out.push({ path, kind: 'type', message: `must be ${article(schema)}, not ${article({ type: typeOf(value) as Schema['type'] })}` });
    return;
  }
  if (schema.enum && !schema.enum.includes(value)) {
    out.push({ path, kind: 'enum', message: `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}; got ${JSON.stringify(value)}` });
  }
  if (typeof value === 'string') {
    if (schema.pattern && !compiled(schema.pattern).test(value)) {
      out.push({
        path,
        kind: 'pattern',
        message: `${JSON.stringify(value)} does not match ${schema.description ? schema.description.replace(/\.$/, '') : `the pattern ${schema.pattern}`}`,
      });
    }
    if (schema.minLength !== undefined && value.length < schema.minLength)
      out.push({ path, kind: 'range', message: schema.minLength === 1 ? 'must not be empty' : `must be at least ${schema.minLength} characters long` });
    if (schema.maxLength !== undefined && value.length > schema.maxLength)
      out.push({ path, kind: 'range', message: `must be at most ${schema.maxLength} characters long` });
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) out.push({ path, kind: 'range', message: `must be ≥ ${schema.minimum}; got ${value}` });
    if (schema.maximum !== undefined && value > schema.maximum) out.push({ path, kind: 'range', message: `must be ≤ ${schema.maximum}; got ${value}` });
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      out.push({ path, kind: 'range', message: `must have at least ${schema.minItems} item(s)` });
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      out.push({ path, kind: 'range', message: `must have at most ${schema.maxItems} item(s)` });
    if (schema.items) for (const [i, item] of value.entries()) check(schema.items, item, [...path, i], out);
    return;
  }
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const req of schema.required ?? []) {
      if (obj[req] === undefined || obj[req] === null) out.push({ path: [...path, req], kind: 'required', message: 'is required' });
    }
    const props = schema.properties ?? {};
    for (const [key, v] of Object.entries(obj)) {
      const sub = props[key];
      if (sub) check(sub, v, [...path, key], out);
      else if (typeof schema.additionalProperties === 'object') check(schema.additionalProperties, v, [...path, key], out);
      else if (!schema['x-kubernetes-preserve-unknown-fields'] && schema.additionalProperties !== true && !schema['x-kubernetes-embedded-resource']) {
        const hint = closestName(key, Object.keys(props));
        out.push({ path: [...path, key], kind: 'unknown', message: `unknown field "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}` });
      }
    }
  }
}

function article(schema: Schema): string {
  if (schema['x-kubernetes-int-or-string']) return 'an integer or a string';
  switch (schema.type) {
    case 'object':
      return 'an object';
    case 'array':
      return 'a list';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'boolean':
      return 'true or false';
    case 'string':
      return 'a string';
    default:
      return String(schema.type ?? 'a value');
  }
}

/**
 * Applies schema defaults as the API server does (a missing field with a `default` gets it,
 * recursively in objects that exist). Returns a new value; the input is not changed.
 */
export function applyDefaults<T>(schema: Schema, value: T): T {
  return defaulted(schema, value) as T;
}

function defaulted(schema: Schema, value: unknown): unknown {
  if (value === undefined) return schema.default === undefined ? undefined : structuredClone(schema.default);
  if (Array.isArray(value)) return schema.items ? value.map((v) => defaulted(schema.items!, v)) : value;
  if (value === null || typeof value !== 'object') return value;
  const obj = { ...(value as Record<string, unknown>) };
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    const v = defaulted(sub, obj[key]);
    if (v !== undefined) obj[key] = v;
  }
  if (typeof schema.additionalProperties === 'object') {
    for (const key of Object.keys(obj)) {
      if (!schema.properties?.[key]) obj[key] = defaulted(schema.additionalProperties, obj[key]);
    }
  }
  return obj;
}

/**
 * Drops fields the schema does not know, as the API server does for CRDs unless
 * `x-kubernetes-preserve-unknown-fields` is set.
 */
export function pruneUnknown<T>(schema: Schema, value: T): T {
  return pruned(schema, value) as T;
}

function pruned(schema: Schema, value: unknown): unknown {
  if (Array.isArray(value)) return schema.items ? value.map((v) => pruned(schema.items!, v)) : value;
  if (value === null || typeof value !== 'object') return value;
  if (schema['x-kubernetes-preserve-unknown-fields'] && !schema.properties) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const sub = schema.properties?.[key];
    if (sub) out[key] = pruned(sub, v);
    else if (typeof schema.additionalProperties === 'object') out[key] = pruned(schema.additionalProperties, v);
    else if (schema.additionalProperties === true || schema['x-kubernetes-preserve-unknown-fields'] || schema['x-kubernetes-embedded-resource']) out[key] = v;
  }
  return out;
}
