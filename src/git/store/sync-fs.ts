// A file-system client for isomorphic-git whose promise methods run the synchronous node:fs
// calls. isomorphic-git touches thousands of small files (loose objects, refs, pack indexes); on a
// busy machine each fs/promises round trip through the thread pool costs far more than the work
// itself, so the sync calls are several times faster here. Use it for the cache repositories only.
import * as fs from 'node:fs';

const wrap =
  <A extends unknown[], R>(f: (...args: A) => R) =>
  async (...args: A): Promise<R> =>
    f(...args);

export const syncFs = {
  promises: {
    readFile: wrap(fs.readFileSync as (...a: unknown[]) => unknown),
    writeFile: wrap(fs.writeFileSync as (...a: unknown[]) => unknown),
    mkdir: wrap(fs.mkdirSync as (...a: unknown[]) => unknown),
    rmdir: wrap(fs.rmdirSync as (...a: unknown[]) => unknown),
    rm: wrap(fs.rmSync as (...a: unknown[]) => unknown),
    unlink: wrap(fs.unlinkSync as (...a: unknown[]) => unknown),
    stat: wrap(fs.statSync as (...a: unknown[]) => unknown),
    lstat: wrap(fs.lstatSync as (...a: unknown[]) => unknown),
    readdir: wrap(fs.readdirSync as (...a: unknown[]) => unknown),
    readlink: wrap(fs.readlinkSync as (...a: unknown[]) => unknown),
    symlink: wrap(fs.symlinkSync as (...a: unknown[]) => unknown),
    chmod: wrap(fs.chmodSync as (...a: unknown[]) => unknown),
  },
};
