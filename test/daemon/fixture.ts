// What the daemon's server-side tests share: a sandbox with the CRDs, the examples' namespace and
// workloads, and a real smart-HTTP git server holding a repository of manifests.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { RestoreSession } from '../../src/api/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { WorkTree, startGitServer } from '../support/git-server.ts';
import type { GitServerAuth } from '@restore-controller/devkit/git-http-server';
import { startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

export const example = (name: string) => readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8');

export interface Fixture {
  t: TestSandbox;
  git: Awaited<ReturnType<typeof startGitServer>>;
  work: WorkTree;
  url: string;
  custom: k8s.CustomObjectsApi;
  coordination: k8s.CoordinationV1Api;
  /** Every managed RestoreSession in `namespace` (or all), `ns/name uid`. */
  sessions(namespace?: string): Promise<RestoreSession[]>;
  /** Lines of `git log --format=%s` of the status branch, newest first ([] before the first commit). */
  statusLog(): string[];
  close(): Promise<void>;
}

export const DEFAULT_FILES = { 'clusters/demo/repository.yaml': example('repository.yaml'), 'clusters/demo/sts-restore.yaml': example('sts-restore.yaml') };

export async function startFixture(files: Record<string, string> = DEFAULT_FILES, opts: { auth?: GitServerAuth } = {}): Promise<Fixture> {
  const t = await startSandbox();
  for (const args of [
    ['apply', '--server-side', '-f', 'deploy/crds'],
    ['apply', '-f', 'examples/cluster-state/namespace.yaml'],
    ['apply', '-f', 'examples/cluster-state/workloads.yaml'],
  ]) {
    const r = await t.kubectl(args);
    assert.equal(r.code, 0, r.stderr);
  }
  const git = await startGitServer(opts.auth);
  const url = git.server.createRepo('restores');
  // The work tree pushes by path: a synchronous push over HTTP to this process would deadlock.
  const work = new WorkTree(join(git.tmp, 'work'), git.server.repoPath('restores'));
  work.write(files).commit('Add restores');
  work.push();
  const custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
  return {
    t,
    git,
    work,
    url,
    custom,
    coordination: t.kc.makeApiClient(k8s.CoordinationV1Api),
    async sessions(namespace) {
      const list = namespace
        ? await custom.listNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace })
        : await custom.listClusterCustomObject({ ...RESTORE_SESSIONS });
      return (list as { items: RestoreSession[] }).items;
    },
    statusLog() {
      try {
        return git.server.git('restores', ['log', '--format=%s', 'restore-status']).trim().split('\n').filter(Boolean);
      } catch {
        return [];
      }
    },
    async close() {
      await t.stop();
      await git.close();
    },
  };
}
