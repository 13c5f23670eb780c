// Repository + Secret → restic repository string, environment, files and flags, per backend.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Backend } from '../../src/api/repository.ts';
import { resticBackend, writeBackendFiles } from '../../src/restic/backend.ts';
import { redact } from '../../src/common/redact.ts';
import { tempDir } from '../support/restic-repo.ts';

const scratch = '/scratch';
const PW = { RESTIC_PASSWORD: 'not-a-real-password' };

describe('restic backend: repository strings and environment', () => {
  const cases: { name: string; backend: Backend; secret: Record<string, string>; repository: string; env?: Record<string, string>; args?: string[] }[] = [
    { name: 'local with subPath', backend: { local: { mountPath: '/safe/data', subPath: 'demo/repo' } }, secret: PW, repository: '/safe/data/demo/repo' },
    { name: 'local without subPath', backend: { local: { mountPath: '/safe/data/' } }, secret: PW, repository: '/safe/data/' },
    {
      name: 's3 with endpoint, prefix, region, insecureTLS',
      backend: { s3: { endpoint: 'https://minio.example:9000', bucket: 'stash', prefix: '/demo/sts/', region: 'eu-west-1', insecureTLS: true } },
      secret: { ...PW, AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret-access-key' },
      repository: 's3:https://minio.example:9000/stash/demo/sts',
      env: { AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'secret-access-key', AWS_DEFAULT_REGION: 'eu-west-1' },
      args: ['--insecure-tls'],
    },
    { name: 's3 defaults to AWS and may use the pod identity', backend: { s3: { bucket: 'b' } }, secret: PW, repository: 's3:s3.amazonaws.com/b' },
    {
      name: 'gcs with maxConnections',
      backend: { gcs: { bucket: 'bkt', prefix: 'x/y', maxConnections: 4 } },
      secret: { ...PW, GOOGLE_PROJECT_ID: 'proj', GOOGLE_SERVICE_ACCOUNT_JSON_KEY: '{"type":"service_account"}' },
      repository: 'gs:bkt:/x/y',
      env: { GOOGLE_PROJECT_ID: 'proj', GOOGLE_APPLICATION_CREDENTIALS: '/scratch/gcs-service-account.json' },
      args: ['--option', 'gs.connections=4'],
    },
    {
      name: 'azure',
      backend: { azure: { container: 'c', prefix: 'p', maxConnections: 2 } },
      secret: { ...PW, AZURE_ACCOUNT_NAME: 'acct', AZURE_ACCOUNT_KEY: 'azure-key-value' },
      repository: 'azure:c:/p',
      env: { AZURE_ACCOUNT_NAME: 'acct', AZURE_ACCOUNT_KEY: 'azure-key-value' },
      args: ['--option', 'azure.connections=2'],
    },
    {
      name: 'swift passes ST_*/OS_* through',
      backend: { swift: { container: 'c', prefix: '/p' } },
      secret: { ...PW, OS_AUTH_URL: 'https://keystone', OS_USERNAME: 'u', OS_PASSWORD: 'swift-pass', UNRELATED: 'x' },
      repository: 'swift:c:/p',
      env: { OS_AUTH_URL: 'https://keystone', OS_USERNAME: 'u', OS_PASSWORD: 'swift-pass' },
    },
    {
      name: 'b2 with maxConnections 0 adds no option',
      backend: { b2: { bucket: 'b', prefix: 'p', maxConnections: 0 } },
      secret: { ...PW, B2_ACCOUNT_ID: 'id', B2_ACCOUNT_KEY: 'b2-key-value' },
      repository: 'b2:b:/p',
      env: { B2_ACCOUNT_ID: 'id', B2_ACCOUNT_KEY: 'b2-key-value' },
    },
    { name: 'rest without credentials', backend: { rest: { url: 'http://rest:8000/repo' } }, secret: PW, repository: 'rest:http://rest:8000/repo' },
    {
      name: 'rest with credentials puts them in the URL (restic 0.14 reads them only there)',
      backend: { rest: { url: 'https://rest.example/repo/' } },
      secret: { ...PW, REST_SERVER_USERNAME: 'user', REST_SERVER_PASSWORD: 'p@ss/word' },
      repository: 'rest:https://user:p%40ss%2Fword@rest.example/repo/',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const b = resticBackend(c.backend, c.secret, { scratchDir: scratch, secretName: 'storage' });
      assert.equal(b.repository, c.repository);
      assert.equal(b.env.RESTIC_REPOSITORY, c.repository);
      assert.equal(b.env.RESTIC_PASSWORD, PW.RESTIC_PASSWORD);
      for (const [k, v] of Object.entries(c.env ?? {})) assert.equal(b.env[k], v, k);
      assert.equal(b.env.UNRELATED, undefined);
      assert.deepEqual(b.globalArgs, c.args ?? []);
      const restPw = c.secret.REST_SERVER_PASSWORD;
      if (restPw)
        assert.ok(!b.displayRepository.includes(encodeURIComponent(restPw)) && !b.displayRepository.includes(restPw), 'display string hides the password');
    });
  }

  it('maps a local mountPath for the sandbox', () => {
    const b = resticBackend({ local: { mountPath: '/safe/data', subPath: 'r' } }, PW, { scratchDir: scratch, mapLocalPath: (p) => `/tmp/pod${p}` });
    assert.equal(b.repository, '/tmp/pod/safe/data/r');
  });

  it('writes the CA certificate to a file passed with --cacert', async () => {
    const dir = await tempDir('backend-files');
    try {
      const b = resticBackend(
        { s3: { bucket: 'b', endpoint: 'https://minio' } },
        { ...PW, CA_CERT_DATA: '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n' },
        { scratchDir: dir.path },
      );
      assert.deepEqual(b.globalArgs, ['--cacert', join(dir.path, 'ca.crt')]);
      await writeBackendFiles(b);
      assert.match(await readFile(join(dir.path, 'ca.crt'), 'utf8'), /BEGIN CERTIFICATE/);
      assert.equal((await stat(join(dir.path, 'ca.crt'))).mode & 0o777, 0o600);
    } finally {
      await dir.cleanup();
    }
  });

  it('accepts Secret values as bytes', () => {
    const b = resticBackend({ local: { mountPath: '/r' } }, { RESTIC_PASSWORD: Buffer.from('from-bytes') }, { scratchDir: scratch });
    assert.equal(b.env.RESTIC_PASSWORD, 'from-bytes');
  });
});

