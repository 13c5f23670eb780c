// Reading a manifest file's bytes as text, the one way every source does it (issue 17).
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Where and why a file's bytes are not text (1-based line and column). */
export interface TextProblem {
  line: number;
  column: number;
  message: string;
}

/**
 * A manifest file's text from its bytes, as kubectl reads files: UTF-8 (a byte order mark
 * dropped), or UTF-16 when it starts with a UTF-16 byte order mark. Bytes that are not valid
 * UTF-8 are a problem naming the line and byte offset, never replaced silently (the replacement
 * character would then be applied as part of a value). Every source (folders, git trees) reads
 * manifests through this, so each gives the same diagnostics.
 */
export function decodeManifestText(bytes: Uint8Array): { text: string } | TextProblem {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return { text: new TextDecoder('utf-16le').decode(bytes.subarray(2)) };
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return { text: new TextDecoder('utf-16be').decode(bytes.subarray(2)) };
  try {
    return { text: utf8.decode(bytes) }; // TextDecoder drops a leading UTF-8 BOM
  } catch {
    const at = firstInvalidUtf8(bytes);
    let line = 1;
    let lineStart = 0;
    for (let i = 0; i < at; i++) {
      if (bytes[i] !== 0x0a) continue;
      line++;
      lineStart = i + 1;
    }
    const column = Buffer.from(bytes.subarray(lineStart, at)).toString('utf8').length + 1;
    const hex = bytes[at]!.toString(16).padStart(2, '0');
    return {
      line,
      column,
      message: `not valid UTF-8 at byte ${at} (0x${hex}): save the file as UTF-8 (kubectl reads UTF-8 or UTF-16 with a byte order mark)`,
    };
  }
}

/** The offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    // The continuation bytes a lead byte announces, and the smallest code point it may encode.
    const [n, min] = c >= 0xc2 && c <= 0xdf ? [1, 0x80] : c >= 0xe0 && c <= 0xef ? [2, 0x800] : c >= 0xf0 && c <= 0xf4 ? [3, 0x10000] : [0, 0];
    if (n === 0) return i;
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const x = b[i + k];
      if (x === undefined || (x & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (x & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return b.length;
}
