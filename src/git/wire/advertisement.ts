// The ref advertisement of smart HTTP (protocol v0/v1), the body of GET info/refs?service=…:
// the remote's refs, and its capabilities after a NUL on the first line. Pure.
import { pktLines } from './pkt-line.ts';

export interface Advertisement {
  /** ref name → oid; an annotated tag's peeled commit appears as `<tag>^{}`. */
  refs: Map<string, string>;
  /** `HEAD`'s target branch when the server says (symref capability). */
  head?: string;
  capabilities: Set<string>;
}

export type Service = 'git-upload-pack' | 'git-receive-pack';

export function parseAdvertisement(body: Buffer): Advertisement {
  const refs = new Map<string, string>();
  const capabilities = new Set<string>();
  let first = true;
  for (const line of pktLines(body)) {
    if (!line) continue;
    const text = line.toString('utf8').replace(/\n$/, '');
    if (text.startsWith('# service=')) continue;
    let refPart = text;
    if (first) {
      const nul = text.indexOf('\0');
      if (nul >= 0) {
        for (const c of text.slice(nul + 1).split(' ')) if (c) capabilities.add(c);
        refPart = text.slice(0, nul);
      }
      first = false;
    }
    const [oid, name] = refPart.split(' ');
    if (oid && name && name !== 'capabilities^{}') refs.set(name, oid);
  }
  const symref = [...capabilities].find((c) => c.startsWith('symref=HEAD:'));
  return { refs, capabilities, ...(symref ? { head: symref.slice('symref=HEAD:'.length) } : {}) };
}

/** The capabilities of `wanted` that the remote advertised, plus our agent string. */
export function agreedCapabilities(advertised: Advertisement, wanted: string[]): string[] {
  return [...wanted.filter((c) => advertised.capabilities.has(c)), 'agent=restore-controller'];
}

/**
 * The length of the ref advertisement at the start of `buf` through its closing flush packet, or
 * -1 while it is incomplete. Over SSH (the stateful protocol) the server sends it first, without
 * smart HTTP's `# service=` line; what follows it is the answer to the client's request.
 */
export function advertisementLength(buf: Buffer): number {
  let pos = 0;
  while (pos + 4 <= buf.length) {
    const len = parseInt(buf.toString('latin1', pos, pos + 4), 16);
    if (Number.isNaN(len)) return -1;
    if (len === 0) return pos + 4;
    pos += Math.max(4, len);
  }
  return -1;
}
