import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripUrlCredentials } from '../../src/common/index.ts';
import { GitRemote, authHeaders, credentialsFromDir, resolveCredentials } from '../../src/source/index.ts';

describe('git credentials (DESIGN §5)', function () {
  it('reads a Flux-style Secret folder, trimming the trailing newline', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rc-cred-'));
    try {
      writeFileSync(join(dir, 'username'), 'bot\n');
      writeFileSync(join(dir, 'password'), 'pat-123\n');
      assert.deepEqual(credentialsFromDir(dir), { username: 'bot', password: 'pat-123' });
      assert.throws(() => credentialsFromDir(join(dir, 'missing')), /no such folder/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('prefers the folder, then the environment, then the URL, and always returns a clean URL', () => {
    const url = 'https://u:p@git.example.com/r.git';
    assert.deepEqual(resolveCredentials(url, { env: {} }), { url: 'https://git.example.com/r.git', credentials: { username: 'u', password: 'p' } });
    assert.deepEqual(resolveCredentials(url, { env: { GIT_BEARER_TOKEN: 't' } }).credentials, { bearerToken: 't' });
    assert.deepEqual(resolveCredentials('https://git.example.com/r.git', { env: {} }), { url: 'https://git.example.com/r.git' });
    assert.equal(stripUrlCredentials('https://user:secret@h/x'), 'https://h/x');
  });

  it('sends a token alone in GIT_PASSWORD as basic auth with a placeholder user', () => {
    assert.equal(authHeaders({ password: 'pat' }).Authorization, 'Basic ' + Buffer.from('x-access-token:pat').toString('base64'));
    assert.equal(authHeaders({ bearerToken: 'tok' }).Authorization, 'Bearer tok');
  });

  it('scrubs every form of the secret from text', () => {
    const remote = new GitRemote({ url: 'https://git.example.com/r.git', env: { GIT_USERNAME: 'bot', GIT_PASSWORD: 'pa$$word' } });
    const b64 = Buffer.from('bot:pa$$word').toString('base64');
    assert.equal(remote.redact(`a pa$$word b pa%24%24word c ${b64} d https://bot:x@h/`), 'a <redacted> b <redacted> c <redacted> d https://<redacted>@h/');
  });
});
