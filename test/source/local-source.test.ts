import assert from 'node:assert/strict';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalSource } from '../../src/source/index.ts';
import type { SourceRevision } from '../../src/source/index.ts';
import { WorkTree, tempDir } from '../support/git-server.ts';

describe('LocalSource (--source-dir)', function () {
  let tmp: string;
  beforeEach(() => {
    tmp = tempDir('rc-local-');
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  it('hands out the manifests of a folder, with the HEAD commit when it is a git work tree', async () => {
    const work = new WorkTree(join(tmp, 'repo'), join(tmp, 'none.git'));
    work.write({ 'clusters/prod/a.yaml': 'a: 1\n', 'clusters/prod/b.yml': 'b: 1\n', 'clusters/prod/notes.txt': 'x', 'clusters/prod/.hidden/c.yaml': 'c: 1\n' });
    const head = work.commit('first');
    const source = new LocalSource({ dir: join(tmp, 'repo', 'clusters', 'prod') });
    const rev = await source.sync();
    assert.equal(rev.commit, head);
    assert.equal(rev.branch, 'main');
    assert.deepEqual([...rev.files.keys()], ['a.yaml', 'b.yml']);
    assert.equal((await source.sync()).changed.added.length, 0);

    work.write({ 'clusters/prod/a.yaml': 'a: 2\n' });
    const edited = await source.sync();
    assert.deepEqual(edited.changed, { added: [], modified: ['a.yaml'], deleted: [] });
    assert.equal(edited.commit, head, 'an uncommitted edit still reports the HEAD commit');

    const plain = new LocalSource({ dir: join(tmp, 'elsewhere') });
    mkdirSync(join(tmp, 'elsewhere'));
    assert.equal((await plain.sync()).commit, null);
  });

  it('re-emits once per burst of changes (debounced)', async () => {
    const dir = join(tmp, 'watched');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.yaml'), 'a: 1\n');
    const source = new LocalSource({ dir });
    const revisions: SourceRevision[] = [];
    let notify: () => void = () => {};
    const stop = await source.watch(
      (rev) => {
        revisions.push(rev);
        notify();
      },
      { debounceMs: 150 },
    );
    try {
      assert.equal(revisions.length, 1, 'the first revision comes at once');
      const next = new Promise<void>((r) => {
        notify = r;
      });
      for (let i = 0; i < 5; i++) {
        writeFileSync(join(dir, `n${i}.yaml`), `n: ${i}\n`);
        await new Promise((r) => setTimeout(r, 20));
      }
      unlinkSync(join(dir, 'a.yaml'));
      await next;
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(revisions.length, 2, 'one revision for the whole burst');
      assert.deepEqual(revisions[1]!.changed, { added: ['n0.yaml', 'n1.yaml', 'n2.yaml', 'n3.yaml', 'n4.yaml'], modified: [], deleted: ['a.yaml'] });
    } finally {
      await stop();
    }
  });
});
