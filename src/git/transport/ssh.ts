// git over SSH: the OpenSSH client (`ssh`, started with an argument list, never through a shell)
// runs `git-upload-pack '<path>'` or `git-receive-pack '<path>'` on the server, and the git
// protocol (v0, stateful) runs over its stdin and stdout: the server speaks first with the ref
// advertisement (no `# service=` line, unlike smart HTTP), then the client sends what smart HTTP
// would POST (wants, haves and `done`; or update commands and the pack) and reads the answer.
// One connection per exchange: `advertise` reads the advertisement and ends the session with a
// flush packet; `request` reads it again and sends the request, as HTTP's GET and POST do.
//
// Authentication is a deploy key only (`-i KEY`, IdentitiesOnly, no agent, BatchMode: never a
// prompt), the host key is checked against the given known_hosts only (StrictHostKeyChecking=yes,
// no global file, no ~/.ssh/config). A key file ssh would refuse (readable by others, owned by
// someone else — a Kubernetes Secret mounted 0644 — or without its final newline) is copied to a
// private temporary file (0600) for the connection and removed when ssh exits.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GitError } from '../errors.ts';
import type { GitErrorCode } from '../errors.ts';
import { FLUSH } from '../wire/pkt-line.ts';
import { advertisementLength, parseAdvertisement } from '../wire/advertisement.ts';
import type { Advertisement, Service } from '../wire/advertisement.ts';
import { shellQuote } from './url.ts';
import type { SshAddress } from './url.ts';

export interface SshOptions {
  address: SshAddress;
  /** The clean URL, for messages. */
  url: string;
  /** The private key (`identity` of a Flux Secret, GIT_SSH_KEY_FILE). */
  identityFile?: string;
  /** The trusted host keys (`known_hosts` of a Flux Secret, GIT_SSH_KNOWN_HOSTS_FILE). */
  knownHostsFile?: string;
  /** Masks credentials in text from the server or ssh. */
  redact: (text: string) => string;
  /** The `ssh` program (default `ssh` on PATH). */
  sshCommand?: string;
}

/** Where keys are looked for, for messages. */
export const SSH_KEY_SOURCES = 'the file identity in --git-credentials-dir, or the file named by --git-ssh-key-file or GIT_SSH_KEY_FILE';
export const KNOWN_HOSTS_SOURCES = 'the file known_hosts in --git-credentials-dir, or the file named by --git-ssh-known-hosts-file or GIT_SSH_KNOWN_HOSTS_FILE';

const MAX_STDERR = 64 * 1024;

export class SshTransport {
  private readonly o: SshOptions;
  constructor(opts: SshOptions) {
    this.o = opts;
  }

  private error(code: GitErrorCode, what: string, message: string, extra: { path?: string } = {}): GitError {
    return new GitError(code, `${what} ${this.o.url}: ${message}`, { url: this.o.url, ...extra });
  }

  /** The ref advertisement of `service`; the session is then closed with a flush packet. */
  async advertise(service: Service, what: string): Promise<Advertisement> {
    const { advert } = await this.session(service, what, () => FLUSH);
    return parseAdvertisement(advert);
  }

  /** Sends `body` after the advertisement; returns everything the server said after it. */
  async request(service: Service, body: Buffer, what: string): Promise<Buffer> {
    const { rest } = await this.session(service, what, () => body);
    return rest;
  }

