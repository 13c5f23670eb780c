// Multi-document YAML with positions. Objects are kept as plain data; positions are found again
// on demand (by re-reading the file's text), so 10,000 manifests don't keep 10,000 syntax trees.
//
// Two parsers, one job each: js-yaml reads values fast (5× the `yaml` package on small
// manifests, and it is already installed by @kubernetes/client-node); `yaml` keeps positions, so
// it explains errors and locates fields, only for files that need it.
import jsYaml from 'js-yaml';
import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Node } from 'yaml';
import type { FieldPath } from '../api/openapi.ts';
import type { Diagnostic } from './diagnostic.ts';

export interface YamlDocument {
  /** 0-based index of the document in its file. */
  index: number;
  value: unknown;
}

export interface ParsedYaml {
  documents: YamlDocument[];
  diagnostics: Diagnostic[];
}

export function parseYamlFile(file: string, text: string): ParsedYaml {
  try {
    const values = jsYaml.loadAll(text, undefined, { filename: file });
    return { documents: values.map((value, index) => ({ index, value })), diagnostics: [] };
  } catch {
    return parseYamlSlowly(file, text); // to report every error with its position
  }
}

function parseYamlSlowly(file: string, text: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const documents: YamlDocument[] = [];
  const diagnostics: Diagnostic[] = [];
  // A file that is not YAML at all comes back as an EmptyStream-like value with no documents.
  if (!Array.isArray(docs)) return { documents, diagnostics };
  docs.forEach((doc, index) => {
    for (const e of doc.errors) {
      const pos = lineCounter.linePos(e.pos[0]);
      diagnostics.push({ file, line: pos.line, column: pos.col, path: '', severity: 'error', message: `YAML: ${firstLine(e.message)}` });
    }
    for (const w of doc.warnings) {
      const pos = lineCounter.linePos(w.pos[0]);
      diagnostics.push({ file, line: pos.line, column: pos.col, path: '', severity: 'warning', message: `YAML: ${firstLine(w.message)}` });
    }
    if (doc.errors.length > 0) return; // a broken document is reported, never half-applied
    documents.push({ index, value: doc.toJS({ maxAliasCount: 100 }) });
  });
  return { documents, diagnostics };
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

export interface Position {
  line: number;
  column: number;
}

/**
 * The position of a field inside document `index` of `text`: the value's position, or with
 * `at: 'key'` the key's. A path that does not exist (a missing required field) resolves to the
 * deepest part of it that does.
 */
export function locate(text: string, index: number, path: FieldPath, at: 'key' | 'value' = 'value'): Position {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter });
  const doc = Array.isArray(docs) ? docs[index] : undefined;
  if (!doc) return { line: 1, column: 1 };
  let node: Node | null | undefined = doc.contents as Node | null;
  let best = node?.range?.[0] ?? doc.range[0];
  for (let i = 0; i < path.length && node; i++) {
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      const keyNode = pair.key as Node | null;
      const valueNode = pair.value as Node | null;
      best = (last && at === 'key') || !valueNode?.range ? (keyNode?.range?.[0] ?? best) : valueNode.range[0];
      node = valueNode;
    } else if (isSeq(node) && typeof seg === 'number') {
      const item = node.items[seg] as Node | undefined;
      if (!item) break;
      best = item.range?.[0] ?? best;
      node = item;
    } else {
      break;
    }
  }
  const pos = lineCounter.linePos(best);
  return { line: pos.line, column: pos.col };
}
