// `restorectl run` as a process with the source's trust and selection options: --verify-keyring
// refuses an unsigned commit (nothing is applied), --include picks the manifest files, and
// --signing-key-file signs the status branch's commits.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { restorectl } from '../support/cli.ts';
import { WorkTree, makeKey, startGitServer } from '../support/git-server.ts';
import { startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');

describe('restorectl run: --verify-keyring, --include, --signing-key-file', function () {
  this.timeout(120_000);
  let t: TestSandbox;
  let git: Awaited<ReturnType<typeof startGitServer>>;
  let work: WorkTree;
  let url: string;
  let keys: { trusted: Awaited<ReturnType<typeof makeKey>>; status: Awaited<ReturnType<typeof makeKey>> };
  let pubPath: string;
  let statusKeyPath: string;

  const once = (extra: string[]) =>
    restorectl(
      [
        'run',
        '--once',
        '--git-url',
        url,
        '--path',
        'clusters/demo',
        '--cluster',
        'demo',
        '--kubeconfig',
        t.kubeconfigPath,
        '--cache-dir',
        join(git.tmp, 'cache'),
        ...extra,
      ],
      { env: { LOG_LEVEL: 'info' } },
    );
  const sessions = async () =>
    (
      (await t.kc.makeApiClient(k8s.CustomObjectsApi).listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo' })) as {
        items: { metadata: { name: string } }[];
      }
    ).items
      .map((s) => s.metadata.name)
      .sort();

  before(async () => {
    t = await startSandbox();
    for (const args of [
      ['apply', '--server-side', '-f', 'deploy/crds'],
      ['apply', '-f', 'examples/cluster-state/namespace.yaml'],
    ]) {
      const r = await t.kubectl(args);
      assert.equal(r.code, 0, r.stderr);
    }
    git = await startGitServer();
    url = git.server.createRepo('restores');
    keys = { trusted: await makeKey('Release Bot'), status: await makeKey('Status Writer') };
    pubPath = join(git.tmp, 'trusted.asc');
    writeFileSync(pubPath, keys.trusted.armoredPublic);
    statusKeyPath = join(git.tmp, 'status-key.asc');
    writeFileSync(statusKeyPath, keys.status.armoredPrivate);
    work = new WorkTree(join(git.tmp, 'work'), git.server.repoPath('restores'));
    work
      .write({
        'clusters/demo/repository.yaml': example('repository.yaml'),
        'clusters/demo/sts-restore.yaml': example('sts-restore.yaml'),
        'clusters/demo/drafts/deployment-restore.yaml': example('deployment-restore.yaml'),
      })
      .commit('Restores, unsigned');
    work.push();
  });
  after(async () => {
    await t?.stop();
    await git?.close();
  });

  it('refuses an unsigned commit: exit 1, the reason in the log, nothing created', async () => {
    const r = await once(['--verify-keyring', pubPath]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`${work.head().slice(0, 7)}.*(not signed|unsigned|signature)`, 'i'));
    assert.deepEqual(await sessions(), []);
  });

  it('applies the commit once it is signed by a trusted key, reading only the --include files, and signs the status branch', async () => {
    await work.signHead(keys.trusted.privateKey);
    work.push({ force: true });
    const r = await once(['--verify-keyring', pubPath, '--include', '*.yaml', '--signing-key-file', statusKeyPath]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await sessions(), ['sts-restore'], 'drafts/ is outside --include "*.yaml"');
    const status = git.server.git('restores', ['cat-file', 'commit', 'restore-status']);
    assert.match(status, /^gpgsig -----BEGIN PGP SIGNATURE-----/m);
    assert.doesNotMatch(r.stderr, /BEGIN PGP PRIVATE KEY/);
  });

  it('explains a keyring that is not one', async () => {
    const r = await once(['--verify-keyring', statusKeyPath.replace('status-key', 'missing')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--verify-keyring .*missing\.asc/);
  });
});
