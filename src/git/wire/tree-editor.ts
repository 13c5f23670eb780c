// Editing a git tree without a work tree or index: load only the folders on the paths touched,
// replace blobs, and serialise the changed folders bottom-up. Unchanged subtrees keep their oids,
// so a commit touching 10 of 10,000 files makes a handful of tree objects. Pure: trees are read
// through the function given, and the new tree objects handed to the sink given.
import type { TreeEntryInfo, TreeItem } from './objects.ts';
import { serializeTree } from './objects.ts';

interface Folder {
  entries: Map<string, TreeItem>;
  dirty: boolean;
}

export class TreeEditor {
  private readonly readTree: (oid: string) => TreeEntryInfo[];
  private readonly rootOid: string | null;
  private readonly folders = new Map<string, Folder | null>();

  /** Edits the tree `rootTree` (null: an empty tree), reading subtrees with `readTree`. */
  constructor(readTree: (oid: string) => TreeEntryInfo[], rootTree: string | null) {
    this.readTree = readTree;
    this.rootOid = rootTree;
  }

  /** The folder at `dir` ('' is the root); null when it does not exist (and `create` is false). */
  private folder(dir: string, create = false): Folder | null {
    const known = this.folders.get(dir);
    if (known || (known === null && !create)) return known;
    let oid: string | null = null;
    if (dir === '') oid = this.rootOid;
    else {
      const cut = dir.lastIndexOf('/');
      const parent = this.folder(cut < 0 ? '' : dir.slice(0, cut), create);
      const entry = parent?.entries.get(dir.slice(cut + 1));
      if (entry?.type === 'tree') oid = entry.oid;
      else if (entry && !create) return null;
    }
    let folder: Folder | null = null;
    if (oid) {
      const tree = this.readTree(oid);
      folder = { entries: new Map(tree.map((e) => [e.name, { mode: e.mode.padStart(6, '0'), path: e.name, oid: e.oid, type: e.type }])), dirty: false };
    } else if (create) {
      folder = { entries: new Map(), dirty: true };
    }
    if (known !== undefined && !folder) return null;
    this.folders.set(dir, folder);
    return folder;
  }

  /** The entries of a folder (empty when it does not exist). */
  list(dir: string): TreeItem[] {
    return [...(this.folder(dir)?.entries.values() ?? [])];
  }

  /** The blob oid at `path`, if any. */
  get(path: string): string | undefined {
    const cut = path.lastIndexOf('/');
    const f = this.folder(cut < 0 ? '' : path.slice(0, cut));
    const e = f?.entries.get(path.slice(cut + 1));
    return e?.type === 'blob' ? e.oid : undefined;
  }

  /** Puts the blob `oid` at `path`, creating folders as needed. */
  set(path: string, oid: string): void {
    const parts = path.split('/');
    const name = parts.pop()!;
    for (let i = 0; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      const f = this.folder(dir, true)!;
      f.dirty = true;
    }
    const f = this.folder(parts.join('/'), true)!;
    f.entries.set(name, { mode: '100644', path: name, oid, type: 'blob' });
  }

  /**
   * Serialises every changed folder, deepest first, hands each tree object to `sink` (which
   * returns its oid) and returns the root tree's oid.
   */
  write(sink: (content: Buffer) => string): string {
    const dirty = [...this.folders.entries()].filter(([, f]) => f?.dirty).map(([d]) => d);
    dirty.sort((a, b) => depth(b) - depth(a));
    let root = this.rootOid;
    for (const dir of dirty) {
      const f = this.folders.get(dir)!;
      const oid = sink(serializeTree([...f.entries.values()]));
      f.dirty = false;
      if (dir === '') {
        root = oid;
        continue;
      }
      const cut = dir.lastIndexOf('/');
      const parent = this.folders.get(cut < 0 ? '' : dir.slice(0, cut))!;
      const name = dir.slice(cut + 1);
      parent.entries.set(name, { mode: '040000', path: name, oid, type: 'tree' });
    }
    if (!root) root = sink(Buffer.alloc(0));
    return root;
  }
}

const depth = (d: string) => (d === '' ? 0 : d.split('/').length);
