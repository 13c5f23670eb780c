// The examples' cluster on a test sandbox, as the end-to-end tests start from it: the CRDs, the
// `demo` namespace and workloads of examples/cluster-state, the repository's password Secret and,
// when a restic repository is given, the example Repository pointing at it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { EngineSandbox } from './sandbox.ts';
import { REPO_ROOT } from './sandbox.ts';

/** Parsed `examples/clusters/demo/<name>`. */
export const exampleManifest = (name: string) => parse(readFileSync(join(REPO_ROOT, 'examples', 'clusters', 'demo', name), 'utf8'));

export async function applyExampleCluster(t: EngineSandbox, opts: { password: string; repoPath?: string }): Promise<void> {
  const apply = async (yaml: string) => {
    const r = await t.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], yaml);
    assert.equal(r.code, 0, r.stderr);
  };
  const crds = await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds']);
  assert.equal(crds.code, 0, crds.stderr);
  await apply(readFileSync(join(REPO_ROOT, 'examples/cluster-state/namespace.yaml'), 'utf8'));
  await apply(readFileSync(join(REPO_ROOT, 'examples/cluster-state/workloads.yaml'), 'utf8'));
  await apply(
    stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'local-repo-secret', namespace: 'demo' }, stringData: { RESTIC_PASSWORD: opts.password } }),
  );
  if (opts.repoPath) {
    const repository = exampleManifest('repository.yaml');
    repository.spec.backend.local.hostPath.path = opts.repoPath;
    await apply(stringify(repository));
  }
}
