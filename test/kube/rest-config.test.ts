// Where the agent's small REST client connects (src/kube/rest-config.ts): a kubeconfig as kubectl
// reads it (relative paths from the file's folder, -data fields, contexts, token files read again
// for every request), the pod's service account, and client-node for what it does not read.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { isRestoreError } from '../../src/common/errors.ts';
import { KubeConfigError } from '../../src/kube/kubeconfig-error.ts';
import { inCluster, restConnection } from '../../src/kube/rest-config.ts';

describe('rest-config: the connection of the agent’s REST client', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rest-config-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const kubeconfig = (doc: object, asJson = false): string => {
    const file = join(dir, `config-${n++}`);
    writeFileSync(file, asJson ? JSON.stringify(doc) : stringify(doc));
    return file;
  };
  const config = (cluster: object, user: object, extra: object = {}) => ({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://api.example:6443/', ...cluster } }],
    users: [{ name: 'u', user }],
    contexts: [
      { name: 'one', context: { cluster: 'c', user: 'u' } },
      { name: 'two', context: { cluster: 'c', user: 'nobody' } },
    ],
    'current-context': 'one',
    ...extra,
  });

  it('reads certificate files relative to the kubeconfig’s folder, and -data fields as base64', async () => {
    mkdirSync(join(dir, 'pki'), { recursive: true });
    writeFileSync(join(dir, 'pki', 'ca.crt'), 'CA PEM');
    writeFileSync(join(dir, 'pki', 'client.crt'), 'CERT PEM');
    const file = kubeconfig(
      config(
        { 'certificate-authority': 'pki/ca.crt', 'tls-server-name': 'kubernetes' },
        { 'client-certificate': 'pki/client.crt', 'client-key-data': Buffer.from('KEY PEM').toString('base64') },
      ),
    );
    const c = await restConnection({ kubeconfig: file });
    assert.equal(c.server, 'https://api.example:6443');
    assert.equal(c.tls.ca?.toString(), 'CA PEM');
    assert.equal(c.tls.cert?.toString(), 'CERT PEM');
    assert.equal(c.tls.key?.toString(), 'KEY PEM');
    assert.equal(c.tls.servername, 'kubernetes');
    assert.equal(c.tls.rejectUnauthorized, undefined, 'certificates are verified unless the kubeconfig says insecure-skip-tls-verify');
    assert.deepEqual(await c.headers(), {});
    assert.equal(c.source, `kubeconfig ${file}`);
  });

  it('reads a token file again for every request (the kubelet rotates it), JSON kubeconfigs too', async () => {
    const token = join(dir, 'token');
    writeFileSync(token, 'first\n');
    const c = await restConnection({ kubeconfig: kubeconfig(config({ 'insecure-skip-tls-verify': true }, { tokenFile: token }), true) });
    assert.equal(c.tls.rejectUnauthorized, false);
    assert.deepEqual(await c.headers(), { Authorization: 'Bearer first' });
    writeFileSync(token, 'second');
    assert.deepEqual(await c.headers(), { Authorization: 'Bearer second' });
    rmSync(token);
    await assert.rejects(
      async () => c.headers(),
      (e: unknown) => isRestoreError(e, 'KubeConfigUnreadable') && /tokenFile.*ENOENT/.test((e as Error).message),
    );
  });

  it('basic auth and impersonation become headers', async () => {
    const c = await restConnection({ kubeconfig: kubeconfig(config({}, { username: 'ann', password: 'pw', as: 'bob' })) });
    assert.deepEqual(await c.headers(), { Authorization: `Basic ${Buffer.from('ann:pw').toString('base64')}`, 'Impersonate-User': 'bob' });
  });

  it('--context picks a context; an unknown one is KubeContextNotFound, listing those there are', async () => {
    const file = kubeconfig(config({}, { token: 't' }));
    assert.deepEqual(await (await restConnection({ kubeconfig: file, context: 'two' })).headers(), {}, 'context two has a user the file lacks: no credentials');
    await assert.rejects(
      restConnection({ kubeconfig: file, context: 'three' }),
      (e: unknown) => e instanceof KubeConfigError && e.code === 'KubeContextNotFound' && /it has: one, two/.test(e.message) && e.data.file === file,
    );
  });

  it('a file without a usable current context, or unreadable, is KubeConfigUnreadable naming the file', async () => {
    const noContext = kubeconfig(config({}, {}, { 'current-context': undefined }));
    await assert.rejects(
      restConnection({ kubeconfig: noContext }),
      (e: unknown) => isRestoreError(e, 'KubeConfigUnreadable') && (e as Error).message.includes(noContext) && /no current-context/.test((e as Error).message),
    );
    const missing = join(dir, 'missing');
    await assert.rejects(
      restConnection({ kubeconfig: missing }),
      (e: unknown) => isRestoreError(e, 'KubeConfigUnreadable') && (e as Error).message.includes(missing),
    );
    const notYaml = join(dir, 'broken');
    writeFileSync(notYaml, 'clusters: [\n');
    await assert.rejects(
      restConnection({ kubeconfig: notYaml }),
      (e: unknown) => isRestoreError(e, 'KubeConfigUnreadable') && /not YAML or JSON/.test((e as Error).message),
    );
  });

  it('an exec plugin (what only client-node runs) goes through client-node, which runs it', async () => {
    const plugin = join(dir, 'plugin.sh');
    writeFileSync(plugin, `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin"}}'\n`, {
      mode: 0o755,
    });
    const file = kubeconfig(
      config({ 'insecure-skip-tls-verify': true }, { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: plugin, interactiveMode: 'Never' } }),
    );
    const c = await restConnection({ kubeconfig: file });
    assert.match(c.source, /client-node/);
    assert.equal(c.server, 'https://api.example:6443');
    assert.equal((await c.headers())['Authorization'], 'Bearer from-plugin');
  });

  it('$KUBECONFIG names the file; two files to merge go through client-node', async () => {
    const a = kubeconfig(config({}, { token: 'a' }));
    assert.deepEqual(await (await restConnection({ env: { KUBECONFIG: a } })).headers(), { Authorization: 'Bearer a' });
    const b = kubeconfig({
      clusters: [{ name: 'c-b', cluster: { server: 'https://b.example' } }],
      users: [{ name: 'u-b', user: { token: 'b' } }],
      contexts: [{ name: 'b', context: { cluster: 'c-b', user: 'u-b' } }],
    });
    const merged = await restConnection({ env: { KUBECONFIG: `${a}:${b}` } });
    assert.match(merged.source, /client-node/);
    assert.deepEqual(await merged.headers(), { Authorization: 'Bearer a' });
  });

  describe('in a pod: the service account', () => {
    const sa = join(dir, 'serviceaccount');
    before(() => {
      mkdirSync(sa, { recursive: true });
      writeFileSync(join(sa, 'ca.crt'), 'SA CA');
      writeFileSync(join(sa, 'token'), 'sa-token');
    });

    it('without a kubeconfig, KUBERNETES_SERVICE_HOST/PORT with the token (read per request) and the CA', async () => {
      const home = join(dir, 'home-without-kube');
      mkdirSync(home, { recursive: true });
      const c = await restConnection({ env: { HOME: home, KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa });
      assert.equal(c.server, 'https://10.0.0.1:443');
      assert.equal(c.tls.ca?.toString(), 'SA CA');
      assert.deepEqual(await c.headers(), { Authorization: 'Bearer sa-token' });
      writeFileSync(join(sa, 'token'), 'rotated');
      assert.deepEqual(await c.headers(), { Authorization: 'Bearer rotated' });
    });

    it('an IPv6 host is bracketed; ports 80, 8080 and 8001 are plain HTTP, as client-node has it', () => {
      assert.equal(inCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa).server, 'https://[fd00::1]:443');
      assert.equal(inCluster({ KUBERNETES_SERVICE_HOST: 'api', KUBERNETES_SERVICE_PORT: '8080' }, sa).server, 'http://api:8080');
    });

    it('no kubeconfig and no service account token is KubeConfigUnreadable, saying what to pass', async () => {
      await assert.rejects(
        restConnection({ env: { HOME: join(dir, 'nowhere') }, serviceAccountDir: join(dir, 'no-sa') }),
        (e: unknown) =>
          isRestoreError(e, 'KubeConfigUnreadable') && /no kubeconfig .* and no service account token .*pass --kubeconfig/.test((e as Error).message),
      );
    });

    it('a service account without KUBERNETES_SERVICE_HOST says what is missing', () => {
      assert.throws(
        () => inCluster({}, sa),
        (e: unknown) =>
          isRestoreError(e, 'KubeConfigUnreadable') && /KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/.test((e as Error).message),
      );
    });
  });
});
