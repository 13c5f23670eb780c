// Test helpers around the real smart-HTTP git server (src/source/git-http-server.ts): a server
// in a temporary folder, and work trees driven by the git CLI that push to it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as openpgp from 'openpgp';
import { GitHttpServer } from '@restore-controller/devkit/git-http-server';
import type { GitServerAuth } from '@restore-controller/devkit/git-http-server';

export { GitHttpServer };

export function tempDir(prefix = 'rc-git-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function startGitServer(auth?: GitServerAuth): Promise<{ server: GitHttpServer; tmp: string; close: () => Promise<void> }> {
  const tmp = tempDir();
  const server = await GitHttpServer.start(auth ? { root: join(tmp, 'repos'), auth } : { root: join(tmp, 'repos') });
  return {
    server,
    tmp,
    close: async () => {
      await server.close();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Ada Author',
  GIT_AUTHOR_EMAIL: 'ada@example.com',
  GIT_COMMITTER_NAME: 'Ada Author',
  GIT_COMMITTER_EMAIL: 'ada@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_TERMINAL_PROMPT: '0',
};

/** A git work tree (git CLI) whose `origin` is a bare repository of the test server, by path. */
export class WorkTree {
  readonly dir: string;
  constructor(dir: string, remotePath: string, branch = 'main') {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
    this.git(['init', '--quiet', `--initial-branch=${branch}`]);
    this.git(['remote', 'add', 'origin', remotePath]);
  }

  git(args: string[], input?: string): string {
    return execFileSync('git', args, { cwd: this.dir, env: GIT_ENV, encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }).trim();
  }

  write(files: Record<string, string>): this {
    for (const [p, text] of Object.entries(files)) {
      mkdirSync(dirname(join(this.dir, p)), { recursive: true });
      writeFileSync(join(this.dir, p), text);
    }
    return this;
  }

  remove(...paths: string[]): this {
    this.git(['rm', '--quiet', '-r', ...paths]);
    return this;
  }

  /** Commits everything, returns the new HEAD. */
  commit(message: string): string {
    this.git(['add', '-A']);
    this.git(['commit', '--quiet', '--allow-empty', '-m', message]);
    return this.head();
  }

  head(): string {
    return this.git(['rev-parse', 'HEAD']);
  }

  push(opts: { force?: boolean; ref?: string } = {}): void {
    this.git(['push', '--quiet', ...(opts.force ? ['--force'] : []), 'origin', opts.ref ?? 'HEAD']);
  }

  /** Rewrites HEAD as the same commit carrying an OpenPGP signature made with `key`, as git does. */
  async signHead(key: openpgp.PrivateKey): Promise<string> {
    const raw = this.git(['cat-file', 'commit', 'HEAD']) + '\n';
    const split = raw.indexOf('\n\n');
    const message = await openpgp.createMessage({ binary: Buffer.from(raw, 'utf8') });
    const signature = (await openpgp.sign({ message, signingKeys: key, detached: true, format: 'armored' })) as string;
    const header = 'gpgsig ' + signature.trimEnd().split('\n').join('\n ');
    const signed = raw.slice(0, split) + '\n' + header + raw.slice(split);
    const oid = this.git(['hash-object', '-t', 'commit', '-w', '--stdin'], signed);
    this.git(['update-ref', 'HEAD', oid]);
    return oid;
  }
}

/** A fresh OpenPGP key pair (curve25519: fast enough for tests). */
export async function makeKey(name: string): Promise<{ privateKey: openpgp.PrivateKey; armoredPrivate: string; armoredPublic: string }> {
  const { privateKey, publicKey } = await openpgp.generateKey({
    type: 'curve25519',
    userIDs: [{ name, email: `${name.toLowerCase().replace(/\W+/g, '.')}@example.com` }],
    format: 'armored',
  });
  return { privateKey: await openpgp.readPrivateKey({ armoredKey: privateKey }), armoredPrivate: privateKey, armoredPublic: publicKey };
}
