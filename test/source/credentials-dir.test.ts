import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentialsFromDir } from '../../src/source/index.ts';

describe('--git-credentials-dir', () => {
  it('an empty folder (an optional Secret that does not exist) means no credentials', () => {
    const dir = mkdtempSync(join(tmpdir(), 'creds-'));
    try {
      assert.deepEqual(credentialsFromDir(dir), {});
      writeFileSync(join(dir, 'token'), 'x');
      assert.throws(() => credentialsFromDir(dir), /holds none of the files username, password, bearerToken \(found: token\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
