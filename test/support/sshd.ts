// A real OpenSSH server (Debian's openssh-server) on 127.0.0.1 for the SSH git tests: sshd runs as a
// child process (-D, not a daemon) on a free port with its own host key and configuration, no PAM,
// public keys only, every login forced through git-shell, serving bare repositories made with git.
// `startSshd()` gives `{skip}` with the reason only when sshd is not installed and cannot be
// (scripts/install-deps.sh installs it); any other failure to start is an error.
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.ts';
import { WorkTree, tempDir } from './git-server.ts';

const SSHD = '/usr/sbin/sshd';

export interface SshKeyPair {
  /** The private key file (mode 0600). */
  key: string;
  /** The public key line (`ssh-ed25519 AAAA… comment`). */
  publicKey: string;
}

/** A fresh ed25519 key pair made by ssh-keygen, without passphrase. */
export function makeSshKey(dir: string, name: string): SshKeyPair {
  const key = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@restore-controller-test`, '-f', key]);
  return { key, publicKey: readFileSync(`${key}.pub`, 'utf8').trim() };
}

/** The SHA256 fingerprint of a public key file, as ssh-keygen prints it. */
export function sshFingerprint(pubFile: string): string {
  return /SHA256:[A-Za-z0-9+/]{43}/.exec(execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubFile], { encoding: 'utf8' }))![0];
}

export class Sshd {
  readonly dir: string;
  readonly port: number;
  readonly user: string;
  /** The server's host key pair (its public half: `${hostKey.key}.pub`). */
  readonly hostKey: SshKeyPair;
  /** A client key the server accepts. */
  readonly clientKey: SshKeyPair;
  /** A known_hosts file holding the server's host key for [127.0.0.1]:port. */
  readonly knownHosts: string;
  private readonly child: ChildProcess;

  private constructor(init: { dir: string; port: number; user: string; hostKey: SshKeyPair; clientKey: SshKeyPair; knownHosts: string; child: ChildProcess }) {
    this.dir = init.dir;
    this.port = init.port;
    this.user = init.user;
    this.hostKey = init.hostKey;
    this.clientKey = init.clientKey;
    this.knownHosts = init.knownHosts;
    this.child = init.child;
  }

  static async start(): Promise<Sshd | { skip: string }> {
    if (!existsSync(SSHD)) {
      try {
        execFileSync('bash', [join(REPO_ROOT, 'scripts/install-deps.sh')], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (e) {
        return {
          skip: `OpenSSH server not installed and scripts/install-deps.sh could not install it (${String((e as Error).message).split('\n')[0]}); apt-get install openssh-server`,
        };
      }
      if (!existsSync(SSHD))
        return { skip: `OpenSSH server not installed (${SSHD} missing) and scripts/install-deps.sh did not install it; apt-get install openssh-server` };
    }
    // sshd started as root checks its privilege separation folder.
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    const dir = tempDir('rc-sshd-');
    mkdirSync(join(dir, 'repos'));
    const hostKey = makeSshKey(dir, 'host_ed25519');
    const clientKey = makeSshKey(dir, 'client');
    writeFileSync(join(dir, 'authorized_keys'), `${clientKey.publicKey}\n`);
    const port = await freePort();
    const user = userInfo().username;
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${hostKey.key}`,
        'PidFile none',
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        'StrictModes no',
        'UsePAM no',
        'PubkeyAuthentication yes',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${user}`,
        'AllowTcpForwarding no',
        'X11Forwarding no',
        'PermitTTY no',
        'LogLevel INFO',
        // Every login can only run git's own commands (git-upload-pack, git-receive-pack).
        'ForceCommand git-shell -c "$SSH_ORIGINAL_COMMAND"',
        '',
      ].join('\n'),
    );
    const knownHosts = join(dir, 'known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${hostKey.publicKey.split(' ').slice(0, 2).join(' ')}\n`);
    const child = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let said = '';
      const onData = (d: Buffer) => {
        said += d.toString('utf8');
        if (/Server listening on 127\.0\.0\.1 port/.test(said)) {
          child.stderr!.off('data', onData);
          child.stderr!.resume();
          resolve();
        }
      };
      child.stderr!.on('data', onData);
      child.on('exit', (code) => reject(new Error(`sshd exited (${code}) before listening: ${said.trim()}`)));
      child.on('error', reject);
    });
    return new Sshd({ dir, port, user, hostKey, clientKey, knownHosts, child });
  }

  /** Makes a bare repository (default branch main); returns its path on the server. */
  createRepo(name: string): string {
    const path = join(this.dir, 'repos', `${name}.git`);
    execFileSync('git', ['init', '--quiet', '--bare', '--initial-branch=main', path]);
    return path;
  }

  /** The ssh:// URL of a repository made by createRepo. */
  url(name: string): string {
    return `ssh://${this.user}@127.0.0.1:${this.port}${join(this.dir, 'repos', `${name}.git`)}`;
  }

  /** git in the bare repository `name`. */
  git(name: string, args: string[], input?: string): string {
    return execFileSync('git', args, { cwd: join(this.dir, 'repos', `${name}.git`), encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** A folder laid out as a mounted Flux GitRepository Secret: identity, identity.pub, known_hosts. */
  credentialsDir(name: string, keys: { key?: SshKeyPair; knownHosts?: string } = {}): string {
    const dir = join(this.dir, 'secrets', name);
    mkdirSync(dir, { recursive: true });
    const key = keys.key ?? this.clientKey;
    // As Kubernetes mounts Secret keys by default: 0644, readable by all.
    writeFileSync(join(dir, 'identity'), readFileSync(key.key), { mode: 0o644 });
    writeFileSync(join(dir, 'identity.pub'), `${key.publicKey}\n`, { mode: 0o644 });
    writeFileSync(join(dir, 'known_hosts'), keys.knownHosts ?? readFileSync(this.knownHosts, 'utf8'), { mode: 0o644 });
    return dir;
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface SshdFixture {
  readonly sshd: Sshd;
  /** A temp folder of the suite's own (keys, caches, work trees). */
  readonly tmp: string;
  /** How many repositories repo() has made: a suffix that names this test's files. */
  readonly count: number;
  /** A new bare repository on the server, its URL and a work tree that pushes to it. */
  repo(): { name: string; url: string; work: WorkTree };
}

/**
 * A real sshd for the calling mocha suite (started in before, stopped in after): the suite skips,
 * saying why, only when sshd cannot be installed here.
 */
export function useSshd(tmpPrefix: string, repoPrefix = 'r'): SshdFixture {
  let sshd: Sshd | undefined;
  let tmp = '';
  let count = 0;
  before(async function () {
    const started = await Sshd.start();
    if ('skip' in started) {
      console.log(`    skipped: ${started.skip}`);
      this.skip();
    }
    sshd = started;
    tmp = tempDir(tmpPrefix);
  });
  after(async () => {
    await sshd?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
  return {
    get sshd() {
      if (!sshd) throw new Error('useSshd: the server is not started (used outside a test?)');
      return sshd;
    },
    get tmp() {
      return tmp;
    },
    get count() {
      return count;
    },
    repo() {
      const name = `${repoPrefix}${++count}`;
      const path = this.sshd.createRepo(name);
      return { name, url: this.sshd.url(name), work: new WorkTree(join(tmp, `work-${name}`), path) };
    },
  };
}
