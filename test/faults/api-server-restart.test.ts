// An API server failover as hosts finish never restores them twice, on the real engine (issue 17,
// item 4): kube-apiserver is SIGKILLed while every host of a StatefulSet (init-container model,
// the real agent in each pod, real restic) has just finished its restore and not yet written its
// stat, then started again on the same port and etcd. etcd, kube-controller-manager, the
// scheduler, the nodes' kubelets and the controller lose the API and must carry on once it is
// back; the agents' final writes meet refused connections and must land afterwards.
//
// Every `restic restore` is counted (test/support/restic-counter.ts); a second wrapper in front of
// it holds each agent right after restic's restore until the API server is down. The embedded
// engine's counterparts: test/faults/agent-api-outage.test.ts and daemon-faults.test.ts.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import type { RestoreSession } from '../../src/api/index.ts';
import { Controller } from '../../src/controller/index.ts';
import { RESTORE_SESSIONS } from '../../src/kube/resources.ts';
import { exampleManifest } from '../support/example-cluster.ts';
import { countResticRuns } from '../support/restic-counter.ts';
import type { ResticCounter } from '../support/restic-counter.ts';
import { makeRepo, requireSeeding, tempDir } from '../support/restic-repo.ts';
import { ENGINE, eventually, skipUnlessEngine, startEngine } from '../support/sandbox.ts';
import type { EngineSandbox } from '../support/sandbox.ts';

const PASSWORD = 'api failover password, never printed';
const NS = 'api-failover';
const HOSTS = 4;
const STS = 'failover-sts';
const ALIAS = 'failover';

