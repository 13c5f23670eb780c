// Migrating from Stash (issue 18 §8): a session Stash created carries Stash's finalizer
// `stash.appscode.com`, which only Stash's operator removes; once it is gone, deleting such a
// session waits for ever. docs/migrating-from-stash.md says how to remove that finalizer, and
// only it: this runs the doc's own commands against a cluster and checks what they do.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { eventually } from '../support/sandbox.ts';
import { useSessionSandbox } from './session-sandbox.ts';

const DOC = readFileSync(new URL('../../docs/migrating-from-stash.md', import.meta.url), 'utf8');

/** The doc's first `sh` block: the commands a user runs. */
function docCommands(): string {
  const m = /```sh\n([\s\S]*?)```/.exec(DOC);
  assert.ok(m, 'docs/migrating-from-stash.md has an sh block');
  return m[1]!.replace(/^ {3}/gm, '');
}

function sh(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

describe('migrating from Stash: sessions with Stash finalizer', function () {
  this.timeout(60_000);
  const h = useSessionSandbox('stash-fin');

  it("the doc's commands remove Stash's finalizer, and only it, so a session Stash left behind can be deleted", async () => {
    const s = h.session('deployment-restore.yaml', 'left-by-stash');
    s.metadata.finalizers = ['example.com/keep', 'stash.appscode.com'];
    await h.apply(s);
    const deleted = await h.t.kubectl(['-n', h.ns, 'delete', 'restoresession', 'left-by-stash', '--wait=false']);
    assert.equal(deleted.code, 0, deleted.stderr);
    const stuck = await h.get('left-by-stash');
    assert.ok(stuck.metadata.deletionTimestamp, 'Terminating: Stash finalizer holds it');

    const r = await sh(docCommands(), { NS: h.ns, NAME: 'left-by-stash', KUBECONFIG: h.t.kubeconfigPath });
    assert.equal(r.code, 0, r.out);
    assert.deepEqual((await h.get('left-by-stash')).metadata.finalizers, ['example.com/keep'], 'the other finalizer stays');

    const again = await sh(docCommands(), { NS: h.ns, NAME: 'left-by-stash', KUBECONFIG: h.t.kubeconfigPath });
    assert.notEqual(again.code, 0, 'nothing to remove the second time: the command says so by failing, and changes nothing');
    assert.deepEqual((await h.get('left-by-stash')).metadata.finalizers, ['example.com/keep']);

    const last = await h.t.kubectl(['-n', h.ns, 'patch', 'restoresession', 'left-by-stash', '--type=merge', '-p', '{"metadata":{"finalizers":null}}']);
    assert.equal(last.code, 0, last.stderr);
    await eventually(async () => (await h.t.kubectl(['-n', h.ns, 'get', 'restoresession', 'left-by-stash'])).code !== 0);
  });

  it('the README links the migration guide, which lists the SPEC decisions and the unsupported Stash features', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    assert.match(readme, /\]\(docs\/migrating-from-stash\.md\)/);
    for (const heading of ['## Switching over', '## Deliberate differences', "## Stash's defaults kept", '## Stash features not supported'])
      assert.ok(DOC.includes(heading), heading);
    for (const decision of [
      'progress {bytesDone',
      'merges',
      'totalHosts',
      '`latest`',
      'executor is **stopped**',
      'No Pushgateway',
      'usagePolicy',
      'target.rules',
      'spec is immutable',
    ])
      assert.ok(DOC.includes(decision), decision);
  });
});
