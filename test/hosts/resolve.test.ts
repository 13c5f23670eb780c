import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/api/index.ts';
import type { RestoreSession, RestoreSessionSpec } from '../../src/api/index.ts';
import { matchRule, resolveHosts } from '../../src/hosts/index.ts';
import type { HostResolution } from '../../src/hosts/index.ts';
import { restoreJob } from '../../src/controller/job.ts';
import { hostIdentity } from '../../src/agent/host.ts';

const session = (spec: RestoreSessionSpec): RestoreSession => ({
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: { name: 's', namespace: 'demo' },
  spec: { repository: { name: 'repo' }, ...spec },
});
const ref = (kind: string, name = 'app') => ({ apiVersion: kind === 'DeploymentConfig' ? 'apps.openshift.io/v1' : 'apps/v1', kind, name });
const workload = (kind: string, spec: object, status: object = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind,
  metadata: { name: 'app', namespace: 'demo' },
  spec,
  status,
});
const names = (r: HostResolution) => (r.known ? r.hosts.map((h) => h.host) : 'unknown');
const all = [{ paths: ['/data'] }];

describe('host resolution (SPEC host table)', () => {
  it('no target: one Job host named host-0', () => {
    const r = resolveHosts(session({ task: { name: 'mysql-restore' }, rules: all }), undefined);
    assert.equal(r.executor, 'job');
    assert.deepEqual(names(r), ['host-0']);
  });

  it('StatefulSet: <alias>-<ordinal> per replica of the live object, through the init-container', () => {
    const s = session({ target: { alias: 'db', ref: ref('StatefulSet'), rules: all } });
    const r = resolveHosts(s, workload('StatefulSet', { replicas: 3 }));
    assert.equal(r.executor, 'init-container');
    assert.deepEqual(names(r), ['db-0', 'db-1', 'db-2']);
    assert.equal(r.known && r.totalHosts, 3);
  });

  it('StatefulSet without alias: host-<ordinal>', () => {
    const r = resolveHosts(session({ target: { ref: ref('StatefulSet'), rules: all } }), workload('StatefulSet', { replicas: 2 }));
    assert.deepEqual(names(r), ['host-0', 'host-1']);
  });

  it('StatefulSet or DaemonSet not known: hosts unknown, with the reason', () => {
    for (const kind of ['StatefulSet', 'DaemonSet']) {
      const r = resolveHosts(session({ target: { ref: ref(kind), rules: all } }), undefined);
      assert.equal(r.known, false);
      assert.match(!r.known ? r.reason : '', /pass --cluster-state/);
    }
  });

  it('DaemonSet: one host per node it runs on (nodeSelector honoured), totalHosts from desiredNumberScheduled', () => {
    const nodes = [
      { name: 'n1', labels: { disk: 'ssd' } },
      { name: 'n2', labels: { disk: 'hdd' } },
      { name: 'n3', labels: { disk: 'ssd' } },
    ];
    const ds = workload('DaemonSet', { template: { spec: { nodeSelector: { disk: 'ssd' } } } }, { desiredNumberScheduled: 2 });
    assert.deepEqual(names(resolveHosts(session({ target: { ref: ref('DaemonSet'), rules: all } }), ds, nodes)), ['n1', 'n3']);
    const r = resolveHosts(session({ target: { alias: 'logs', ref: ref('DaemonSet'), rules: all } }), ds, nodes);
    assert.deepEqual(names(r), ['logs-n1', 'logs-n3']);
    assert.equal(r.known && r.totalHosts, 2);
  });

  it('Deployment and DeploymentConfig: one host, the alias or host-0, however many replicas', () => {
    for (const kind of ['Deployment', 'DeploymentConfig']) {
      const r = resolveHosts(session({ target: { alias: 'web', ref: ref(kind), rules: all } }), workload(kind, { replicas: 4 }));
      assert.equal(r.executor, 'init-container');
      assert.deepEqual(names(r), ['web']);
      assert.deepEqual(names(resolveHosts(session({ target: { ref: ref(kind), rules: all } }), undefined)), ['host-0']);
    }
  });

  it('a Task turns a workload restore into a Job', () => {
    assert.equal(resolveHosts(session({ task: { name: 'x' }, target: { ref: ref('Deployment'), rules: all } }), undefined).executor, 'job');
  });

  it('volumeClaimTemplates with replicas: one Job host per ordinal (not replicas × templates)', () => {
    const tpl = (name: string) => ({ metadata: { name }, spec: {} });
    const r = resolveHosts(
      session({ target: { replicas: 3, volumeClaimTemplates: [tpl('a-${POD_ORDINAL}'), tpl('b-${POD_ORDINAL}')], rules: all } }),
      undefined,
    );
    assert.equal(r.executor, 'job');
    assert.deepEqual(names(r), ['host-0', 'host-1', 'host-2']);
    assert.equal(r.known && r.totalHosts, 3);
  });

  it('PVC target: one Job host', () => {
    const r = resolveHosts(
      session({ target: { alias: 'pvc', ref: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data' }, rules: all } }),
      undefined,
    );
    assert.equal(r.executor, 'job');
    assert.deepEqual(names(r), ['pvc']);
  });

  it('VolumeSnapshotter: one host per PVC, named by the PVC, restoring its VolumeSnapshot', () => {
    const tpl = { metadata: { name: 'data-${POD_ORDINAL}' }, spec: { dataSource: { kind: 'VolumeSnapshot', name: 'snap-${POD_ORDINAL}' } } };
    const r = resolveHosts(session({ driver: 'VolumeSnapshotter', target: { replicas: 2, volumeClaimTemplates: [tpl] } }), undefined);
    assert.equal(r.executor, 'volume-snapshot');
    assert.ok(r.known);
    assert.deepEqual(
      r.hosts.map((h) => [h.host, h.snapshots]),
      [
        ['data-0', ['snap-0']],
        ['data-1', ['snap-1']],
      ],
    );
  });
});

describe('rule matching', () => {
  const rules = [{ paths: ['/all'] }, { targetHosts: ['h-3'], sourceHost: 'h-1', paths: ['/data'], include: ['*.json'] }];

  it('a rule listing the host wins over the catch-all, whatever the order', () => {
    assert.equal(matchRule(rules, 'h-3')?.index, 1);
    assert.equal(matchRule([...rules].reverse(), 'h-3')?.index, 0);
    assert.equal(matchRule(rules, 'h-0')?.index, 0);
  });

  it('no rule for the host: it restores nothing', () => {
    const r = resolveHosts(session({ target: { ref: ref('StatefulSet'), rules: [rules[1]!] } }), workload('StatefulSet', { replicas: 4 }));
    assert.ok(r.known);
    assert.deepEqual(
      r.hosts.map((h) => h.restores),
      [false, false, false, false],
    );
    assert.equal(r.hosts.filter((h) => h.rule === 1).length, 0);
  });

  it('sourceHost defaults to the host itself', () => {
    const r = resolveHosts(session({ target: { alias: 'h', ref: ref('StatefulSet'), rules } }), workload('StatefulSet', { replicas: 4 }));
    assert.ok(r.known);
    assert.deepEqual(
      r.hosts.map((h) => h.sourceHost),
      ['h-0', 'h-1', 'h-2', 'h-1'],
    );
  });
});

describe('hosts: volumeClaimTemplates without replicas (as Stash)', () => {
  const tpl = { metadata: { name: 'data-${POD_ORDINAL}' }, spec: {} };
  const s = (target: RestoreSession['spec']['target']): RestoreSession => ({
    apiVersion: 'stash.appscode.com/v1beta1',
    kind: 'RestoreSession',
    metadata: { name: 'vct', namespace: 'demo', uid: 'uid-vct' },
    spec: { repository: { name: 'r' }, target },
  });
  const agentHost = (session: RestoreSession, index: number) => {
    const c = (restoreJob({ session, repository: undefined, agent: { image: 'x' }, index }) as any).spec.template.spec.containers[0];
    const from = c.args[c.args.indexOf('--host-from') + 1];
    const env = Object.fromEntries(c.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
    return hostIdentity(session, from, env);
  };

  it('is one host named by the alias, not <alias>-0, in the plan and in the agent of its Job', () => {
    const session = s({ alias: 'db', volumeClaimTemplates: [tpl], rules: [{ paths: ['/d'] }] });
    const r = resolveHosts(session, undefined);
    assert.deepEqual(r.known && r.hosts.map((h) => h.host), ['db']);
    assert.equal(agentHost(session, 0), 'db');
  });

  it('is host-0 without an alias; with replicas the ordinal names the host', () => {
    const none = s({ volumeClaimTemplates: [tpl] });
    const r0 = resolveHosts(none, undefined);
    assert.deepEqual(r0.known && r0.hosts.map((h) => h.host), ['host-0']);
    assert.equal(agentHost(none, 0), 'host-0');
    const two = s({ alias: 'db', replicas: 2, volumeClaimTemplates: [tpl] });
    const r = resolveHosts(two, undefined);
    assert.deepEqual(r.known && r.hosts.map((h) => h.host), ['db-0', 'db-1']);
    assert.equal(agentHost(two, 1), 'db-1');
  });
});
