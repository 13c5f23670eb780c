// The packs and pack indexes src/git writes, checked against real git: what the status writer
// pushes must be a pack `git index-pack` accepts with the same objects and checksum, and the index
// we build for a pack git made must be the one git builds itself.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import {
  blobOid,
  buildPack,
  encodeCommit,
  indexPack,
  objectOid,
  ObjectReader,
  PackCache,
  parseIdx,
  serializeTree,
  storePack,
  TreeEditor,
} from '../../src/git/index.ts';
import type { GitObject, PackObject } from '../../src/git/index.ts';
import { tempDir } from '../support/git-server.ts';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Ada Author',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_AUTHOR_DATE: '1780000000 +0000',
  GIT_COMMITTER_NAME: 'Ada Author',
  GIT_COMMITTER_EMAIL: 'ada@example.com',
  GIT_COMMITTER_DATE: '1780000000 +0000',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

function git(cwd: string, args: string[], input?: string | Buffer): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}
function gitBytes(cwd: string, args: string[], input?: string | Buffer): Buffer {
  return execFileSync('git', args, { cwd, env: GIT_ENV, input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
}

/** `git verify-pack -v`: oid → {type, size}, and the number of objects stored as deltas. */
function verifyPack(cwd: string, idxPath: string): { objects: Map<string, { type: string; size: number }>; deltas: number } {
  const objects = new Map<string, { type: string; size: number }>();
  let deltas = 0;
  for (const line of git(cwd, ['verify-pack', '-v', idxPath]).split('\n')) {
    const m = /^([0-9a-f]{40}) (commit|tree|blob|tag)\s+(\d+) \d+ \d+(?: (\d+) [0-9a-f]{40})?$/.exec(line);
    if (!m) continue;
    objects.set(m[1]!, { type: m[2]!, size: Number(m[3]) });
    if (m[4]) deltas++;
  }
  return { objects, deltas };
}

const manifest = (i: number, rev: number) =>
  `apiVersion: stash.appscode.com/v1beta1\nkind: RestoreSession\nmetadata:\n  name: restore-${i}\n  namespace: demo\n  annotations:\n    restore.gitops/rerun: "${rev}"\nspec:\n  repository:\n    name: repo-${i % 3}\n  target:\n    ref:\n      apiVersion: apps/v1\n      kind: StatefulSet\n      name: db-${i}\n${'  # padding so that git finds deltas worth storing\n'.repeat(8)}`;

/** A repository (git CLI) of several commits that rewrite similar files: its packs hold deltas. */
function historyRepo(dir: string, commits = 6, files = 12): string {
  mkdirSync(dir, { recursive: true });
  git(dir, ['init', '--quiet', '--initial-branch=main']);
  for (let c = 0; c < commits; c++) {
    for (let i = 0; i < files; i++) {
      mkdirSync(join(dir, 'clusters', `ns-${i % 3}`), { recursive: true });
      if ((i + c) % 2 === 0 || c === 0) writeFileSync(join(dir, 'clusters', `ns-${i % 3}`, `r-${i}.yaml`), manifest(i, c));
    }
    git(dir, ['add', '-A']);
    git(dir, ['commit', '--quiet', '-m', `commit ${c}`]);
  }
  git(dir, ['tag', '-a', '-m', 'release', 'v1', 'HEAD~2']);
  git(dir, ['tag', '-a', '-m', 'tag of a tag', 'v1-again', 'v1']);
  return git(dir, ['rev-parse', 'HEAD']).trim();
}

describe('git layer: packs and indexes against real git', function () {
  let tmp: string;
  before(() => {
    tmp = tempDir('rc-gitpack-');
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('writes a pack (as the status writer does) that git index-pack accepts: same objects, count and checksum, and the same .idx', () => {
    const enc = new TextEncoder();
    const objects: PackObject[] = [];
    const blob = (text: string) => {
      const content = enc.encode(text);
      const oid = blobOid(content);
      objects.push({ oid, type: 'blob', content });
      return oid;
    };
    // Files through the tree editor, trees and a commit as the StatusWriter builds them.
    const editor = new TreeEditor(() => {
      throw new Error('an empty tree has no subtrees to read');
    }, null);
    editor.set('clusters/prod/STATUS.md', blob('# Restores\n'));
    for (let i = 0; i < 40; i++) editor.set(`clusters/prod/ns-${i % 4}/s-${i}.yaml`, blob(`kind: RestoreStatus\nname: s-${i}\n${'x'.repeat(i * 50)}\n`));
    editor.set('clusters/prod/ns-0/same.yaml', blob('kind: RestoreStatus\nname: s-0\n\n')); // a duplicate blob: dropped from the pack
    blob('kind: RestoreStatus\nname: s-0\n\n');
    const tree = editor.write((content) => {
      const oid = objectOid('tree', content);
      objects.push({ oid, type: 'tree', content });
      return oid;
    });
    const stamp = 'restore-controller <restore-controller@localhost> 1780000000 +0000';
    const commitBytes = encodeCommit({ tree, parents: [], author: stamp, committer: stamp, message: 'status(prod): 41 sessions' });
    const commit = objectOid('commit', commitBytes);
    objects.push({ oid: commit, type: 'commit', content: commitBytes });

    const { pack, idx, sha } = buildPack(objects);
    const unique = new Map(objects.map((o) => [o.oid, o]));
    assert.equal(pack.readUInt32BE(8), unique.size, 'the header counts each object once');

    const repo = join(tmp, 'written');
    git(tmp, ['init', '--quiet', '--bare', repo]);
    const packPath = join(repo, 'ours.pack');
    writeFileSync(packPath, pack);
    const indexed = git(repo, ['index-pack', '-o', join(repo, 'ours.idx'), packPath]).trim();
    assert.equal(indexed, sha, 'git computes the same pack checksum');
    assert.deepEqual(readFileSync(join(repo, 'ours.idx')), idx, 'our .idx is byte for byte the one git index-pack writes');

    const { objects: listed } = verifyPack(repo, join(repo, 'ours.idx'));
    assert.equal(listed.size, unique.size);
    for (const [oid, o] of unique) {
      assert.deepEqual(listed.get(oid), { type: o.type, size: o.content.length }, `object ${oid}`);
    }
    // And git reads the commit and its files out of it.
    storePack(repo, sha, pack, idx);
    assert.equal(git(repo, ['cat-file', '-t', commit]).trim(), 'commit');
    assert.equal(git(repo, ['show', `${commit}:clusters/prod/STATUS.md`]), '# Restores\n');
    assert.equal(git(repo, ['ls-tree', '-r', '--name-only', commit]).split('\n').filter(Boolean).length, 42);
    git(repo, ['fsck', '--strict', '--no-dangling', commit]);
  });

  for (const [label, flags] of [
    ['ofs-deltas', ['--delta-base-offset']],
    ['ref-deltas', []],
  ] as const) {
    it(`indexes a pack made by git pack-objects (${label}) exactly as git does: oids, offsets, CRCs, checksum`, () => {
      const dir = join(tmp, `history-${label}`);
      historyRepo(dir);
      const revs = git(dir, ['rev-list', '--objects', '--all'])
        .split('\n')
        .filter(Boolean)
        .map((l) => l.slice(0, 40));
      const base = join(tmp, `pack-${label}`);
      const sha = git(dir, ['pack-objects', '--quiet', '--window=50', '--depth=10', ...flags, base], revs.join('\n') + '\n').trim();
      const pack = readFileSync(`${base}-${sha}.pack`);
      const gitIdx = readFileSync(`${base}-${sha}.idx`);
      const { deltas } = verifyPack(dir, `${base}-${sha}.idx`);
      assert.ok(deltas > 0, `git stored some objects as ${label} (${deltas})`);

      const ours = indexPack(pack, (oid) => {
        throw new Error(`a complete pack needs no outside base (asked for ${oid})`);
      });
      assert.equal(ours.sha, sha);
      assert.equal(ours.count, new Set(revs).size);
      assert.deepEqual(parseIdx(ours.idx), parseIdx(gitIdx), 'the same oid, offset and CRC for every entry');
      assert.deepEqual(ours.idx, gitIdx, 'byte for byte');
    });
  }

  it('indexes a thin pack whose ref-deltas name bases outside it, read from the repository', () => {
    const dir = join(tmp, 'thin');
    const head = historyRepo(dir);
    const old = git(dir, ['rev-parse', 'HEAD~3']).trim();
    const thin = gitBytes(dir, ['pack-objects', '--quiet', '--thin', '--stdout', '--revs'], `${head}\n^${old}\n`);
    // The receiving side: a repository that has everything up to `old`, packed by git.
    const gitdir = join(tmp, 'thin-receiver.git');
    git(tmp, ['clone', '--quiet', '--bare', '--no-local', dir, gitdir]);
    git(gitdir, ['update-ref', 'refs/heads/main', old]);
    for (const t of ['v1', 'v1-again']) git(gitdir, ['tag', '-d', t]);
    git(gitdir, ['reflog', 'expire', '--expire=now', '--all']);
    git(gitdir, ['gc', '--quiet', '--prune=now']);
    const reader = new ObjectReader(gitdir);
    const external: string[] = [];
    const indexed = indexPack(thin, (oid) => {
      external.push(oid);
      return reader.read(oid);
    });
    assert.ok(external.length > 0, 'some deltas were against objects outside the pack');
    const expected = git(dir, ['rev-list', '--objects', head, `^${old}`])
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(0, 40))
      .sort();
    assert.deepEqual(
      parseIdx(indexed.idx).map((e) => e.oid),
      expected,
    );
  });

  it('resolves a ref-delta that comes before its base in the pack, as git index-pack does', () => {
    const base = Buffer.from('kind: RestoreStatus\nname: base\n');
    const baseOid = objectOid('blob', base);
    // A delta copying the base's first 20 bytes, then inserting new text.
    const tail = Buffer.from('name: derived\n');
    const result = Buffer.concat([base.subarray(0, 20), tail]);
    const delta = Buffer.from([base.length, result.length, 0x80 | 0x10, 20, tail.length, ...tail]);
    const entry = (typeCode: number, size: number, body: Buffer, extra = Buffer.alloc(0)) =>
      Buffer.concat([Buffer.from([(typeCode << 4) | (size & 0x0f) | (size > 15 ? 0x80 : 0), ...(size > 15 ? [size >> 4] : [])]), extra, deflateSync(body)]);
    const header = Buffer.alloc(12);
    header.write('PACK', 0, 'latin1');
    header.writeUInt32BE(2, 4);
    header.writeUInt32BE(2, 8);
    const body = Buffer.concat([header, entry(7, delta.length, delta, Buffer.from(baseOid, 'hex')), entry(3, base.length, base)]);
    const pack = Buffer.concat([body, createHash('sha1').update(body).digest()]);

    const ours = indexPack(pack, (oid) => {
      throw new Error(`the base ${oid} is in the pack`);
    });
    assert.deepEqual(
      parseIdx(ours.idx)
        .map((e) => e.oid)
        .sort(),
      [baseOid, objectOid('blob', result)].sort(),
    );
    const repo = join(tmp, 'late-base');
    git(tmp, ['init', '--quiet', '--bare', repo]);
    writeFileSync(join(repo, 'late.pack'), pack);
    assert.equal(git(repo, ['index-pack', '-o', join(repo, 'late.idx'), join(repo, 'late.pack')]).trim(), ours.sha);
    assert.deepEqual(readFileSync(join(repo, 'late.idx')), ours.idx);
  });

  it('readers sharing a PackCache read the same objects, and it holds no more packs than its bound', () => {
    const dir = join(tmp, 'shared-packs');
    historyRepo(dir, 3, 6);
    git(dir, ['repack', '-a', '-d', '--quiet']);
    writeFileSync(join(dir, 'later.yaml'), manifest(50, 1));
    git(dir, ['add', '-A']);
    git(dir, ['commit', '--quiet', '-m', 'later']);
    git(dir, ['repack', '-d', '--quiet']);
    const gitdir = join(dir, '.git');
    assert.equal(readdirSync(join(gitdir, 'objects', 'pack')).filter((f) => f.endsWith('.idx')).length, 2);
    const oids = git(dir, ['rev-list', '--objects', '--all'])
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(0, 40));
    for (const max of [1, 8]) {
      const packs = new PackCache(max);
      for (const reader of [new ObjectReader(gitdir, packs), new ObjectReader(gitdir, packs)])
        for (const oid of oids) assert.deepEqual(reader.read(oid).data, new ObjectReader(gitdir).read(oid).data, oid);
      assert.equal(packs.size, Math.min(max, 2));
    }
  });

  it('reads every object of a deltified pack as git cat-file does, and peels tags in one place', () => {
    const dir = join(tmp, 'read');
    const head = historyRepo(dir, 8, 15);
    git(dir, ['repack', '-a', '-d', '-f', '--quiet', '--window=50', '--depth=20']);
    const packs = readdirSync(join(dir, '.git', 'objects', 'pack')).filter((f) => f.endsWith('.idx'));
    assert.equal(packs.length, 1);
    const { objects, deltas } = verifyPack(dir, join(dir, '.git', 'objects', 'pack', packs[0]!));
    assert.ok(deltas > 0, `the pack holds deltas (${deltas})`);

    const reader = new ObjectReader(join(dir, '.git'));
    for (const [oid, { type }] of objects) {
      const obj: GitObject = reader.read(oid);
      assert.equal(obj.type, type, oid);
      assert.deepEqual(obj.data, gitBytes(dir, ['cat-file', type, oid]), `${type} ${oid}`);
    }
    // Loose objects too (git writes new objects loose).
    writeFileSync(join(dir, 'loose.yaml'), manifest(99, 0));
    const loose = git(dir, ['hash-object', '-w', 'loose.yaml']).trim();
    assert.deepEqual(new ObjectReader(join(dir, '.git')).read(loose).data, readFileSync(join(dir, 'loose.yaml')));

    // An annotated tag of an annotated tag peels to the commit git names.
    const tagOfTag = git(dir, ['rev-parse', 'refs/tags/v1-again']).trim();
    const peeled = reader.peel(tagOfTag);
    assert.equal(peeled.object.type, 'commit');
    assert.equal(peeled.oid, git(dir, ['rev-parse', 'v1-again^{commit}']).trim());
    assert.equal(reader.treeOf(tagOfTag), git(dir, ['rev-parse', 'v1-again^{tree}']).trim());
    assert.equal(reader.peel(head).oid, head, 'a commit peels to itself');
    const blobId = git(dir, ['rev-parse', `${head}:clusters/ns-0/r-0.yaml`]).trim();
    assert.equal(reader.peel(blobId).object.type, 'blob', 'a non-tag is returned as it is; the caller checks the type');
    assert.throws(
      () => reader.treeOf(blobId),
      (e: Error & { code?: string }) => e.code === 'GitObjectInvalid' && /not a commit/.test(e.message),
    );
    assert.throws(
      () => reader.read('0'.repeat(40)),
      (e: Error & { code?: string }) => e.code === 'GitObjectNotFound',
    );
  });

  it('serialises trees in git order (a folder sorts as if its name ended in "/")', () => {
    const dir = join(tmp, 'order');
    git(tmp, ['init', '--quiet', '--bare', dir]);
    const blob = git(dir, ['hash-object', '-w', '--stdin'], 'x\n').trim();
    const sub = git(dir, ['mktree'], `100644 blob ${blob}\tf\n`).trim();
    const entries = [
      { mode: '100644', path: 'a.yaml', oid: blob, type: 'blob' as const },
      { mode: '040000', path: 'a', oid: sub, type: 'tree' as const },
      { mode: '100644', path: 'a-b', oid: blob, type: 'blob' as const },
    ];
    const ours = objectOid('tree', serializeTree(entries));
    const theirs = git(dir, ['mktree'], entries.map((e) => `${e.mode} ${e.type} ${e.oid}\t${e.path}`).join('\n') + '\n').trim();
    assert.equal(ours, theirs);
  });
});