  /** The argument list of `ssh` for `service` (exported for tests and messages). */
  args(service: Service, identityFile: string, knownHostsFile: string): string[] {
    const a = this.o.address;
    if (a.host.startsWith('-') || a.user?.startsWith('-')) throw this.error('GitFailed', 'connecting to', 'a host or user name may not start with "-"');
    return [
      '-F',
      '/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'IdentityAgent=none',
      '-o',
      'PasswordAuthentication=no',
      '-o',
      'KbdInteractiveAuthentication=no',
      '-i',
      identityFile,
      '-o',
      `UserKnownHostsFile=${knownHostsFile}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'UpdateHostKeys=no',
      '-o',
      'ConnectTimeout=30',
      '-o',
      'ServerAliveInterval=15',
      '-o',
      'ServerAliveCountMax=4',
      '-T',
      '-x',
      '-a',
      ...(a.port ? ['-p', String(a.port)] : []),
      ...(a.user ? ['-l', a.user] : []),
      '--',
      a.host,
      `${service} ${shellQuote(a.path)}`,
    ];
  }

  private session(service: Service, what: string, answer: (advert: Buffer) => Buffer): Promise<{ advert: Buffer; rest: Buffer }> {
    const key = this.privateKey(what);
    const known = this.o.knownHostsFile && existsSync(this.o.knownHostsFile) ? this.o.knownHostsFile : undefined;
    if (this.o.knownHostsFile && !known) {
      key.cleanup();
      throw this.error(
        'GitHostKeyUnknown',
        what,
        `the known_hosts file ${this.o.knownHostsFile} does not exist; it should hold the server's host key (${KNOWN_HOSTS_SOURCES})`,
        { path: this.o.knownHostsFile },
      );
    }
    let args: string[];
    try {
      args = this.args(service, key.path, known ?? '/dev/null');
    } catch (e) {
      key.cleanup();
      throw e;
    }
    return new Promise((resolve, reject) => {
      const child = spawn(this.o.sshCommand ?? 'ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
      // Everything ssh writes, in one buffer grown by doubling; the advertisement's packets are
      // scanned as they arrive, from where the last scan stopped (linear for any size).
      let acc = Buffer.alloc(64 * 1024);
      let accLength = 0;
      let scan = 0;
      let advertEnd = -1;
      let stderr = '';
      let spawnError: Error | undefined;
      child.stdin.on('error', () => {}); // EPIPE when the server hung up: the exit status tells why
      child.stdout.on('data', (chunk: Buffer) => {
        if (accLength + chunk.length > acc.length) {
          const grown = Buffer.alloc(Math.max(acc.length * 2, accLength + chunk.length));
          acc.copy(grown, 0, 0, accLength);
          acc = grown;
        }
        chunk.copy(acc, accLength);
        accLength += chunk.length;
        if (advertEnd >= 0) return;
        const seen = advertisementLength(acc.subarray(scan, accLength));
        if (seen >= 0) {
          advertEnd = scan + seen;
          child.stdin.end(answer(Buffer.from(acc.subarray(0, advertEnd))));
        } else {
          scan += completePackets(acc.subarray(scan, accLength));
        }
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (stderr.length < MAX_STDERR) stderr += chunk.toString('utf8');
      });
      child.on('error', (e) => {
        spawnError = e;
      });
      child.on('close', (code, signal) => {
        const done = () => key.cleanup();
        if (spawnError) {
          done();
          const missing = (spawnError as NodeJS.ErrnoException).code === 'ENOENT';
          reject(
            this.error(
              'GitFailed',
              what,
              missing ? 'the OpenSSH client (ssh) is not installed; install openssh-client' : `cannot run ssh: ${spawnError.message}`,
            ),
          );
          return;
        }
        const all = acc.subarray(0, accLength);
        if (advertEnd >= 0) {
          const rest = all.subarray(advertEnd);
          // The git exchange happened: a refusal in it is the wire parsers' to explain.
          if (code === 0 || rest.length > 0) {
            done();
            resolve({ advert: all.subarray(0, advertEnd), rest });
            return;
          }
        }
        // The key's fingerprint is read from the private copy, if any, before it is removed.
        this.explain(what, stderr, code, signal, advertEnd < 0 && all.length ? all.subarray(0, 200).toString('utf8') : '', key)
          .then(reject, reject)
          .finally(done);
      });
    });
  }

