// OpenPGP commit signatures: verifying that a fetched commit was signed by a trusted key, and
// signing the status branch's commits. isomorphic-git 1.x signs through a callback but has no
// verify API, so both sides use openpgp directly on the commit's signed payload.
import { readFileSync } from 'node:fs';
import * as openpgp from 'openpgp';
import { GitError } from '../git/index.ts';

/** Trusted public keys, read from one or more armored blocks. */
export interface Keyring {
  keys: openpgp.PublicKey[];
  /** Where it came from, for messages. */
  origin: string;
}

export async function readKeyring(armored: string, origin = 'keyring'): Promise<Keyring> {
  const blocks = armored.match(/-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g) ?? [];
  if (!blocks.length)
    throw new GitError('GitKeyringInvalid', `${origin}: no armored OpenPGP public key block found (export keys with \`gpg --armor --export KEYID\`)`, {
      path: origin,
    });
  const keys: openpgp.PublicKey[] = [];
  for (const block of blocks) {
    for (const k of await openpgp.readKeys({ armoredKeys: block })) keys.push(k.toPublic());
  }
  return { keys, origin };
}

export async function readKeyringFile(path: string): Promise<Keyring> {
  return readKeyring(readFileSync(path, 'utf8'), path);
}

export type SignatureCheck = { ok: true; keyId: string; signer: string } | { ok: false; keyId?: string; signer?: string; reason: string };

const describeKey = (k: openpgp.PublicKey) => `${k.getUserIDs()[0] ?? 'no user id'} (key ${k.getKeyID().toHex().toUpperCase()})`;

/** Checks a detached armored signature (a commit's `gpgsig`) over `payload` against the keyring. */
export async function verifyDetached(payload: string, armoredSignature: string | undefined, keyring: Keyring): Promise<SignatureCheck> {
  if (!armoredSignature) return { ok: false, reason: 'the commit is not signed' };
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature });
  } catch (e) {
    return { ok: false, reason: `the signature cannot be read (${(e as Error).message})` };
  }
  const keyIds = signature.getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
  const keyId = keyIds[0] ?? 'unknown';
  const known = keyring.keys.find((k) => k.getKeys().some((sub) => keyIds.includes(sub.getKeyID().toHex().toUpperCase())));
  if (!known) return { ok: false, keyId, reason: `it is signed by key ${keyId}, which is not in ${keyring.origin}` };
  try {
    const message = await openpgp.createMessage({ binary: Buffer.from(payload, 'utf8') });
    const result = await openpgp.verify({ message, signature, verificationKeys: keyring.keys, expectSigned: true });
    await result.signatures[0]!.verified;
    return { ok: true, keyId, signer: describeKey(known) };
  } catch (e) {
    return { ok: false, keyId, signer: describeKey(known), reason: `the signature by ${describeKey(known)} does not verify (${(e as Error).message})` };
  }
}

/** A signer for isomorphic-git's `commit({onSign, signingKey})`. */
export interface CommitSigner {
  signingKey: string;
  onSign: (args: { payload: string; secretKey: string }) => Promise<{ signature: string }>;
}

/** Makes a CommitSigner from an armored private key (decrypted with `passphrase` when it is locked). */
export async function commitSigner(armoredPrivateKey: string, passphrase?: string): Promise<CommitSigner> {
  let key = await openpgp.readPrivateKey({ armoredKey: armoredPrivateKey });
  if (!key.isDecrypted()) {
    if (!passphrase)
      throw new GitError(
        'GitSigningKeyLocked',
        'the signing key is protected by a passphrase, and none was given (STATUS_SIGNING_PASSPHRASE for restorectl run)',
        {},
      );
    key = await openpgp.decryptKey({ privateKey: key, passphrase });
  }
  const ready = key;
  return {
    signingKey: armoredPrivateKey,
    onSign: async ({ payload }) => {
      const message = await openpgp.createMessage({ binary: Buffer.from(payload, 'utf8') });
      const signature = await openpgp.sign({ message, signingKeys: ready, detached: true, format: 'armored' });
      return { signature: signature as string };
    },
  };
}
