// `restorectl rerun`'s edit, pure: find the document (or List item) declaring a RestoreSession in
// a file's text, bump its `restore.gitops/rerun` annotation, and change nothing else in the file;
// and the unified diff of that edit, for when the command may not push.
import { isMap, isScalar, parseAllDocuments } from 'yaml';
import type { Document, Scalar, YAMLMap } from 'yaml';
import { RERUN_ANNOTATION } from '../api/meta.ts';

export interface RerunEdit {
  text: string;
  from: string | undefined;
  to: string;
}

type Found = { doc: Document.Parsed; at: (string | number)[] };

function declares(v: unknown, namespace: string, name: string, defaultNamespace: string): boolean {
  if (!v || typeof v !== 'object') return false;
  const o = v as { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
  return o.kind === 'RestoreSession' && o.metadata?.name === name && ((o.metadata.namespace as string | undefined) || defaultNamespace) === namespace;
}

function find(text: string, namespace: string, name: string, defaultNamespace: string): Found | undefined {
  for (const doc of parseAllDocuments(text, { uniqueKeys: false })) {
    if (!('contents' in doc) || doc.errors.length) continue;
    const v = doc.toJS() as { kind?: unknown; items?: unknown[] } | null;
    if (declares(v, namespace, name, defaultNamespace)) return { doc, at: [] };
    if (v && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) {
      const i = v.items.findIndex((item) => declares(item, namespace, name, defaultNamespace));
      if (i >= 0) return { doc, at: ['items', i] };
    }
  }
  return undefined;
}

/** Whether the file declares the session (in a document or an item of a List). */
export function declaresSession(text: string, namespace: string, name: string, defaultNamespace = 'default'): boolean {
  return find(text, namespace, name, defaultNamespace) !== undefined;
}

/** The next value: a whole number counts up (`"2"` → `"3"`), none starts at `"1"`, anything else becomes the time. */
export function nextRerun(current: string | undefined, now: Date): string {
  if (current === undefined || current === '') return '1';
  if (/^\d{1,15}$/.test(current)) return String(Number(current) + 1);
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

/**
 * The file with the session's rerun annotation bumped, by a textual edit at the annotation's place:
 * the value replaced, or one line (`annotations:` and the key) put in after the last field of the
 * map, at its indentation; every other byte of the file stays. Undefined: the file does not declare it.
 */
export function bumpRerun(text: string, namespace: string, name: string, now: Date, defaultNamespace = 'default'): RerunEdit | undefined {
  const found = find(text, namespace, name, defaultNamespace);
  if (!found) return undefined;
  const { doc, at } = found;
  const meta = doc.getIn([...at, 'metadata'], true);
  if (!isMap(meta)) return undefined;
  const annotations = meta.get('annotations', true);
  const pair = isMap(annotations) ? annotations.items.find((p) => isScalar(p.key) && p.key.value === RERUN_ANNOTATION) : undefined;
  const raw = pair && isScalar(pair.value) ? pair.value.value : undefined;
  const from = raw === undefined || raw === null ? undefined : String(raw);
  const to = nextRerun(from, now);
  const quoted = JSON.stringify(to);
  const splice = (pos: number, del: number, ins: string) => ({ text: text.slice(0, pos) + ins + text.slice(pos + del), from, to });
  if (pair && isScalar(pair.value) && pair.value.range) {
    const [s0, s1] = pair.value.range;
    return splice(s0, s1 - s0, quoted);
  }
  if (isMap(annotations) && annotations.range) {
    if (annotations.flow) {
      const close = text.lastIndexOf('}', annotations.range[1]);
      return splice(close, 0, `${annotations.items.length ? ', ' : ' '}${RERUN_ANNOTATION}: ${quoted} `);
    }
    return insertLine(text, annotations, `${RERUN_ANNOTATION}: ${quoted}`, from, to);
  }
  if (annotations !== undefined && annotations !== null && !(isScalar(annotations) && (annotations.value === null || annotations.value === '')))
    return undefined;
  if (annotations !== undefined) {
    // `annotations:` with nothing after it: the key goes on the next line, one level in.
    const p = meta.items.find((x) => isScalar(x.key) && x.key.value === 'annotations')!;
    const key = p.key as Scalar;
    const eol = lineEnd(text, key.range![1]);
    return splice(eol, 0, `\n${' '.repeat(columnOf(text, key.range![0]) + 2)}${RERUN_ANNOTATION}: ${quoted}`);
  }
  if (meta.flow) {
    const close = text.lastIndexOf('}', meta.range![1]);
    return splice(close, 0, `, annotations: { ${RERUN_ANNOTATION}: ${quoted} }`);
  }
  const indent = ' '.repeat(columnOf(text, (meta.items[0]!.key as Scalar).range![0]));
  return insertLine(text, meta, `annotations:\n${indent}  ${RERUN_ANNOTATION}: ${quoted}`, from, to);
}

/** `line` (possibly two lines) after the last field of a block map, at the indentation of its first key. */
function insertLine(text: string, map: YAMLMap, line: string, from: string | undefined, to: string): RerunEdit {
  const first = map.items[0]!.key as Scalar;
  const last = map.items[map.items.length - 1]!;
  const end = (last.value as { range?: [number, number, number] } | null)?.range?.[1] ?? (last.key as Scalar).range![1];
  const indent = ' '.repeat(columnOf(text, first.range![0]));
  const eol = lineEnd(text, Math.max(end - 1, 0));
  const lines = line.split('\n').map((l, i) => (i === 0 ? indent + l : l));
  return { text: `${text.slice(0, eol)}\n${lines.join('\n')}${text.slice(eol)}`, from, to };
}

/** The offset of the newline ending the line that holds `pos` (or the text's end). */
function lineEnd(text: string, pos: number): number {
  const nl = text.indexOf('\n', pos);
  return nl < 0 ? text.length : nl;
}

function columnOf(text: string, pos: number): number {
  return pos - (text.lastIndexOf('\n', pos - 1) + 1);
}

/** A unified diff of one file (`git apply` takes it), with 3 lines of context around the changed region. */
export function unifiedDiff(path: string, before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const ctx = 3;
  const from = Math.max(0, head - ctx);
  const aEnd = Math.min(a.length, a.length - tail + ctx);
  const bEnd = Math.min(b.length, b.length - tail + ctx);
  // A text ending in a newline splits into a last empty element, which is no line of its own.
  const lastA = before.endsWith('\n') ? a.length - 1 : a.length;
  const lastB = after.endsWith('\n') ? b.length - 1 : b.length;
  const aLines = a.slice(from, Math.min(aEnd, lastA));
  const bLines = b.slice(from, Math.min(bEnd, lastB));
  const removed = a.slice(head, Math.min(a.length - tail, lastA));
  const added = b.slice(head, Math.min(b.length - tail, lastB));
  const before_ = a.slice(from, head);
  const after_ = a.slice(a.length - tail, Math.min(aEnd, lastA));
  const hunk = [...before_.map((l) => ` ${l}`), ...removed.map((l) => `-${l}`), ...added.map((l) => `+${l}`), ...after_.map((l) => ` ${l}`)];
  const range = (start: number, n: number) => `${n === 0 ? start : start + 1}${n === 1 ? '' : `,${n}`}`;
  return [
    `diff --git a/${path} b/${path}`,
    `--- a/${path}`,
    `+++ b/${path}`,
    `@@ -${range(from, aLines.length)} +${range(from, bLines.length)} @@`,
    ...hunk,
    '',
  ].join('\n');
}
