import { readFileSync } from 'node:fs';

/** 1-based line and column of the n-th occurrence of `needle` in a file, to pin diagnostics to text. */
export function positionOf(file: string, needle: string, occurrence = 1): { line: number; column: number } {
  const text = readFileSync(file, 'utf8');
  let at = -1;
  for (let i = 0; i < occurrence; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`"${needle}" (occurrence ${occurrence}) not in ${file}`);
  }
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}
