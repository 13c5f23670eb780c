// From YAML files to typed objects with their origin, and a diagnostic for every problem.
import type { FieldPath } from '../api/openapi.ts';
import type { KubeObject } from '../api/meta.ts';
import type { Diagnostic, Severity } from './diagnostic.ts';
import type { SourceFile } from './files.ts';
import { locate, parseYamlFile } from './yaml-source.ts';
import type { DocumentPositions } from './yaml-source.ts';
import { formatPath } from '../api/openapi.ts';

/** An object read from a file, with enough of its origin to point at any of its fields. */
export interface Manifest<T extends KubeObject = KubeObject> {
  object: T;
  file: string;
  /** 0-based index of the YAML document in the file. */
  doc: number;
  /** The file's text, shared by its documents. */
  text: string;
  /** Positions of the document's fields, from the file's one parse (absent: parsed from `text` when asked). */
  positions?: DocumentPositions;
  /** Where the object sits in its document: `['items', 3]` for an item of a `List`; absent for the document itself. */
  at?: FieldPath;
}

function positionIn(m: Manifest, path: FieldPath, at: 'key' | 'value'): { line: number; column: number } {
  const full = m.at ? [...m.at, ...path] : path;
  return m.positions ? m.positions.locate(full, at) : locate(m.text, m.doc, full, at);
}

/**
 * A diagnostic pointing at a field of a manifest (or at its key, for a field that should not be
 * there). The path shown is the field's path in its document (`items[1].spec…` in a `List`).
 */
export function diagnosticAt(m: Manifest, path: FieldPath, severity: Severity, message: string, at: 'key' | 'value' = 'value'): Diagnostic {
  const pos = positionIn(m, path, at);
  return { file: m.file, line: pos.line, column: pos.column, path: formatPath(m.at ? [...m.at, ...path] : path), severity, message };
}

/** `file:line` where the manifest's object starts, for messages that point at another manifest. */
export function whereIs(m: Manifest): string {
  return `${m.file}:${positionIn(m, [], 'value').line}`;
}

export interface LoadedObjects {
  manifests: Manifest[];
  diagnostics: Diagnostic[];
}

/**
 * Parses every document of every file. Documents that are not Kubernetes objects are reported;
 * `List` objects are expanded into their items. One broken file never hides the others. With a
 * `cache`, a file whose text is unchanged since the cache's last run is not parsed again.
 */
export function loadObjects(files: SourceFile[], cache?: FileCache): LoadedObjects {
  const out: LoadedObjects = { manifests: [], diagnostics: [] };
  for (const f of files) add(out, cache ? cache.parsed(f) : parseFile(f));
  cache?.endRun();
  return out;
}

/**
 * loadObjects, giving the event loop a turn between files once `sliceMs` of work went by, so a
 * process that validates a big (or hostile) source stays responsive: its probes answer and a
 * signal is handled. Stops with the signal's reason when `signal` is aborted.
 */
export async function loadObjectsYielding(
  files: SourceFile[],
  opts: { sliceMs?: number; signal?: AbortSignal; cache?: FileCache } = {},
): Promise<LoadedObjects> {
  const out: LoadedObjects = { manifests: [], diagnostics: [] };
  const sliceMs = opts.sliceMs ?? 10;
  let sliceStart = performance.now();
  for (const f of files) {
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      opts.signal?.throwIfAborted();
      sliceStart = performance.now();
    }
    add(out, opts.cache ? opts.cache.parsed(f) : parseFile(f));
  }
  opts.cache?.endRun();
  return out;
}

function add(out: LoadedObjects, parsed: LoadedObjects): void {
  for (const d of parsed.diagnostics) out.diagnostics.push(d);
  for (const m of parsed.manifests) out.manifests.push(m);
}

/**
 * Each file's objects and diagnostics, kept while its text is the same (issue 16: work follows the
 * change). The text itself is the key: an unchanged file of a git source is the same string from
 * one revision to the next (its blob is not even read), and a folder's file is compared with what
 * was parsed, which costs less than hashing it. A run keeps only the files it was given.
 */
export class FileCache {
  private files = new Map<string, LoadedObjects & { text: string }>();
  private used = new Map<string, LoadedObjects & { text: string }>();
  /** Files parsed and reused since the cache was made (for tests and benches). */
  misses = 0;
  hits = 0;