describe('restic backend: errors name the key, never the value', () => {
  const errs: { name: string; backend: Backend; secret: Record<string, string>; code: string; key?: string }[] = [
    {
      name: 'no RESTIC_PASSWORD',
      backend: { local: { mountPath: '/r' } },
      secret: { OTHER: 'topsecret-value' },
      code: 'SecretKeyMissing',
      key: 'RESTIC_PASSWORD',
    },
    {
      name: 'empty RESTIC_PASSWORD counts as missing',
      backend: { local: { mountPath: '/r' } },
      secret: { RESTIC_PASSWORD: '' },
      code: 'SecretKeyMissing',
      key: 'RESTIC_PASSWORD',
    },
    {
      name: 's3 with only one key',
      backend: { s3: { bucket: 'b' } },
      secret: { ...PW, AWS_ACCESS_KEY_ID: 'AKIAONLY' },
      code: 'SecretKeyMissing',
      key: 'AWS_SECRET_ACCESS_KEY',
    },
    {
      name: 'azure without key',
      backend: { azure: { container: 'c' } },
      secret: { ...PW, AZURE_ACCOUNT_NAME: 'azure-acct-name' },
      code: 'SecretKeyMissing',
      key: 'AZURE_ACCOUNT_KEY',
    },
    {
      name: 'b2 without account id',
      backend: { b2: { bucket: 'b' } },
      secret: { ...PW, B2_ACCOUNT_KEY: 'b2-secret' },
      code: 'SecretKeyMissing',
      key: 'B2_ACCOUNT_ID',
    },
    {
      name: 'swift without auth url',
      backend: { swift: { container: 'c' } },
      secret: { ...PW, OS_PASSWORD: 'pw-swift' },
      code: 'SecretKeyMissing',
      key: 'OS_AUTH_URL',
    },
    {
      name: 'rest with only a password',
      backend: { rest: { url: 'http://r' } },
      secret: { ...PW, REST_SERVER_PASSWORD: 'rest-pass' },
      code: 'SecretKeyMissing',
      key: 'REST_SERVER_USERNAME',
    },
    { name: 'no backend', backend: {}, secret: PW, code: 'BackendInvalid' },
    { name: 'two backends', backend: { local: { mountPath: '/r' }, s3: { bucket: 'b' } }, secret: PW, code: 'BackendInvalid' },
  ];
  for (const e of errs) {
    it(e.name, () => {
      try {
        resticBackend(e.backend, e.secret, { scratchDir: scratch, secretName: 'storage' });
        assert.fail('expected an error');
      } catch (err) {
        const x = err as { code: string; message: string; data: { key?: string } };
        assert.equal(x.code, e.code);
        if (e.key) {
          assert.equal(x.data.key, e.key);
          assert.ok(x.message.includes(e.key), x.message);
          assert.ok(x.message.includes('storage'), 'names the Secret');
        }
        for (const v of Object.values(e.secret)) if (v) assert.ok(!x.message.includes(v), `message leaks a value: ${x.message}`);
      }
    });
  }
});

describe('restic redaction', () => {
  it('masks every secret value, multi-line values line by line, and URL credentials', () => {
    const secrets = ['hunter22', '-----BEGIN KEY-----\nAAAABBBBCCCCDDDD\n-----END KEY-----'];
    const out = redact('password hunter22 wrong; key line AAAABBBBCCCCDDDD; rest:https://u:pw@host/x', secrets);
    assert.equal(out, 'password <redacted> wrong; key line <redacted>; rest:https://<redacted>@host/x');
  });
  it('masks the values resticBackend lists, including URL-encoded rest credentials', () => {
    const b = resticBackend(
      { rest: { url: 'https://r/' } },
      { RESTIC_PASSWORD: 'pw-value-1', REST_SERVER_USERNAME: 'me', REST_SERVER_PASSWORD: 'p@ss/word' },
      { scratchDir: scratch },
    );
    const msg = redact(`Fatal: unable to open ${b.repository} with pw-value-1 (p%40ss%2Fword)`, b.secrets);
    assert.ok(!msg.includes('pw-value-1') && !msg.includes('p%40ss%2Fword') && !msg.includes('p@ss/word'), msg);
  });
});
