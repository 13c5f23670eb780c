// Stash's defaults for the restore agent (issue 18 §3): stash-init and the restore Job's container
// run as uid and gid 0 unless runtimeSettings says otherwise (Stash's init_container.go and
// restore_job.go), and a pod without an automounted token still gives the agent one.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { PodTemplateSpec } from '../../src/api/core.ts';
import type { Repository, RestoreSession } from '../../src/api/index.ts';
import { INIT_CONTAINER_NAME, TOKEN_MOUNT_PATH, TOKEN_VOLUME, agentContainer, agentVolumes, tokenAutomounted } from '../../src/controller/agent-container.ts';
import { injectInitContainer, removeInjection } from '../../src/controller/injection.ts';
import { restoreJob } from '../../src/controller/job.ts';

const example = (name: string) => parse(readFileSync(new URL(`../../examples/clusters/demo/${name}`, import.meta.url), 'utf8'));
const repo = example('repository.yaml') as Repository;
const sts = example('sts-restore.yaml') as RestoreSession;
// As read from the API: a restore Job is owned by its session's uid.
const pvc = { ...example('pvc-restore.yaml'), metadata: { ...example('pvc-restore.yaml').metadata, uid: 'uid-pvc' } } as RestoreSession;
const agent = { image: 'restorectl:test' };

const initContainer = (s: RestoreSession) =>
  agentContainer({ session: s, repository: repo, agent, name: INIT_CONTAINER_NAME, hostFrom: 'pod', dataMounts: s.spec.target!.volumeMounts ?? [] });
const jobPod = (s: RestoreSession) => (restoreJob({ session: s, repository: repo, agent, index: 0 }) as any).spec.template.spec;

describe('agent defaults: uid/gid 0 as in Stash', () => {
  it('stash-init and the Job container run as root by default', () => {
    assert.deepEqual(initContainer(sts).securityContext, { runAsUser: 0, runAsGroup: 0 });
    assert.deepEqual(jobPod(pvc).containers[0].securityContext, { runAsUser: 0, runAsGroup: 0 });
  });

  it('runtimeSettings.container.securityContext is merged over it field by field (how to run non-root)', () => {
    const s = structuredClone(sts);
    s.spec.runtimeSettings = { container: { securityContext: { runAsUser: 1000, runAsNonRoot: true } } };
    assert.deepEqual(initContainer(s).securityContext, { runAsUser: 1000, runAsGroup: 0, runAsNonRoot: true });
    const j = structuredClone(pvc);
    j.spec.runtimeSettings = { container: { securityContext: { runAsUser: 1000, runAsGroup: 1000 } } };
    assert.deepEqual(jobPod(j).containers[0].securityContext, { runAsUser: 1000, runAsGroup: 1000 });
  });

  it("a Job's runtimeSettings.pod.securityContext user and group are not overridden by the container", () => {
    const j = structuredClone(pvc);
    j.spec.runtimeSettings = { pod: { securityContext: { runAsUser: 2000, fsGroup: 2000 } } };
    const pod = jobPod(j);
    assert.deepEqual(pod.securityContext, { runAsUser: 2000, fsGroup: 2000 });
    assert.deepEqual(pod.containers[0].securityContext, { runAsGroup: 0 });
  });
});

