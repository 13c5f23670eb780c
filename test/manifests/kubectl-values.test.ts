// Issue 18 item 7: YAML as kubectl reads it. The loader's values for a sample of manifests are
// compared with kubectl's own reading of the same files (`kubectl label --local -o json`, which
// decodes the files exactly as `kubectl apply` does, with sigs.k8s.io/yaml, and needs no cluster:
// `apply --dry-run=client` still asks a server for discovery).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic, loadObjects } from '../../src/manifests/index.ts';

const DIR = fileURLToPath(new URL('./fixtures/kubectl/', import.meta.url));
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function kubectl(file: string): unknown[] {
  let out: string;
  try {
    // `probe-` removes a label that is not there: the objects come back as kubectl read them.
    out = execFileSync('kubectl', ['label', '--local', '-f', file, 'probe-', '-o', 'json'], {
      env: { ...process.env, KUBECONFIG: '/dev/null' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    // The project installs kubectl before the tests (scripts/install-deps.sh): its absence is a failure, not a skip.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new Error('kubectl is not installed: run scripts/install-deps.sh (npm test does)');
    throw e;
  }
  // One JSON object per document, one after the other.
  const objects: unknown[] = [];
  let depth = 0;
  let start = 0;
  let inString = false;
  for (let i = 0; i < out.length; i++) {
    const c = out[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' && --depth === 0) objects.push(JSON.parse(out.slice(start, i + 1)));
  }
  return objects;
}

describe('loading: values as kubectl reads them (issue 18 item 7)', () => {
  for (const name of FILES) {
    it(`reads ${name} as kubectl does`, () => {
      const theirs = kubectl(`${DIR}${name}`);
      const loaded = loadObjects([{ path: name, text: readFileSync(`${DIR}${name}`, 'utf8') }]);
      assert.deepEqual(
        loaded.diagnostics.filter((d) => d.severity === 'error'),
        [],
        loaded.diagnostics.map(formatDiagnostic).join('\n'),
      );
      // JSON both ways: -0 and 0 are one number to JSON, and kubectl adds an empty labels map.
      const ours = loaded.manifests.map((m) => JSON.parse(JSON.stringify(m.object)));
      for (const o of theirs as { metadata: { labels?: object } }[]) if (o.metadata.labels && !Object.keys(o.metadata.labels).length) delete o.metadata.labels;
      assert.deepEqual(ours, theirs);
    });
  }
});