  /** The key file ssh gets: the given one, or a private copy of it when ssh would refuse it. */
  private privateKey(what: string): { path: string; given: string; cleanup: () => void } {
    const given = this.o.identityFile;
    if (!given) throw this.error('GitSshKeyMissing', what, `no SSH private key: an ssh URL needs a deploy key, looked for in ${SSH_KEY_SOURCES}; none is set`);
    let st: ReturnType<typeof statSync>;
    let text: Buffer;
    try {
      st = statSync(given);
      text = readFileSync(given);
    } catch (e) {
      throw this.error(
        'GitSshKeyMissing',
        what,
        `cannot read the SSH private key ${given} (${(e as NodeJS.ErrnoException).code ?? 'error'}); keys are looked for in ${SSH_KEY_SOURCES}`,
        { path: given },
      );
    }
    if (isEncryptedKey(text)) {
      throw this.error(
        'GitSshKeyInvalid',
        what,
        `the SSH private key ${given} is protected by a passphrase, and a key with a passphrase is not supported (ssh runs without a prompt); use a deploy key without one`,
        { path: given },
      );
    }
    const uid = process.getuid?.();
    const usable =
      (st.mode & 0o077) === 0 && (uid === undefined || st.uid === uid) && text.length > 0 && text[text.length - 1] === 0x0a && !text.includes('\r');
    if (usable) return { path: given, given, cleanup: () => {} };
    const dir = mkdtempSync(join(tmpdir(), 'restorectl-ssh-'));
    const path = join(dir, 'identity');
    let normal = text.toString('latin1').replace(/\r\n/g, '\n');
    if (!normal.endsWith('\n')) normal += '\n';
    writeFileSync(path, normal, { encoding: 'latin1', mode: 0o600 });
    return { path, given, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
  }

  /** A GitError that says what ssh or the server refused and what to do. */
  private async explain(
    what: string,
    stderrRaw: string,
    code: number | null,
    signal: NodeJS.Signals | null,
    stdoutHead: string,
    key: { path: string; given: string },
  ): Promise<GitError> {
    const keyFile = key.given;
    const stderr = this.o.redact(stderrRaw.trim());
    const said = stderr ? ` (ssh: ${oneLine(stderr)})` : '';
    const a = this.o.address;
    const hostName = a.port && a.port !== 22 ? `[${a.host}]:${a.port}` : a.host;
    if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i.test(stderr)) {
      const offered = /(SHA256:[A-Za-z0-9+/]{43})/.exec(stderr)?.[1];
      return this.error(
        'GitHostKeyChanged',
        what,
        `the server's host key is not the one known_hosts (${this.o.knownHostsFile}) holds for ${hostName}: the server offers ${offered ?? 'another key'}. This can be an attack (someone between you and the server) or a server whose key was replaced; check the fingerprint with the server's owner, then replace the line for ${hostName} in known_hosts`,
      );
    }
    if (/Host key verification failed|host key is known for|No .* host key is known/i.test(stderr)) {
      const offered = await scanHostKeys(a);
      const where = this.o.knownHostsFile
        ? `the known_hosts file ${this.o.knownHostsFile} holds no key for ${hostName}`
        : `no known_hosts file was given (looked for in ${KNOWN_HOSTS_SOURCES})`;
      const offers = offered.length
        ? `the server offers ${offered.map((k) => `${k.type} ${k.fingerprint}`).join(', ')}`
        : 'the server did not say its keys to ssh-keyscan';
      const scan = `ssh-keyscan${a.port ? ` -p ${a.port}` : ''} ${a.host}`;
      return this.error(
        'GitHostKeyUnknown',
        what,
        `host key refused: ${where}; ${offers}. Check that fingerprint with the server's owner (GitHub, GitLab and others publish theirs), then add the server's line to known_hosts (the known_hosts key of the credentials Secret), e.g. the matching line of \`${scan}\``,
      );
    }
    // ssh says both when it cannot load the key: the key is the cause.
    if (/Load key .*(invalid format|error in libcrypto|incorrect passphrase|bad permissions)|passphrase/i.test(stderr)) {
      return this.error(
        'GitSshKeyInvalid',
        what,
        `ssh cannot use the private key ${keyFile}${said}; it must be an unencrypted OpenSSH or PEM private key (a key with a passphrase is not supported)`,
        { path: keyFile },
      );
    }
    if (/Permission denied \(|Too many authentication failures|no mutual signature/i.test(stderr)) {
      const fp = await keyFingerprint(key.path);
      return this.error(
        'GitAuthFailed',
        what,
        `the server refused the SSH key ${keyFile}${fp ? ` (${fp})` : ''}${a.user ? ` for user ${a.user}` : ''}: check that its public key is a deploy key of this repository (with write access for the status branch) and the user name of the URL (often git@)`,
        { path: keyFile },
      );
    }
    if (
      /Could not resolve hostname|Connection refused|Connection timed out|No route to host|Network is unreachable|Connection closed by|Connection reset|Operation timed out|kex_exchange_identification|Timeout, server .* not responding/i.test(
        stderr,
      )
    ) {
      return this.error('GitUnreachable', what, `cannot reach the SSH server${said}; check the URL's host and port, DNS and network policy`);
    }
    if (/does not appear to be a git repository|repository not found|could not be found|not a git repository|No such file or directory/i.test(stderr)) {
      return this.error(
        'GitRepositoryNotFound',
        what,
        `no repository at this path on the server${said}; check the URL (and that the deploy key may see this repository)`,
      );
    }
    if (stdoutHead) {
      return this.error(
        'GitFailed',
        what,
        `the server did not answer with git's protocol (it said: ${oneLine(this.o.redact(stdoutHead))})${said}; check that the account runs git-shell or git commands`,
      );
    }
    const status = signal ? `signal ${signal}` : `exit status ${code}`;
    return this.error('GitFailed', what, `ssh failed with ${status}${said}`);
  }
}

/** True for a private key protected by a passphrase: OpenSSH's format with a cipher, or an encrypted PEM key. */
export function isEncryptedKey(text: Buffer): boolean {
  const pem = text.toString('latin1');
  if (/Proc-Type:\s*4,ENCRYPTED|BEGIN ENCRYPTED PRIVATE KEY/.test(pem)) return true;
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(pem);
  if (!m) return false;
  const blob = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  const magic = 'openssh-key-v1\0';
  if (blob.toString('latin1', 0, magic.length) !== magic || blob.length < magic.length + 4) return false;
  const len = blob.readUInt32BE(magic.length);
  return blob.toString('latin1', magic.length + 4, magic.length + 4 + len) !== 'none';
}

/** The length of the whole pkt-lines (no flush among them) at the start of `buf`. */
function completePackets(buf: Buffer): number {
  let pos = 0;
  while (pos + 4 <= buf.length) {
    const len = parseInt(buf.toString('latin1', pos, pos + 4), 16);
    if (Number.isNaN(len) || pos + Math.max(4, len) > buf.length) break;
    pos += Math.max(4, len);
  }
  return pos;
}

const oneLine = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' / ')
    .slice(0, 600);

