import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { PodTemplateSpec } from '../../src/api/core.ts';
import type { Repository, RestoreSession } from '../../src/api/index.ts';
import { INIT_CONTAINER_NAME, TOKEN_VOLUME, agentContainer, agentVolumes } from '../../src/controller/agent-container.ts';
import { claimsForOrdinal } from '../../src/controller/claims.ts';
import { injectInitContainer, removeInjection } from '../../src/controller/injection.ts';
import { restoreJob } from '../../src/controller/job.ts';
import { dnsLabel, restoreJobName } from '../../src/session/names.ts';

const example = (name: string) => parse(readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8'));
const repo = example('repository.yaml') as Repository;
const sts = example('sts-restore.yaml') as RestoreSession;
const agent = { image: 'restorectl:test' };

const template = (): PodTemplateSpec => ({
  metadata: { labels: { app: 'db' } },
  spec: {
    containers: [{ name: 'app', image: 'busybox', volumeMounts: [{ name: 'source-data', mountPath: '/source/data' }] }],
    initContainers: [{ name: 'migrate', image: 'busybox' }],
    imagePullSecrets: [{ name: 'team-registry' }],
  },
});

function injection(session: RestoreSession, hash = 'h1') {
  return {
    container: agentContainer({ session, repository: repo, agent, name: INIT_CONTAINER_NAME, hostFrom: 'pod', dataMounts: session.spec.target!.volumeMounts! }),
    volumes: agentVolumes(session, repo),
    specHash: hash,
    session: 'demo/sts-restore',
    imagePullSecrets: [{ name: 'agent-registry' }, { name: 'team-registry' }],
  };
}

describe('init-container injection', () => {
  it('prepends stash-init, adds its volumes and the spec hash, merges pull secrets', () => {
    const out = injectInitContainer(template(), injection(sts));
    assert.deepEqual(
      out.spec.initContainers!.map((c) => c.name),
      ['stash-init', 'migrate'],
    );
    const init = out.spec.initContainers![0]!;
    assert.deepEqual(init.args, ['agent', 'restore', '--session', 'demo/sts-restore', '--host-from', 'pod']);
    assert.deepEqual(
      init.volumeMounts!.map((m) => m.mountPath),
      ['/source/data', '/tmp', '/etc/stash/podinfo', '/safe/data'],
    );
    assert.deepEqual(
      out.spec.volumes!.map((v) => v.name),
      ['stash-scratchdir', 'stash-podinfo', 'stash-local-backend'],
    );
    assert.deepEqual(out.spec.volumes![2], { name: 'stash-local-backend', hostPath: { path: '/data/stash-test/restic-repo' } });
    assert.deepEqual(out.spec.imagePullSecrets, [{ name: 'team-registry' }, { name: 'agent-registry' }]);
    assert.equal(out.metadata!.annotations!['restore.gitops/restore-spec-hash'], 'h1');
  });

  it('labels the pods with the session (the controller watches them by label) and takes the label off again', () => {
    const out = injectInitContainer(template(), injection(sts));
    assert.deepEqual(out.metadata!.labels, { app: 'db', 'restore.gitops/session': 'sts-restore' });
    assert.deepEqual(removeInjection(out).metadata, { labels: { app: 'db' } });
    // A label of that name the owner set is theirs: kept, and kept on removal.
    const own = template();
    own.metadata!.labels!['restore.gitops/session'] = 'theirs';
    assert.equal(removeInjection(injectInitContainer(own, injection(sts))).metadata!.labels!['restore.gitops/session'], 'theirs');
  });

  it('injecting the same session twice changes nothing (no second roll)', () => {
    const once = injectInitContainer(template(), injection(sts));
    assert.deepEqual(injectInitContainer(once, injection(sts)), once);
  });

  it('removal gives back the template exactly as it was', () => {
    for (const before of [template(), { spec: { containers: [{ name: 'app' }] } } as PodTemplateSpec]) {
      const after = removeInjection(injectInitContainer(before, injection(sts)));
      assert.equal(JSON.stringify(after), JSON.stringify(before));
    }
  });

  it('never puts probes or lifecycle hooks on an init container', () => {
    const s = structuredClone(sts);
    s.spec.runtimeSettings = { container: { livenessProbe: { exec: { command: ['true'] } }, resources: { limits: { cpu: '1' } } } };
    const c = injection(s).container;
    assert.equal(c.livenessProbe, undefined);
    assert.deepEqual(c.resources, { limits: { cpu: '1' } });
  });
});

describe('restore Jobs', () => {
  const pvc = example('pvc-restore.yaml') as RestoreSession;
  pvc.metadata.uid = 'uid-1';

  it('one Job per ordinal: backoffLimit 0, restartPolicy Never, owned by the session, PVCs and POD_ORDINAL resolved', () => {
    const job = restoreJob({ session: pvc, repository: repo, agent, index: 2 }) as any;
    assert.equal(job.metadata.name, 'stash-restore-pvc-restore-2');
    assert.equal(job.spec.backoffLimit, 0);
    assert.equal(job.spec.template.spec.restartPolicy, 'Never');
    assert.deepEqual(job.metadata.ownerReferences[0], {
      apiVersion: 'stash.appscode.com/v1beta1',
      kind: 'RestoreSession',
      name: 'pvc-restore',
      uid: 'uid-1',
      controller: true,
      blockOwnerDeletion: true,
    });
    const c = job.spec.template.spec.containers[0];
    assert.ok(c.env.some((e: any) => e.name === 'POD_ORDINAL' && e.value === '2'));
    assert.deepEqual(c.volumeMounts[0], { name: 'data-restore-demo-2', mountPath: '/source/data' });
    assert.deepEqual(job.spec.template.spec.volumes[0], { name: 'data-restore-demo-2', persistentVolumeClaim: { claimName: 'data-restore-demo-2' } });
    assert.deepEqual(
      claimsForOrdinal(pvc, 2).map((c) => c.metadata.name),
      ['data-restore-demo-2'],
    );
  });

  it('maps runtimeSettings.pod onto the pod and merges imagePullSecrets', () => {
    const s = structuredClone(pvc);
    s.spec.runtimeSettings = { pod: { serviceAccountName: 'restorer', nodeSelector: { zone: 'a' }, imagePullSecrets: [{ name: 'mine' }] } };
    const job = restoreJob({ session: s, repository: repo, agent: { ...agent, imagePullSecrets: [{ name: 'agent' }, { name: 'mine' }] }, index: 0 }) as any;
    const pod = job.spec.template.spec;
    assert.equal(pod.serviceAccountName, 'restorer');
    assert.deepEqual(pod.nodeSelector, { zone: 'a' });
    assert.deepEqual(pod.imagePullSecrets, [{ name: 'mine' }, { name: 'agent' }]);
  });

  it('names are DNS labels of at most 63 characters, distinct when shortened', () => {
    const long = 'a'.repeat(70);
    const a = restoreJobName(long, 1);
    const b = restoreJobName(long, 2);
    assert.ok(a.length <= 63 && b.length <= 63);
    assert.notEqual(a, b);
    assert.match(a, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    assert.equal(dnsLabel('Stash', 'Restore_X'), 'stash-restore-x');
  });
});

describe("stash-init's own ServiceAccount token (pods with automountServiceAccountToken: false)", () => {
  const noToken = (): PodTemplateSpec => ({ ...template(), spec: { ...template().spec, automountServiceAccountToken: false } });
  const SA_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

  it('mounts a projected token on stash-init only, and removal takes it away with the rest', () => {
    const out = injectInitContainer(noToken(), injection(sts));
    const mounts = (name: string) => [...(out.spec.initContainers ?? []), ...out.spec.containers].find((c) => c.name === name)!.volumeMounts ?? [];
    assert.deepEqual(
      mounts('stash-init').filter((m) => m.mountPath === SA_PATH),
      [{ name: TOKEN_VOLUME, mountPath: SA_PATH, readOnly: true }],
    );
    assert.ok(!mounts('app').some((m) => m.mountPath === SA_PATH) && !mounts('migrate').some((m) => m.mountPath === SA_PATH));
    const projected = out.spec.volumes!.find((v) => v.name === TOKEN_VOLUME)!['projected'] as { sources: object[] };
    assert.deepEqual(
      projected.sources.map((s) => Object.keys(s)[0]),
      ['serviceAccountToken', 'configMap', 'downwardAPI'],
    );
    assert.equal(out.spec.automountServiceAccountToken, false);
    assert.deepEqual(removeInjection(out), noToken());
  });

  it('leaves pods that get the token alone', () => {
    const injected = injectInitContainer(template(), injection(sts));
    assert.ok(!(injected.spec.volumes ?? []).some((v) => v.name === TOKEN_VOLUME), 'no token volume of its own');
  });
});
