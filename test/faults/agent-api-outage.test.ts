// An API blip as a host finishes never restores it twice (issue 17, item 4). The agent runs as a
// process (`restorectl agent restore`) against the sandbox over HTTP, with real restic; the
// outage is real: the sandbox stops listening, so requests fail with ECONNREFUSED. restic runs are
// counted through a PATH wrapper; a second wrapper in front of it holds the agent right after
// restic's restore has finished, so the outage starts exactly as the host finishes.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { REPO_ROOT } from '../support/cli.ts';
import { countResticRuns } from '../support/restic-counter.ts';
import type { ResticCounter } from '../support/restic-counter.ts';
import { makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { eventually, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const PASSWORD = 'outage test password';
const MARKER = '.restorectl-outcome.json';
const BIN = join(REPO_ROOT, 'bin/restorectl.js');
const example = (name: string) => parse(readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8'));

interface AgentRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

describe('faults: an API outage as a host finishes never restores it twice', function () {
  this.timeout(120_000);
  let t: TestSandbox;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let repoPath: string;
  let snapshotIds: string[];
  let custom: k8s.CustomObjectsApi;
  let counter: ResticCounter;
  /** The wrapper in front of the counting one: after a restore, touches `done` and waits for `go`. */
  let holdBin: string;

  const apply = async (obj: object) => {
    const r = await t.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], stringify(obj));
    assert.equal(r.code, 0, r.stderr);
  };
  const session = async (name: string) => (await custom.getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: 'demo', name })) as RestoreSession;
  const createSession = async (name: string) => {
    const s = example('deployment-restore.yaml');
    s.metadata.name = name;
    s.spec.target.ref.name = name; // a workload (and restore Lease) of its own
    delete s.spec.hooks;
    await apply(s);
    const got = await session(name);
    await custom.replaceNamespacedCustomObjectStatus({
      ...RESTORE_SESSIONS,
      namespace: 'demo',
      name,
      body: { ...got, status: { phase: 'Running', totalHosts: 1 } },
    });
  };
  /** A pod's root: the local backend's mountPath leads to the repository; `data` is the target volume's folder (a PVC). */
  const podRoot = (pod: string, data: string) => {
    const root = join(tmp.path, 'pods', pod);
    mkdirSync(join(root, 'safe'), { recursive: true });
    mkdirSync(join(root, 'source'), { recursive: true });
    mkdirSync(data, { recursive: true });
    if (!existsSync(join(root, 'safe', 'data'))) symlinkSync(repoPath, join(root, 'safe', 'data'));
    if (!existsSync(join(root, 'source', 'data'))) symlinkSync(data, join(root, 'source', 'data'));
    return root;
  };
  const gate = (name: string) => ({ done: join(tmp.path, `${name}.restored`), go: join(tmp.path, `${name}.go`) });
  /** Starts an agent for the session's host `app` in `root`; `hold` holds it after restic's restore. */
  const startAgent = (name: string, pod: string, root: string, extraEnv: Record<string, string> = {}, hold = false) => {
    const g = gate(name);
    const child = spawn(process.execPath, [BIN, 'agent', 'restore', '--session', `demo/${name}`, '--root', root, '--kubeconfig', t.kubeconfigPath], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        PATH: `${hold ? `${holdBin}:` : ''}${counterBin()}:${process.env['PATH']}`,
        POD_NAME: pod,
        HOLD_DONE: g.done,
        HOLD_GO: g.go,
        LOG_LEVEL: 'info',
        ...extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<AgentRun>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
    return { child, done };
  };
  const counterBin = () => counter.agentCommand[1]!.slice('PATH='.length).split(':')[0]!;
  const restoresOf = (pod: string) => counter.restores().filter((l) => l.startsWith(`${pod} `)).length;
  const warnings = (stderr: string) =>
    stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r['level'] === 'warn');

  before(async function () {
    await requireSeeding(this);
    tmp = await tempDir('agent-outage');
    ({ repoPath, snapshotIds } = await makeRepo({
      dir: tmp.path,
      password: PASSWORD,
      snapshots: [{ host: 'app', files: { '/source/data/app.json': '{"host":"app"}' } }],
    }));
    counter = await countResticRuns(tmp.path);
    holdBin = join(tmp.path, 'hold-bin');
    mkdirSync(holdBin, { recursive: true });
    // Runs the counting wrapper (the next `restic` in PATH), then holds a finished restore; with
    // HOLD_LS, a listing waits for `go` before it starts (the pin is then known only after the restore).
    writeFileSync(
      join(holdBin, 'restic'),
      `#!/bin/sh\nif [ "$1" = ls ] && [ -n "$HOLD_LS" ]; then\n  while [ ! -e "$HOLD_GO" ]; do sleep 0.05; done\nfi\n'${join(counterBin(), 'restic')}' "$@"\nrc=$?\nif [ "$1" = restore ]; then\n  touch "$HOLD_DONE"\n  while [ ! -e "$HOLD_GO" ]; do sleep 0.05; done\nfi\nexit $rc\n`,
    );
    chmodSync(join(holdBin, 'restic'), 0o755);
    t = await startSandbox();
    custom = t.kc.makeApiClient(k8s.CustomObjectsApi);
    assert.equal((await t.kubectl(['apply', '--server-side', '-f', 'deploy/crds'])).code, 0);
    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo' } });
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'local-repo-secret', namespace: 'demo' }, stringData: { RESTIC_PASSWORD: PASSWORD } });
    await apply(example('repository.yaml'));
  });
  after(async () => {
    await t?.sandbox.http.acceptConnections();
    await t?.stop();
    await tmp?.cleanup();
  });

  it('the final stat is written through an outage that starts as restic finishes: it lands, restic ran once, the agent exits 0', async () => {
    await createSession('outage');
    const g = gate('outage');
    const agent = startAgent('outage', 'app-outage', podRoot('app-outage', join(tmp.path, 'volumes', 'outage')), {}, true);
    try {
      await eventually(() => existsSync(g.done), 60_000, 50);
      await t.sandbox.http.refuseConnections();
      const down = Date.now();
      writeFileSync(g.go, '');
      await new Promise((r) => setTimeout(r, 3000));
      await t.sandbox.http.acceptConnections();
      console.log(`      API refused connections for ${Date.now() - down} ms`);
      const r = await agent.done;
      assert.equal(r.code, 0, r.stderr);
      const stat = (await session('outage')).status!.stats!.find((s) => s.hostname === 'app');
      assert.equal(stat?.phase, 'Succeeded', JSON.stringify(stat));
      assert.equal(stat?.snapshot, snapshotIds[0]);
      assert.equal(restoresOf('app-outage'), 1);
      assert.ok(!existsSync(join(tmp.path, 'volumes', 'outage', MARKER)), 'the marker is gone from the volume once the stat landed');
      // every retry is a warning naming the error
      const retries = warnings(r.stderr).filter((w) => w['code'] === 'ECONNREFUSED');
      assert.ok(retries.length > 0, r.stderr);
      console.log(`      ${retries.length} retries logged`);
    } finally {
      await t.sandbox.http.acceptConnections();
      writeFileSync(g.go, '');
      agent.child.kill('SIGKILL');
    }
  });

  it('an agent killed after restic finished but before its status write: the restarted container writes the stat, restic ran once', async () => {
    await createSession('killed');
    const root = podRoot('app-killed', join(tmp.path, 'volumes', 'killed'));
    const first = await startAgent('killed', 'app-killed', root, { RESTORECTL_FAILPOINT: 'agent-after-restore' }).done;
    assert.equal(first.signal, 'SIGKILL', `the first run was not killed at the failpoint: ${first.stderr}`);
    assert.equal((await session('killed')).status!.stats!.find((s) => s.hostname === 'app')?.phase, 'Running');
    const second = await startAgent('killed', 'app-killed', root).done;
    assert.equal(second.code, 0, second.stderr);
    const stat = (await session('killed')).status!.stats!.find((s) => s.hostname === 'app');
    assert.equal(stat?.phase, 'Succeeded', JSON.stringify(stat));
    assert.equal(stat?.snapshot, snapshotIds[0]);
    assert.equal(restoresOf('app-killed'), 1);
    assert.match(second.stderr, /recorded by an earlier run/);
    assert.ok(!existsSync(join(tmp.path, 'volumes', 'killed', MARKER)));
  });

  it('an outage that starts while restic restores an unpinned latest, before its pin is recorded: the restore is not stopped, a re-created pod writes its stat and restic ran once', async () => {
    await createSession('early');
    const g = gate('early');
    const volume = join(tmp.path, 'volumes', 'early');
    const agent = startAgent('early', 'app-early-1', podRoot('app-early-1', volume), { RESTORECTL_API_RETRY_SECONDS: '2', HOLD_LS: '1' }, true);
    let first: AgentRun;
    try {
      // restic restore latest has finished; the listing that gives the pin has not started
      await eventually(() => existsSync(g.done), 60_000, 50);
      await t.sandbox.http.refuseConnections();
      writeFileSync(g.go, '');
      first = await agent.done;
    } finally {
      await t.sandbox.http.acceptConnections();
      writeFileSync(g.go, '');
    }
    assert.equal(first.code, 1, first.stderr);
    assert.match(first.stderr, /ApiUnavailable/);
    const second = await startAgent('early', 'app-early-2', podRoot('app-early-2', volume)).done;
    assert.equal(second.code, 0, second.stderr);
    assert.equal(restoresOf('app-early-1') + restoresOf('app-early-2'), 1, 'restic restored the host twice');
    const stat = (await session('early')).status!.stats!.find((s) => s.hostname === 'app');
    assert.equal(stat?.phase, 'Succeeded', JSON.stringify(stat));
    assert.equal(stat?.snapshot, snapshotIds[0]);
    assert.match(second.stderr, /recorded by an earlier run/);
  });

  it("an outage longer than the agent's retry bound: it gives up with ApiUnavailable; a re-created pod on the same volume writes the stat and does not restore again", async () => {
    await createSession('long');
    const g = gate('long');
    const volume = join(tmp.path, 'volumes', 'long');
    const agent = startAgent('long', 'app-long-1', podRoot('app-long-1', volume), { RESTORECTL_API_RETRY_SECONDS: '2' }, true);
    let first: AgentRun;
    try {
      await eventually(() => existsSync(g.done), 60_000, 50);
      await t.sandbox.http.refuseConnections();
      writeFileSync(g.go, '');
      first = await agent.done;
    } finally {
      await t.sandbox.http.acceptConnections();
      writeFileSync(g.go, '');
    }
    const between = (await session('long')).status!.stats!.find((s) => s.hostname === 'app')?.phase;

    // A new pod (its own scratch) with the same target volume.
    const second = await startAgent('long', 'app-long-2', podRoot('app-long-2', volume)).done;
    assert.equal(restoresOf('app-long-1') + restoresOf('app-long-2'), 1, 'restic restored the host twice');
    assert.equal(first.code, 1, first.stderr);
    const gaveUp = first.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((r) => r['level'] === 'error' && r['code'] === 'ApiUnavailable');
    assert.ok(gaveUp, first.stderr);
    assert.equal(between, 'Running');
    assert.equal(second.code, 0, second.stderr);
    const stat = (await session('long')).status!.stats!.find((s) => s.hostname === 'app');
    assert.equal(stat?.phase, 'Succeeded', JSON.stringify(stat));
    assert.equal(stat?.snapshot, snapshotIds[0]);
    assert.ok(!existsSync(join(volume, MARKER)));
  });
});
