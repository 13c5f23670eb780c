// A git source reads manifests as a folder source does (issue 17): the same decoding (bytes that
// are not UTF-8 are an error with their line and offset, never replaced by U+FFFD) and symbolic
// links followed inside the commit (to files and to folders), one that leads nowhere or out of the
// repository reported with its target. The same tree is read both ways and compared.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readManifestPaths } from '../../src/manifests/index.ts';
import { GitSource, readGitRevisions } from '../../src/source/index.ts';
import type { SourceRevision } from '../../src/source/index.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import type { GitHttpServer } from '../support/git-server.ts';

/** The revision's unreadable files as the loader's diagnostics (what the daemon and `plan` report). */
const revisionProblems = (rev: Pick<SourceRevision, 'problems'>) =>
  [...(rev.problems ?? new Map())].map(([file, p]) => ({ file, line: p.line, column: p.column, path: '', severity: 'error', message: p.message }));

const rs = (name: string) => `apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata:\n  name: ${name}\n  namespace: demo\nspec: {}\n`;

describe('GitSource: the same diagnostics as a folder', function () {
  let server: GitHttpServer;
  let tmp: string;
  let close: () => Promise<void>;
  let url: string;
  let work: WorkTree;
  before(async () => {
    ({ server, tmp, close } = await startGitServer());
    url = server.createRepo('decoding');
    work = new WorkTree(join(tmp, 'work'), server.repoPath('decoding'));
    work.write({ 'm/good.yaml': rs('good'), 'shared/real.yaml': rs('real'), 'shared/dir/x.yaml': rs('x') });
    // "café" in Latin-1 in a value: 0xe9 is not UTF-8.
    writeFileSync(join(work.dir, 'm/latin1.yaml'), Buffer.concat([Buffer.from(`${rs('latin1')}  note: caf`), Buffer.from([0xe9]), Buffer.from('\n')]));
    symlinkSync('../shared/real.yaml', join(work.dir, 'm/linked.yaml'));
    symlinkSync('../shared/dir', join(work.dir, 'm/linked-dir'));
    symlinkSync('missing.yaml', join(work.dir, 'm/dangling.yaml'));
    work.commit('manifests, links, a Latin-1 file');
    work.push();
  });
  after(async () => close());

  it('reads through links and reports bad bytes and a dangling link exactly as `validate` of the folder does', async () => {
    const folder = await readManifestPaths([join(work.dir, 'm')], { relativeTo: work.dir });
    const rev = await new GitSource({ url, cacheDir: join(tmp, 'cache-1'), env: {} }).sync();
    assert.deepEqual(
      [...rev.files.keys()].filter((p) => p.startsWith('m/')),
      folder.files.map((f) => f.path).sort(),
    );
    assert.equal(rev.files.get('m/linked.yaml'), rs('real'));
    assert.equal(rev.files.get('m/linked-dir/x.yaml'), rs('x'));
    assert.ok(![...rev.files.values()].some((t) => t.includes('\ufffd')), 'no replacement character reaches the loader');
    const problems = revisionProblems(rev).filter((d) => d.file.startsWith('m/'));
    assert.deepEqual(
      problems,
      [...folder.diagnostics].sort((a, b) => (a.file < b.file ? -1 : 1)),
    );
    assert.deepEqual(
      problems.map((d) => `${d.file}:${d.line}:${d.column}: ${d.message}`),
      [
        'm/dangling.yaml:0:0: cannot read: a symbolic link to missing.yaml, which does not exist',
        'm/latin1.yaml:7:12: not valid UTF-8 at byte 123 (0xe9): save the file as UTF-8 (kubectl reads UTF-8 or UTF-16 with a byte order mark)',
      ],
    );
    // `restorectl plan` reads revisions the same way.
    const [head] = await readGitRevisions({ url, env: {} }, ['main']);
    assert.deepEqual(
      revisionProblems(head!).filter((d) => d.file.startsWith('m/')),
      problems,
    );
  });

  it('a link out of the repository is reported; a changed link target is read again on the next sync', async () => {
    const source = new GitSource({ url, cacheDir: join(tmp, 'cache-2'), env: {} });
    await source.sync();
    mkdirSync(join(work.dir, 'm'), { recursive: true });
    symlinkSync('../../../etc/hostname', join(work.dir, 'm/outside.yaml'));
    work.write({ 'shared/real.yaml': rs('real-v2') }).commit('a link out, a target changed');
    work.push();
    const rev = await source.sync();
    assert.equal(rev.files.get('m/linked.yaml'), rs('real-v2'));
    assert.ok(rev.changed.modified.includes('m/linked.yaml'), JSON.stringify(rev.changed));
    assert.match(
      rev.problems?.get('m/outside.yaml')?.message ?? '',
      /^cannot read: a symbolic link to \.\.\/\.\.\/\.\.\/etc\/hostname, outside the repository/,
    );
  });
});