describe('agent defaults: a token for the agent when the pod automounts none', () => {
  const template = (automount?: boolean): PodTemplateSpec => ({
    metadata: { labels: { app: 'db' } },
    spec: { ...(automount === undefined ? {} : { automountServiceAccountToken: automount }), containers: [{ name: 'app', image: 'busybox' }] },
  });
  const inject = (t: PodTemplateSpec, serviceAccount?: { automountServiceAccountToken?: boolean }) =>
    injectInitContainer(t, {
      container: initContainer(sts),
      volumes: agentVolumes(sts, repo),
      specHash: 'h',
      session: 'demo/sts-restore',
      ...(serviceAccount ? { serviceAccount } : {}),
    });
  const hasOwnToken = (t: PodTemplateSpec) => (t.spec.volumes ?? []).some((v) => v.name === TOKEN_VOLUME);

  it("decides as Kubernetes' ServiceAccount admission: the pod's setting wins, else its ServiceAccount's, else a token", () => {
    const cases: [boolean | undefined, boolean | undefined, boolean][] = [
      [undefined, undefined, true],
      [undefined, true, true],
      [undefined, false, false],
      [true, false, true],
      [false, true, false],
      [false, undefined, false],
    ];
    for (const [pod, sa, want] of cases) {
      const spec = template(pod).spec;
      assert.equal(tokenAutomounted(spec, sa === undefined ? undefined : { automountServiceAccountToken: sa }), want, `pod ${pod}, ServiceAccount ${sa}`);
      assert.equal(
        hasOwnToken(inject(template(pod), sa === undefined ? undefined : { automountServiceAccountToken: sa })),
        !want,
        `pod ${pod}, ServiceAccount ${sa}`,
      );
    }
  });

  it('mounts one on stash-init when the pod says nothing and its ServiceAccount turns the token off, and removal takes it away', () => {
    const out = inject(template(), { automountServiceAccountToken: false });
    const init = out.spec.initContainers!.find((c) => c.name === INIT_CONTAINER_NAME)!;
    assert.ok(init.volumeMounts!.some((m) => m.name === TOKEN_VOLUME && m.mountPath === TOKEN_MOUNT_PATH && m.readOnly));
    assert.ok(!out.spec.containers[0]!.volumeMounts, 'the app container stays without a token');
    assert.equal(out.spec.automountServiceAccountToken, undefined, "the pod's own setting is left alone");
    assert.deepEqual(removeInjection(out), template());
  });

  it('mounts a projected ServiceAccount token (token, ca.crt, namespace) on stash-init only, and removal takes it away', () => {
    const out = inject(template(false));
    const vol = out.spec.volumes!.find((v) => v.name === TOKEN_VOLUME) as any;
    assert.deepEqual(
      vol.projected.sources.map((s: any) => Object.keys(s)[0]),
      ['serviceAccountToken', 'configMap', 'downwardAPI'],
    );
    const init = out.spec.initContainers!.find((c) => c.name === INIT_CONTAINER_NAME)!;
    assert.ok(init.volumeMounts!.some((m) => m.name === TOKEN_VOLUME && m.mountPath === TOKEN_MOUNT_PATH && m.readOnly));
    assert.ok(!out.spec.containers[0]!.volumeMounts, 'the app container stays without a token');
    assert.equal(out.spec.automountServiceAccountToken, false);
    assert.deepEqual(removeInjection(out), template(false));
  });

  it('adds nothing when the pod automounts its token (the default)', () => {
    for (const t of [template(), template(true)]) assert.ok(!inject(t).spec.volumes!.some((v) => v.name === TOKEN_VOLUME));
  });

  it('does the same for a restore Job whose ServiceAccount turns the token off, unless runtimeSettings.pod turns it on', () => {
    const j = structuredClone(pvc);
    j.spec.runtimeSettings = { pod: { serviceAccountName: 'restorer' } };
    const pod = (s: RestoreSession, automount: boolean) =>
      (restoreJob({ session: s, repository: repo, agent, index: 0, serviceAccount: { automountServiceAccountToken: automount } }) as any).spec.template.spec;
    assert.ok(pod(j, false).containers[0].volumeMounts.some((m: any) => m.mountPath === TOKEN_MOUNT_PATH));
    assert.ok(!pod(j, true).volumes.some((v: any) => v.name === TOKEN_VOLUME));
    j.spec.runtimeSettings.pod!.automountServiceAccountToken = true;
    assert.ok(!pod(j, false).volumes.some((v: any) => v.name === TOKEN_VOLUME), "the pod's true wins over its ServiceAccount's false");
  });

  it('does the same for a restore Job whose runtimeSettings.pod turns the token off', () => {
    const j = structuredClone(pvc);
    j.spec.runtimeSettings = { pod: { automountServiceAccountToken: false } };
    const pod = jobPod(j);
    assert.ok(pod.volumes.some((v: any) => v.name === TOKEN_VOLUME));
    assert.ok(pod.containers[0].volumeMounts.some((m: any) => m.mountPath === TOKEN_MOUNT_PATH));
  });
});
