// Reading git objects out of a cache repository synchronously: loose objects and v2 packs (with
// ofs/ref deltas), with resolved objects kept for the reader's lifetime. isomorphic-git reads each
// packed object with an async inflate and re-resolves delta chains; for a first read of 10,000
// manifests from a pack of 1,000 commits that is tens of seconds, against about one here.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { GitError } from '../errors.ts';
import { applyDelta } from '../wire/delta.ts';
import { commitTree, decodeLoose, parseTree, peel } from '../wire/objects.ts';
import type { GitObject, TreeEntryInfo } from '../wire/objects.ts';
import { readEntryHeader, typeOfCode } from '../wire/pack.ts';
import { parseIdx } from '../wire/pack-index.ts';

interface Pack {
  name: string;
  data: Buffer;
  offsets: Map<string, number>;
}

/**
 * Parsed packs (their bytes and index) for readers that share them: packs are immutable (named by
 * their checksum), so the readers of one piece of work (a status write's attempts, a fetch and the
 * reads after it) parse each once. Whoever creates one decides how long the packs live: nothing
 * here keeps them between cycles; at most `max` are held, the least recently used dropped first.
 */
export class PackCache {
  private readonly packs = new Map<string, Pack>();
  private readonly max: number;

  constructor(max = 64) {
    this.max = max;
  }

  open(dir: string, name: string): Pack {
    const key = join(dir, name);
    const hit = this.packs.get(key);
    if (hit) {
      this.packs.delete(key);
      this.packs.set(key, hit);
      return hit;
    }
    const pack = openPack(key, name);
    this.packs.set(key, pack);
    while (this.packs.size > this.max) this.packs.delete(this.packs.keys().next().value!);
    return pack;
  }

  get size(): number {
    return this.packs.size;
  }
}

export class ObjectReader {
  private readonly gitdir: string;
  private readonly shared: PackCache | undefined;
  private packs: Pack[] | undefined;
  private readonly byOffset = new Map<string, GitObject>();
  private readonly byOid = new Map<string, GitObject>();

  /** Reads `gitdir`; its packs are held for the reader's lifetime, or taken from `packs` when given (shared with other readers). */
  constructor(gitdir: string, packs?: PackCache) {
    this.gitdir = gitdir;
    this.shared = packs;
  }

  has(oid: string): boolean {
    try {
      this.read(oid);
      return true;
    } catch {
      return false;
    }
  }

  /** The object `oid`; throws GitError GitObjectNotFound when the repository does not hold it. */
  read(oid: string): GitObject {
    const hit = this.byOid.get(oid);
    if (hit) return hit;
    const loose = join(this.gitdir, 'objects', oid.slice(0, 2), oid.slice(2));
    let obj: GitObject | undefined;
    for (const p of this.loadPacks()) {
      const off = p.offsets.get(oid);
      if (off !== undefined) {
        obj = this.readPacked(p, off);
        break;
      }
    }
    if (!obj && existsSync(loose)) obj = decodeLoose(inflateSync(readFileSync(loose)));
    if (!obj)
      throw new GitError(
        'GitObjectNotFound',
        `object ${oid} is not in the cache repository ${this.gitdir}; it was never fetched, or the cache was cut short (remove the folder to fetch afresh)`,
        { gitdir: this.gitdir, oid },
      );
    // Trees and commits are small and read again by diff walks; blobs are read once.
    if (obj.type !== 'blob') this.byOid.set(oid, obj);
    return obj;
  }

  /** Every object id in the repository's packs and loose objects that starts with `prefix` (hex, lower case). */
  idsWithPrefix(prefix: string): string[] {
    const out = new Set<string>();
    for (const p of this.loadPacks()) for (const oid of p.offsets.keys()) if (oid.startsWith(prefix)) out.add(oid);
    const dir = join(this.gitdir, 'objects', prefix.slice(0, 2));
    if (prefix.length >= 2 && existsSync(dir))
      for (const f of readdirSync(dir)) if ((prefix.slice(0, 2) + f).startsWith(prefix)) out.add(prefix.slice(0, 2) + f);
    return [...out].sort();
  }

  readTree(oid: string): TreeEntryInfo[] {
    const { type, data } = this.read(oid);
    if (type !== 'tree')
      throw new GitError('GitObjectInvalid', `${oid} in ${this.gitdir} is a ${type} where a tree was expected`, { gitdir: this.gitdir, oid });
    return parseTree(data);
  }

  /** Follows annotated tags from `oid` (see `peel`). */
  peel(oid: string): { oid: string; object: GitObject } {
    return peel(oid, (o) => this.read(o));
  }

  /** The tree of a commit (tags peeled). */
  treeOf(commit: string): string {
    const { oid, object } = this.peel(commit);
    const tree = object.type === 'commit' ? commitTree(object.data) : undefined;
    if (!tree)
      throw new GitError('GitObjectInvalid', `${commit} in ${this.gitdir} names a ${object.type} (${oid}), not a commit`, { gitdir: this.gitdir, oid: commit });
    return tree;
  }

  private loadPacks(): Pack[] {
    if (!this.packs) this.refresh();
    return this.packs!;
  }

  private readPacked(p: Pack, start: number): GitObject {
    const key = `${p.name}:${start}`;
    const hit = this.byOffset.get(key);
    if (hit) return hit;
    const h = readEntryHeader(p.data, start);
    let base: GitObject | undefined;
    if (h.baseOffset !== undefined) base = this.readPacked(p, h.baseOffset);
    else if (h.baseOid !== undefined) base = this.read(h.baseOid);
    // An output chunk of the known size: the default 16 KiB per object is most of the cost.
    const inflated = inflateSync(p.data.subarray(h.dataStart), { chunkSize: Math.max(64, h.size + 1) });
    const obj: GitObject = base
      ? { type: base.type, data: applyDelta(inflated, base.data) }
      : { type: typeOfCode(h.typeCode, `offset ${start} of ${p.name} in ${this.gitdir}`), data: inflated };
    // Delta bases are what get read again; keep non-blobs and anything used as a base.
    if (obj.type !== 'blob' || base) this.byOffset.set(key, obj);
    return obj;
  }

  /** Re-lists the packs (after a fetch), keeping those already loaded. */
  refresh(): void {
    const loaded = new Map((this.packs ?? []).map((p) => [p.name, p]));
    this.packs = undefined;
    const dir = join(this.gitdir, 'objects', 'pack');
    const names = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.idx')) : [];
    this.packs = names.map((idxName) => {
      const name = idxName.replace(/\.idx$/, '');
      return loaded.get(name) ?? this.shared?.open(dir, name) ?? openPack(join(dir, name), name);
    });
  }
}

function openPack(path: string, name: string): Pack {
  const offsets = new Map<string, number>();
  for (const e of parseIdx(readFileSync(`${path}.idx`), `${path}.idx`)) offsets.set(e.oid, e.offset);
  return { name, data: readFileSync(`${path}.pack`), offsets };
}