/** The SHA256 fingerprint of a public key blob (base64), as ssh prints it. */
export function fingerprint(base64Blob: string): string {
  return 'SHA256:' + createHash('sha256').update(Buffer.from(base64Blob, 'base64')).digest('base64').replace(/=+$/, '');
}

const KEY_TYPES: Record<string, string> = {
  'ssh-ed25519': 'ED25519',
  'ssh-rsa': 'RSA',
  'ecdsa-sha2-nistp256': 'ECDSA',
  'ecdsa-sha2-nistp384': 'ECDSA',
  'ecdsa-sha2-nistp521': 'ECDSA',
};

/** The host keys the server offers (ssh-keyscan), with their fingerprints; [] when it cannot say. */
export async function scanHostKeys(a: SshAddress): Promise<{ type: string; fingerprint: string; line: string }[]> {
  const stdout = await run('ssh-keyscan', ['-T', '10', ...(a.port ? ['-p', String(a.port)] : []), '--', a.host], 20_000);
  const out: { type: string; fingerprint: string; line: string }[] = [];
  for (const line of stdout.split('\n')) {
    const [, type, blob] = line.trim().split(/\s+/);
    if (!line.startsWith('#') && type && blob) out.push({ type: KEY_TYPES[type] ?? type, fingerprint: fingerprint(blob), line: line.trim() });
  }
  return out;
}

/** `SHA256:… (ED25519)` of a key file, from ssh-keygen; undefined when it cannot tell. */
async function keyFingerprint(file: string): Promise<string | undefined> {
  const m = /(SHA256:[A-Za-z0-9+/]{43}).*(\([A-Z0-9-]+\))\s*$/.exec(await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], 10_000));
  return m ? `${m[1]} ${m[2]}` : undefined;
}

/** A helper program's stdout ('' when it fails): only for the messages of a refusal, never blocking the event loop. */
function run(program: string, args: string[], timeout: number): Promise<string> {
  return new Promise((resolve) => {
    execFile(program, args, { encoding: 'utf8', timeout }, (_error, stdout) => resolve(typeof stdout === 'string' ? stdout : ''));
  });
}
