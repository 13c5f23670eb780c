// restic include/exclude semantics: a table pinned by hand, then every row checked against the
// real `restic restore` on a repository with varied names.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { goFilepathClean, goFilepathMatch, isRestored, previewRestore, resticChildMatch, resticMatch } from '../../src/restic/pattern.ts';
import type { RestoreFilter, SnapshotEntry } from '../../src/restic/pattern.ts';
import { listTree, makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';

const run = promisify(execFile);
const D = '/source/data';

/** The files of the test snapshot, relative to /source/data; 'empty/' is an empty directory. */
const FILES = [
  'a.json',
  'b.json',
  'tmp.json',
  'notes.txt',
  '.hidden',
  '.config.json',
  'sub/c.json',
  'sub/tmp.json',
  'sub/readme.txt',
  'sub/deep/d.json',
  'sub/deep/e.log',
  'with space/file one.txt',
  'with space/x.json',
  'ünïcödé/日本.json',
  'ünïcödé/ß.txt',
  'dir.json/inner.bin',
  'foobar/f.json',
  'foo/g.bin',
  'empty/',
  '[br]/h.json',
  'what?.txt',
];
const ALL_FILES = FILES.filter((f) => !f.endsWith('/'));
const JSON_ANYWHERE = [
  'a.json',
  'b.json',
  'tmp.json',
  '.config.json',
  'sub/c.json',
  'sub/tmp.json',
  'sub/deep/d.json',
  'with space/x.json',
  'ünïcödé/日本.json',
  'dir.json/inner.bin',
  'foobar/f.json',
  '[br]/h.json',
];
const SUB = ['sub/c.json', 'sub/tmp.json', 'sub/readme.txt', 'sub/deep/d.json', 'sub/deep/e.log'];
const TXT = ['notes.txt', 'sub/readme.txt', 'with space/file one.txt', 'ünïcödé/ß.txt', 'what?.txt'];
const minus = (all: string[], gone: string[]) => all.filter((f) => !gone.includes(f));

interface Row {
  name: string;
  filter: RestoreFilter;
  /** Files (not directories) restored, relative to /source/data. */
  files: string[];
}

const TABLE: Row[] = [
  // --include
  { name: 'unanchored *.json matches at any depth, dotfiles and a directory named x.json', filter: { include: ['*.json'] }, files: JSON_ANYWHERE },
  {
    name: 'anchored /source/data/*.json: top level only (and below a matching dir)',
    filter: { include: [`${D}/*.json`] },
    files: ['a.json', 'b.json', 'tmp.json', '.config.json', 'dir.json/inner.bin'],
  },
  { name: 'a directory name includes everything below it', filter: { include: ['sub'] }, files: SUB },
  { name: 'anchored directory', filter: { include: [`${D}/sub`] }, files: SUB },
  { name: 'trailing slash is ignored (filepath.Clean)', filter: { include: [`${D}/sub/`] }, files: SUB },
  { name: './ is cleaned away', filter: { include: ['./sub'] }, files: SUB },
  { name: 'an unanchored run of several components', filter: { include: ['data/sub'] }, files: SUB },
  { name: '**/deep/* : ** matches any number of directories', filter: { include: ['**/deep/*'] }, files: ['sub/deep/d.json', 'sub/deep/e.log'] },
  { name: 'anchored with ** in the middle', filter: { include: ['/source/**/d.json'] }, files: ['sub/deep/d.json'] },
  { name: 'whole components only: foo does not match foobar', filter: { include: ['foo'] }, files: ['foo/g.bin'] },
  { name: '.* matches dotfiles', filter: { include: ['.*'] }, files: ['.hidden', '.config.json'] },
  { name: '* matches every component, so everything', filter: { include: ['*'] }, files: ALL_FILES },
  {
    name: '? is one character (one rune)',
    filter: { include: ['?.json'] },
    files: ['a.json', 'b.json', 'sub/c.json', 'sub/deep/d.json', 'with space/x.json', 'foobar/f.json', '[br]/h.json'],
  },
  { name: 'character class', filter: { include: ['[ab].json'] }, files: ['a.json', 'b.json'] },
  {
    name: 'negated class uses ^',
    filter: { include: ['[^ab].json'] },
    files: ['sub/c.json', 'sub/deep/d.json', 'with space/x.json', 'foobar/f.json', '[br]/h.json'],
  },
  { name: 'backslash escapes brackets', filter: { include: ['\\[br\\]'] }, files: ['[br]/h.json'] },
  { name: 'backslash escapes ?', filter: { include: ['what\\?.txt'] }, files: ['what?.txt'] },
  { name: 'non-ASCII file name', filter: { include: ['日本.json'] }, files: ['ünïcödé/日本.json'] },
  { name: 'non-ASCII directory name', filter: { include: ['ünïcödé'] }, files: ['ünïcödé/日本.json', 'ünïcödé/ß.txt'] },
  { name: 'a name with a space', filter: { include: ['with space'] }, files: ['with space/file one.txt', 'with space/x.json'] },
  { name: '!pattern cancels an earlier include', filter: { include: ['*.json', '!tmp.json'] }, files: minus(JSON_ANYWHERE, ['tmp.json', 'sub/tmp.json']) },
  { name: 'anchored non-ASCII directory with *', filter: { include: [`${D}/ünïcödé/*`] }, files: ['ünïcödé/日本.json', 'ünïcödé/ß.txt'] },
  { name: 'an anchored prefix includes the whole tree', filter: { include: ['/source'] }, files: ALL_FILES },
  { name: 'unanchored data includes everything under it', filter: { include: ['data'] }, files: ALL_FILES },
  { name: 'matching is case-sensitive', filter: { include: ['*.JSON'] }, files: [] },
  { name: 'no match restores nothing', filter: { include: ['nonexistent'] }, files: [] },
  { name: "an empty include is ignored but still means 'include mode': nothing", filter: { include: [''] }, files: [] },
  // --exclude
  {
    name: 'Stash example: exclude tmp.json and *.txt',
    filter: { exclude: ['tmp.json', '*.txt'] },
    files: minus(ALL_FILES, ['tmp.json', 'sub/tmp.json', ...TXT]),
  },
  { name: 'exclude *.json everywhere (and the dir.json directory)', filter: { exclude: ['*.json'] }, files: minus(ALL_FILES, JSON_ANYWHERE) },
  { name: '**/*.json is the same as *.json', filter: { exclude: ['**/*.json'] }, files: minus(ALL_FILES, JSON_ANYWHERE) },
  { name: 'exclude a directory by name', filter: { exclude: ['sub'] }, files: minus(ALL_FILES, SUB) },
  { name: 'exclude an anchored directory', filter: { exclude: [`${D}/sub/deep`] }, files: minus(ALL_FILES, ['sub/deep/d.json', 'sub/deep/e.log']) },
  { name: 'exclude dotfiles', filter: { exclude: ['.*'] }, files: minus(ALL_FILES, ['.hidden', '.config.json']) },
  { name: 'exclude a two-component run with non-ASCII', filter: { exclude: ['ünïcödé/ß.txt'] }, files: minus(ALL_FILES, ['ünïcödé/ß.txt']) },
  { name: 'nothing below an excluded directory comes back with !', filter: { exclude: ['*', '!a.json'] }, files: [] },
  {
    name: '! re-includes a file excluded by an earlier pattern',
    filter: { exclude: ['*.txt', '!notes.txt'] },
    files: minus(ALL_FILES, minus(TXT, ['notes.txt'])),
  },
  { name: 'an empty exclude excludes nothing', filter: { exclude: [''] }, files: ALL_FILES },
  // none
  { name: 'no filter restores everything', filter: {}, files: ALL_FILES },
];

const ERRORS: { name: string; filter: RestoreFilter; code: string; resticSays: RegExp }[] = [
  {
    name: 'restic 0.14 refuses --include with --exclude',
    filter: { include: ['*.json'], exclude: ['tmp.json'] },
    code: 'IncludeExcludeExclusive',
    resticSays: /mutually exclusive/,
  },
  { name: 'an invalid pattern is refused', filter: { include: ['['] }, code: 'BadPattern', resticSays: /invalid pattern/ },
  { name: 'a trailing backslash is an invalid pattern', filter: { exclude: ['a\\'] }, code: 'BadPattern', resticSays: /invalid pattern/ },
];

const entries: SnapshotEntry[] = [
  `/source/`,
  `${D}/`,
  ...FILES.map((f) => `${D}/${f}`),
  `${D}/sub/`,
  `${D}/sub/deep/`,
  `${D}/with space/`,
  `${D}/ünïcödé/`,
  `${D}/dir.json/`,
  `${D}/foobar/`,
  `${D}/foo/`,
  `${D}/[br]/`,
];

function filesOf(paths: string[]): string[] {
  return paths
    .filter((p) => !p.endsWith('/') && p.startsWith(D + '/'))
    .map((p) => p.slice(D.length + 1))
    .sort();
}

describe('restic patterns: Go filepath.Match and Clean', () => {
  it('matches like Go', () => {
    assert.equal(goFilepathMatch('*.json', '.x.json'), true);
    assert.equal(goFilepathMatch('*', 'a/b'), false);
    assert.equal(goFilepathMatch('?', 'é'), true);
    assert.equal(goFilepathMatch('??', 'é'), false);
    assert.equal(goFilepathMatch('[!a]', '!'), true, '[!a] is the class {!, a} in Go');
    assert.equal(goFilepathMatch('[!a]', 'b'), false);
    assert.equal(goFilepathMatch('[a-c]x', 'bx'), true);
    assert.equal(goFilepathMatch('\\*', '*'), true);
    assert.equal(goFilepathMatch('{a,b}', 'a'), false, 'no braces');
    assert.throws(() => goFilepathMatch('[', 'x'), { code: 'BadPattern' });
    assert.throws(() => goFilepathMatch('a[', 'b'), { code: 'BadPattern' }, 'syntax errors after a failed match are still reported');
  });
  it('cleans like Go', () => {
    assert.equal(goFilepathClean('a/'), 'a');
    assert.equal(goFilepathClean('./a//b/.'), 'a/b');
    assert.equal(goFilepathClean('/../a/..'), '/');
    assert.equal(goFilepathClean('a/../..'), '..');
    assert.equal(goFilepathClean(''), '.');
  });
  it('anchors, prefixes and whole components like restic filter.Match/ChildMatch', () => {
    assert.equal(resticMatch('foo', '/a/foo/b/file'), true);
    assert.equal(resticMatch('foo', '/a/foobar'), false);
    assert.equal(resticMatch('/bin', '/bin/bash'), true);
    assert.equal(resticMatch('/bin', '/usr/bin'), false);
    assert.equal(resticMatch('**/bin', '/usr/bin'), true);
    assert.equal(resticChildMatch('/source/data/*.json', '/source'), true);
    assert.equal(resticChildMatch('/source/data/*.json', '/other'), false);
    assert.equal(resticChildMatch('*.json', '/other'), true);
  });
  it('isRestored walks the parents the way restore does', () => {
    assert.equal(isRestored(`${D}/a.json`, { include: ['*.json'] }), true);
    assert.equal(isRestored(`${D}/a.txt`, { include: ['*.json'] }), false);
    assert.equal(isRestored(`${D}/sub/x.json`, { exclude: ['sub'] }), false);
    assert.equal(isRestored(`${D}/sub/x.json`, { exclude: ['/source/data/sub/*.txt'] }), true);
    assert.equal(isRestored(`${D}/a.json`, { include: ['*.json'], exclude: ['x'] }), false, 'restic refuses both');
  });
});

describe('restic patterns: table', () => {
  for (const row of TABLE) {
    it(row.name, () => {
      const preview = previewRestore(entries, row.filter);
      assert.equal(preview.error, undefined);
      assert.deepEqual(filesOf(preview.restored), [...row.files].sort());
      assert.equal(preview.restored.length + preview.notRestored.length, entries.length);
    });
  }
  for (const row of ERRORS) {
    it(row.name, () => {
      const preview = previewRestore(entries, row.filter);
      assert.equal(preview.error?.code, row.code);
      assert.deepEqual(preview.restored, []);
    });
  }
});

describe('restic patterns: the same table against the real restic restore', function () {
  this.timeout(120_000);
  const password = 'pattern-test-password';
  let work: { path: string; cleanup: () => Promise<void> };
  let repo: string;
  let snap: string;
  let snapshotEntries: SnapshotEntry[];
  const env = () => ({ ...process.env, RESTIC_PASSWORD: password });

  before(async function () {
    await requireSeeding(this);
    work = await tempDir('pattern-test');
    const files: Record<string, string> = {};
    for (const f of FILES) files[`${D}/${f}`] = f.endsWith('/') ? '' : `content of ${f}\n`;
    const seeded = await makeRepo({ dir: work.path, password, snapshots: [{ host: 'my-sts-1', files }] });
    repo = seeded.repoPath;
    snap = seeded.snapshotIds[0]!;
    const { stdout } = await run('restic', ['-r', repo, '--no-cache', 'ls', '--json', snap], { env: env() });
    snapshotEntries = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { struct_type: string; path: string; type: string })
      .filter((n) => n.struct_type === 'node')
      .map((n) => ({ path: n.path, type: n.type }));
  });
  after(async () => work?.cleanup());

  let n = 0;
  const restore = async (filter: RestoreFilter) => {
    const target = join(work.path, `target-${n++}`);
    await mkdir(target);
    const args = ['-r', repo, '--no-cache', '--no-lock', 'restore', snap, '--target', target];
    for (const p of filter.include ?? []) args.push('--include', p);
    for (const p of filter.exclude ?? []) args.push('--exclude', p);
    try {
      await run('restic', args, { env: env() });
      return { ok: true as const, tree: await listTree(target) };
    } catch (e) {
      return { ok: false as const, stderr: String((e as { stderr?: string }).stderr), tree: await listTree(target) };
    }
  };

  for (const row of TABLE) {
    it(row.name, async () => {
      const real = await restore(row.filter);
      assert.ok(real.ok, `restic failed: ${real.ok ? '' : real.stderr}`);
      const preview = previewRestore(snapshotEntries, row.filter);
      const predicted = preview.restored
        .map((p) => {
          const e = snapshotEntries.find((x) => typeof x !== 'string' && x.path === p) as { type: string } | undefined;
          return e?.type === 'dir' ? p + '/' : p;
        })
        .sort();
      assert.deepEqual(predicted, real.tree, 'files and directories written by restic restore');
      assert.deepEqual(filesOf(real.tree), [...row.files].sort());
    });
  }
  for (const row of ERRORS) {
    it(row.name, async () => {
      const real = await restore(row.filter);
      assert.equal(real.ok, false);
      assert.match(real.ok ? '' : real.stderr, row.resticSays);
      assert.deepEqual(real.tree, [], 'restic wrote nothing');
      assert.equal(previewRestore(snapshotEntries, row.filter).error?.code, row.code);
    });
  }

  it('Stash StatefulSet example: my-sts-3/4 take my-sts-1’s *.json, the others their own minus tmp.json and *.txt', async () => {
    const own = (host: string) => ({
      host,
      files: { [`${D}/${host}.json`]: host, [`${D}/tmp.json`]: 'tmp', [`${D}/log.txt`]: 'log', [`${D}/keep.bin`]: 'bin' },
    });
    const { repoPath } = await makeRepo({ dir: join(work.path, 'sts'), password, snapshots: ['my-sts-0', 'my-sts-1', 'my-sts-2'].map(own) });
    const cases = [
      { host: 'my-sts-3', sourceHost: 'my-sts-1', filter: { include: ['*.json'] }, files: ['my-sts-1.json', 'tmp.json'] },
      { host: 'my-sts-0', sourceHost: 'my-sts-0', filter: { exclude: ['tmp.json', '*.txt'] }, files: ['keep.bin', 'my-sts-0.json'] },
      { host: 'my-sts-2', sourceHost: 'my-sts-2', filter: { exclude: ['tmp.json', '*.txt'] }, files: ['keep.bin', 'my-sts-2.json'] },
    ];
    for (const c of cases) {
      const target = join(work.path, 'sts', c.host);
      await mkdir(target, { recursive: true });
      const args = ['-r', repoPath, '--no-cache', 'restore', 'latest', '--path', D, '--host', c.sourceHost, '--target', target];
      for (const p of c.filter.include ?? []) args.push('--include', p);
      for (const p of c.filter.exclude ?? []) args.push('--exclude', p);
      await run('restic', args, { env: env() });
      const real = filesOf(await listTree(target));
      assert.deepEqual(real, c.files, c.host);
      const predicted = filesOf(previewRestore(Object.keys(own(c.sourceHost).files), c.filter).restored);
      assert.deepEqual(predicted, c.files, `preview for ${c.host}`);
    }
  });
});