describe('faults (real engine): kube-apiserver killed and restarted as hosts finish never restores twice', function () {
  this.timeout(600_000);
  let t: EngineSandbox;
  let tmp: { path: string; cleanup: () => Promise<void> };
  let counter: ResticCounter;
  let controller: Controller | undefined;
  let holdDir: string;
  let apiDown = false;
  const figures: string[] = [];

  const pods = Array.from({ length: HOSTS }, (_, i) => `${STS}-${i}`);
  const hosts = Array.from({ length: HOSTS }, (_, i) => `${ALIAS}-${i}`);
  const apply = async (obj: object) => {
    const r = await t.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], stringify(obj));
    assert.equal(r.code, 0, r.stderr);
  };
  const session = async () =>
    (await t.kc.makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...RESTORE_SESSIONS, namespace: NS, name: 'failover' })) as RestoreSession;
  /** The lines of a pod's stash-init container log, as the kubelet keeps it (appended across restarts). */
  const logLines = (pod: string) => {
    const file = join(t.dir, 'pods', NS, pod, 'containers', 'stash-init', 'log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  };
  /** The agent's log records (JSON lines). */
  const agentLog = (pod: string) =>
    logLines(pod)
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });
  const retries = (pod: string) => agentLog(pod).filter((r) => r['level'] === 'warn' && typeof r['code'] === 'string');

  before(async function () {
    if (ENGINE !== 'kube-apiserver') {
      process.stderr.write('      (skipped: real engine only, in `npm run test:kube`; the embedded counterparts are agent-api-outage and daemon-faults)\n');
      this.skip();
    }
    skipUnlessEngine(this);
    await requireSeeding(this);
    tmp = await tempDir('api-failover');
    const repo = await makeRepo({
      dir: tmp.path,
      password: PASSWORD,
      snapshots: hosts.map((host) => ({ host, files: { [`/source/data/${host}.json`]: `{"host":"${host}"}` } })),
    });
    counter = await countResticRuns(tmp.path);
    // In front of the counting wrapper: after a restore, the pod says so and waits for `go`.
    holdDir = join(tmp.path, 'hold');
    const holdBin = join(tmp.path, 'hold-bin');
    mkdirSync(holdDir, { recursive: true });
    mkdirSync(holdBin, { recursive: true });
    const counterBin = counter.agentCommand[1]!.slice('PATH='.length).split(':')[0]!;
    writeFileSync(
      join(holdBin, 'restic'),
      `#!/bin/sh\n'${join(counterBin, 'restic')}' "$@"\nrc=$?\nif [ "$1" = restore ]; then\n  touch '${holdDir}'/"$POD_NAME.restored"\n  while [ ! -e '${holdDir}/go' ]; do sleep 0.05; done\nfi\nexit $rc\n`,
    );
    chmodSync(join(holdBin, 'restic'), 0o755);
    const agentCommand = [...counter.agentCommand];
    agentCommand[1] = `PATH=${holdBin}:${agentCommand[1]!.slice('PATH='.length)}`;
    t = await startEngine({ agentCommand });
    assert.ok(t.kubeEngine, 'the real engine');

    await apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'local-repo-secret', namespace: NS }, stringData: { RESTIC_PASSWORD: PASSWORD } });
    const repository = exampleManifest('repository.yaml');
    repository.metadata.namespace = NS;
    repository.spec.backend.local.hostPath.path = repo.repoPath;
    await apply(repository);
    // Parallel pods, all rolled at once (maxUnavailable): every host restores, and finishes, together.
    await apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: STS, namespace: NS },
      spec: {
        replicas: HOSTS,
        serviceName: STS,
        podManagementPolicy: 'Parallel',
        updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: HOSTS } },
        selector: { matchLabels: { app: STS } },
        template: {
          metadata: { labels: { app: STS } },
          spec: {
            containers: [{ name: 'app', image: 'busybox', command: ['sleep', '3600'], volumeMounts: [{ name: 'source-data', mountPath: '/source/data' }] }],
          },
        },
        volumeClaimTemplates: [{ metadata: { name: 'source-data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    });
    controller = new Controller(t.controllerKc, { agent: { image: t.agentImage }, resyncMs: 500, pollMs: 200 });
    await controller.start();
  });
  after(async () => {
    if (holdDir) writeFileSync(join(holdDir, 'go'), '', { flag: 'a' });
    if (apiDown) await t?.kubeEngine?.startApiServer();
    await controller?.stop();
    await t?.stop();
    await tmp?.cleanup();
    if (figures.length) console.log(`      API server failover on the real engine:\n${figures.map((f) => `        ${f}`).join('\n')}`);
  });

  it(`${HOSTS} hosts finishing as kube-apiserver is killed and restarted: every host Succeeded, the session Succeeded, one restic restore per host`, async () => {
    await apply({
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      metadata: { name: 'failover', namespace: NS },
      spec: {
        repository: { name: 'local-repo' },
        target: {
          alias: ALIAS,
          ref: { apiVersion: 'apps/v1', kind: 'StatefulSet', name: STS },
          volumeMounts: [{ name: 'source-data', mountPath: '/source/data' }],
          rules: [{ paths: ['/source/data'] }],
        },
      },
    });
    // Every host has restored and waits to write its stat.
    const started = Date.now();
    await eventually(() => pods.every((p) => existsSync(join(holdDir, `${p}.restored`))), 300_000, 200);
    const allRestored = Date.now() - started;
    assert.ok(
      pods.every((p) => (counter.restoresByPod()[p] ?? 0) === 1),
      JSON.stringify(counter.restoresByPod()),
    );

    const engine = t.kubeEngine!;
    const killedAt = Date.now();
    await engine.stopApiServer('kill');
    apiDown = true;
    writeFileSync(join(holdDir, 'go'), '');
    // Down until every agent's final write has met the outage (a retry logged), at most 30 s.
    await eventually(() => pods.every((p) => retries(p).length > 0), 30_000, 100).catch(() => undefined);
    const metOutage = pods.filter((p) => retries(p).length > 0);
    const restartAt = Date.now();
    await engine.startApiServer();
    apiDown = false;
    const backAt = Date.now();

    const done = await eventually(
      async () => {
        const s = await session();
        return s.status?.phase === 'Succeeded' || s.status?.phase === 'Failed' ? s : undefined;
      },
      240_000,
      250,
    );
    const recovered = Date.now() - backAt;
    const byPod = counter.restoresByPod();
    const doubles = pods.reduce((n, p) => n + Math.max(0, (byPod[p] ?? 0) - 1), 0);
    const core = t.kc.makeApiClient(k8s.CoreV1Api);
    const restarts = await Promise.all(
      pods.map(async (p) => {
        const pod = await core.readNamespacedPod({ namespace: NS, name: p }).catch(() => undefined);
        return pod?.status?.initContainerStatuses?.find((c) => c.name === 'stash-init')?.restartCount ?? 0;
      }),
    );
    figures.push(
      `${HOSTS} hosts (StatefulSet, Parallel, init-container model) restored in ${(allRestored / 1000).toFixed(1)}s, then kube-apiserver SIGKILLed`,
      `API down ${((backAt - killedAt) / 1000).toFixed(1)}s (restart to ready ${((backAt - restartAt) / 1000).toFixed(1)}s); agents whose final write met the outage: ${metOutage.length}/${HOSTS} (${pods.map((p) => `${p}: ${retries(p).length} retries ${[...new Set(retries(p).map((r) => r['code']))].join('/')}`).join(', ')})`,
      `restic restores per host: ${pods.map((p) => `${p}=${byPod[p] ?? 0}`).join(' ')}; doubles: ${doubles}; stash-init restarts: ${restarts.join(' ')}`,
      `recovery (API ready → session ${done.status?.phase}): ${(recovered / 1000).toFixed(1)}s`,
      ...pods.flatMap((p, i) =>
        restarts[i]
          ? [
              `${p}'s stash-init ran again after: ${[
                ...agentLog(p)
                  .filter((r) => r['level'] === 'error')
                  .map((r) => `${r['code'] ?? ''} ${String(r['msg']).slice(0, 300)}`),
                ...logLines(p)
                  .filter((l) => !l.startsWith('{'))
                  .slice(-6),
              ].join(' | ')}`,
            ]
          : [],
      ),
    );

    assert.equal(done.status?.phase, 'Succeeded', JSON.stringify(done.status, null, 1));
    assert.deepEqual(done.status?.stats?.map((s) => `${s.hostname}=${s.phase}`).sort(), hosts.map((h) => `${h}=Succeeded`).sort());
    assert.equal(doubles, 0, counter.restores().join('\n'));
    assert.deepEqual(
      pods.map((p) => byPod[p] ?? 0),
      pods.map(() => 1),
    );
    assert.equal(metOutage.length, HOSTS, 'every agent met the outage with its final write (else the test proved nothing for it)');
    // Each agent rode through it: none exited and ran again (it did on a 403 from the API server warming up).
    assert.deepEqual(
      restarts,
      pods.map(() => 0),
      figures.join('\n'),
    );
    for (const h of hosts) {
      const i = hosts.indexOf(h);
      const restored = readFileSync(join(t.dir, 'volumes', NS, `source-data-${pods[i]}`, `${h}.json`), 'utf8');
      assert.equal(restored, `{"host":"${h}"}`);
    }
  });
});
