// Test/demo speed-up: re-wrap a restic repository's key with cheap scrypt parameters.
//
// restic calibrates scrypt at `init` to take ~0.5 s, and pays that on every command that opens the
// repository. Tests and the demo sandbox run hundreds of restic commands against throw-away
// repositories, so seedRepository({fastKdf: true}) rewrites the key file (restic 0.14 format:
// internal/repository/key.go, internal/crypto) with N=1024, r=8, p=1: same master key, same
// password, ~1 ms to open. INSECURE by design; never use it on a real repository.
import { createCipheriv, createDecipheriv, createHash, randomBytes, scryptSync } from 'node:crypto';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ResticError } from 'restore-controller/restic/errors';

interface KeyFile {
  created: string;
  username: string;
  hostname: string;
  kdf: string;
  N: number;
  r: number;
  p: number;
  salt: string;
  data: string;
}

const FAST = { N: 1024, r: 8, p: 1 };

function leToBigInt(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]!);
  return n;
}

function bigIntToLe16(n: bigint): Buffer {
  const out = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

/** Poly1305 one-time authenticator (RFC 8439 §2.5) over msg with key r||s. */
export function poly1305(msg: Uint8Array, key: Uint8Array): Buffer {
  const r = leToBigInt(key.subarray(0, 16)) & 0x0ffffffc0ffffffc0ffffffc0fffffffn;
  const s = leToBigInt(key.subarray(16, 32));
  const p = (1n << 130n) - 5n;
  let acc = 0n;
  for (let i = 0; i < msg.length; i += 16) {
    const block = msg.subarray(i, i + 16);
    acc = ((acc + leToBigInt(block) + (1n << BigInt(8 * block.length))) * r) % p;
  }
  return bigIntToLe16((acc + s) & ((1n << 128n) - 1n));
}

function deriveKeys(password: string, salt: Buffer, N: number, r: number, p: number) {
  const k = scryptSync(password, salt, 64, { N, r, p, maxmem: 256 * N * r * p + (64 << 20) });
  return { enc: k.subarray(0, 32), macK: k.subarray(32, 48), macR: k.subarray(48, 64) };
}

function resticMac(ct: Uint8Array, nonce: Uint8Array, macK: Uint8Array, macR: Uint8Array): Buffer {
  const aes = createCipheriv('aes-128-ecb', macK, null);
  aes.setAutoPadding(false);
  const s = aes.update(nonce);
  return poly1305(ct, Buffer.concat([macR, s]));
}

/**
 * Rewrap every key of the repository at `repoPath` with cheap scrypt parameters (tests only),
 * optionally under a new password (the master key stays the same).
 */
export async function useFastKdf(repoPath: string, password: string, newPassword: string = password): Promise<void> {
  const dir = join(repoPath, 'keys');
  for (const name of await readdir(dir)) {
    const key = JSON.parse(await readFile(join(dir, name), 'utf8')) as KeyFile;
    if (key.kdf !== 'scrypt') throw new ResticError('SeedUnavailable', `unsupported restic key kdf ${key.kdf}`, {});
    const data = Buffer.from(key.data, 'base64');
    const old = deriveKeys(password, Buffer.from(key.salt, 'base64'), key.N, key.r, key.p);
    const nonce = data.subarray(0, 16);
    const ct = data.subarray(16, data.length - 16);
    if (!resticMac(ct, nonce, old.macK, old.macR).equals(data.subarray(data.length - 16))) {
      throw new ResticError('SeedUnavailable', 'cannot rewrap restic key: wrong password or unknown key format', {});
    }
    const dec = createDecipheriv('aes-256-ctr', old.enc, nonce);
    const master = Buffer.concat([dec.update(ct), dec.final()]);

    const salt = randomBytes(64);
    const fresh = deriveKeys(newPassword, salt, FAST.N, FAST.r, FAST.p);
    const newNonce = randomBytes(16);
    const enc = createCipheriv('aes-256-ctr', fresh.enc, newNonce);
    const newCt = Buffer.concat([enc.update(master), enc.final()]);
    const mac = resticMac(newCt, newNonce, fresh.macK, fresh.macR);
    const rewrapped: KeyFile = {
      ...key,
      N: FAST.N,
      r: FAST.r,
      p: FAST.p,
      salt: salt.toString('base64'),
      data: Buffer.concat([newNonce, newCt, mac]).toString('base64'),
    };
    const body = JSON.stringify(rewrapped);
    const id = createHash('sha256').update(body).digest('hex');
    await writeFile(join(dir, id), body, { mode: 0o400 });
    if (id !== name) await rm(join(dir, name), { force: true });
  }
}