  parsed(f: SourceFile): LoadedObjects {
    const cached = this.files.get(f.path) ?? this.used.get(f.path);
    if (cached && cached.text === f.text) {
      this.hits++;
      this.used.set(f.path, cached);
      return cached;
    }
    this.misses++;
    const entry = { ...parseFile(f), text: f.text };
    this.used.set(f.path, entry);
    return entry;
  }

  /** Ends a run: the files not given since the last call are dropped. */
  endRun(): void {
    this.files = this.used;
    this.used = new Map();
  }

  get size(): number {
    return this.files.size;
  }
}

/** Parses one file's documents. Nothing a file holds throws. */
function parseFile(f: SourceFile): LoadedObjects {
  const out: LoadedObjects = { manifests: [], diagnostics: [] };
  const { manifests, diagnostics } = out;
  let parsed: ReturnType<typeof parseYamlFile>;
  try {
    parsed = parseYamlFile(f.path, f.text);
  } catch (e) {
    // parseYamlFile reports what it knows as diagnostics; this is the net under it, so that
    // one file can never stop the others.
    diagnostics.push({ file: f.path, line: 1, column: 1, path: '', severity: 'error', message: `YAML: cannot be read: ${(e as Error).message}` });
    return out;
  }
  diagnostics.push(...parsed.diagnostics);
  for (const d of parsed.documents) {
    if (d.value === null || d.value === undefined) continue; // an empty document (`---` alone)
    const m: Manifest = { object: d.value as KubeObject, file: f.path, doc: d.index, text: f.text, positions: d.positions };
    // A List (what `kubectl get … -o yaml` prints) has no name of its own: its items are the objects.
    const list = listItems(d.value);
    if (list) {
      if (list.problem) diagnostics.push(diagnosticAt(m, ['items'], 'error', list.problem));
      list.items.forEach((item, i) => {
        const at: FieldPath = ['items', i];
        const p = notAnObject(item);
        if (p) diagnostics.push(diagnosticAt({ ...m, at }, p.path, 'error', p.message));
        else manifests.push({ ...m, object: item as KubeObject, at });
      });
      continue;
    }
    const problem = notAnObject(d.value);
    if (problem) {
      diagnostics.push(diagnosticAt(m, problem.path, 'error', problem.message));
      continue;
    }
    manifests.push(m);
  }
  return out;
}

/**
 * The items of a `List` (`kind: List`, or a typed list such as `PodList`, with `items`), or
 * undefined for any other document. `problem`: `items` is there but not a list.
 */
function listItems(value: unknown): { items: unknown[]; problem?: string } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if (typeof o['kind'] !== 'string' || typeof o['apiVersion'] !== 'string') return undefined;
  const isList = o['kind'] === 'List' || (o['kind'].endsWith('List') && 'items' in o);
  if (!isList) return undefined;
  const items = o['items'];
  if (items === undefined || items === null) return { items: [] };
  if (!Array.isArray(items)) return { items: [], problem: `${o['kind']} items must be a list of objects, not ${describe(items)}` };
  return { items };
}

function notAnObject(value: unknown): { path: FieldPath; message: string } | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { path: [], message: 'not a Kubernetes object: a document must be a mapping with apiVersion, kind and metadata' };
  }
  const o = value as Record<string, unknown>;
  for (const field of ['apiVersion', 'kind'] as const) {
    const v = o[field];
    if (v === undefined || v === null || v === '') return { path: [field], message: `${field} is missing: every object needs apiVersion and kind` };
    if (typeof v !== 'string') return { path: [field], message: `${field} must be a string, not ${describe(v)}: quote it if it is meant as text` };
  }
  const meta = o['metadata'];
  if (meta === undefined || meta === null) return { path: ['metadata'], message: `${o['kind']} has no metadata: add metadata.name` };
  if (typeof meta !== 'object' || Array.isArray(meta)) return { path: ['metadata'], message: `${o['kind']} metadata must be a mapping, not ${describe(meta)}` };
  const name = (meta as Record<string, unknown>)['name'];
  if (name === undefined || name === null || name === '') return { path: ['metadata', 'name'], message: `${o['kind']} has no metadata.name` };
  if (typeof name !== 'string')
    return { path: ['metadata', 'name'], message: `${o['kind']} metadata.name must be a string, not ${describe(name)}: quote it ("${String(name)}")` };
  return undefined;
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object' && v !== null) return 'a mapping';
  return `the ${typeof v} ${String(v)}`;
}
