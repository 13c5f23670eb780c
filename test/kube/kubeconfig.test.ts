// Loading a kubeconfig: the errors say which file or context, with a code to switch on.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isRestoreError } from '../../src/common/errors.ts';
import { KubeConfigError, loadKubeConfig } from '../../src/kube/kubeconfig.ts';

describe('kubeconfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'config');
  writeFileSync(
    file,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: c, cluster: {server: "http://127.0.0.1:1"}}]',
      'users: [{name: u, user: {}}]',
      'contexts: [{name: one, context: {cluster: c, user: u}}]',
      'current-context: one',
      '',
    ].join('\n'),
  );

  it('a file that cannot be read is KubeConfigUnreadable, naming the file', () => {
    const missing = join(dir, 'nope');
    assert.throws(
      () => loadKubeConfig({ kubeconfig: missing }),
      (e: unknown) => e instanceof KubeConfigError && isRestoreError(e, 'KubeConfigUnreadable') && e.data.file === missing && e.message.includes(missing),
    );
  });
  it('an unknown context is KubeContextNotFound, listing the contexts there are', () => {
    assert.throws(
      () => loadKubeConfig({ kubeconfig: file, context: 'two' }),
      (e: unknown) =>
        e instanceof KubeConfigError &&
        isRestoreError(e, 'KubeContextNotFound') &&
        e.data.context === 'two' &&
        /no context "two" \(it has: one;/.test(e.message),
    );
  });
  it('a plain-HTTP server is marked skipTLSVerify', () => {
    assert.equal(loadKubeConfig({ kubeconfig: file, context: 'one' }).getCurrentCluster()?.skipTLSVerify, true);
  });
});
