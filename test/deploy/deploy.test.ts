// deploy/: the kustomizations render, a server dry run accepts them on the sandbox, and the RBAC
// grants exactly what the code calls (a scan of src/ for Kubernetes API calls, plus the few uses a
// scan cannot see, each with its reason) and covers the Role the controller grants the agent.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments, stringify } from 'yaml';
import type { Repository, RestoreSession } from '../../src/api/index.ts';
import { WORKLOAD_API_VERSIONS } from '../../src/api/workloads.ts';
import { agentRoleRules } from '../../src/controller/executors/init-container.ts';
import type { PolicyRule } from '../../src/controller/executors/init-container.ts';
import { runCommand } from '../../src/cli/commands/run.ts';
import { REPO_ROOT, startSandbox } from '../support/sandbox.ts';
import type { TestSandbox } from '../support/sandbox.ts';

const run = promisify(execFile);

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };

async function render(dir: string): Promise<Obj[]> {
  const { stdout } = await run('kubectl', ['kustomize', dir], { cwd: REPO_ROOT, maxBuffer: 64 << 20 });
  return parseAllDocuments(stdout).map((d) => d.toJS() as Obj);
}

function one(objs: Obj[], kind: string, name?: string): Obj {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  assert.equal(found.length, 1, `exactly one ${kind}${name ? ` ${name}` : ''} in ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0]!;
}

/** `group/resource verb`, the unit RBAC grants. */
type Grant = string;
const grant = (group: string, resource: string, verb: string): Grant => `${group}/${resource} ${verb}`;

function grantsOf(rules: PolicyRule[]): Set<Grant> {
  const out = new Set<Grant>();
  for (const r of rules) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(grant(g, res, v));
  return out;
}

/** Whether `rules` allow `verb` on `resource` (named `name`, when given) in `group`, as RBAC decides. */
function allows(rules: PolicyRule[], group: string, resource: string, verb: string, name?: string): boolean {
  return rules.some(
    (r) =>
      (r.apiGroups.includes(group) || r.apiGroups.includes('*')) &&
      (r.resources.includes(resource) || r.resources.includes('*')) &&
      (r.verbs.includes(verb) || r.verbs.includes('*')) &&
      (!r.resourceNames?.length || (name !== undefined && r.resourceNames.includes(name))),
  );
}

// --- what the code calls -------------------------------------------------------------------------

const CLIENT_GROUPS: Record<string, string> = {
  core: '',
  batch: 'batch',
  rbac: 'rbac.authorization.k8s.io',
  coordination: 'coordination.k8s.io',
  apps: 'apps',
  storage: 'storage.k8s.io',
};
const VERBS: Record<string, string> = { read: 'get', get: 'get', list: 'list', create: 'create', replace: 'update', patch: 'patch', delete: 'delete' };
const CUSTOM: Record<string, { group: string; plural: string }> = {
  RESTORE_SESSIONS: { group: 'stash.appscode.com', plural: 'restoresessions' },
  REPOSITORIES: { group: 'stash.appscode.com', plural: 'repositories' },
  TASKS: { group: 'stash.appscode.com', plural: 'tasks' },
  FUNCTIONS: { group: 'stash.appscode.com', plural: 'functions' },
  APP_BINDINGS: { group: 'appcatalog.appscode.com', plural: 'appbindings' },
};
const plural = (kind: string) => (kind.endsWith('y') ? `${kind.slice(0, -1)}ies` : kind.endsWith('s') ? `${kind}es` : `${kind}s`).toLowerCase();

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/**
 * Every Kubernetes API call in src/ that client-node makes (typed clients and CustomObjectsApi),
 * with the file it is in. The sandbox (an API server, not a client) and the demo (which seeds the
 * sandbox as its admin) are not in src/ but in the dev kit (packages/devkit): they never run with
 * the controller's service account.
 */
function scanCalls(): Map<Grant, string[]> {
  const out = new Map<Grant, string[]>();
  const add = (g: Grant, file: string) => out.set(g, [...new Set([...(out.get(g) ?? []), file])]);
  for (const path of sourceFiles(join(REPO_ROOT, 'src'))) {
    const file = relative(REPO_ROOT, path);
    const text = readFileSync(path, 'utf8');
    for (const m of text.matchAll(
      /\b(core|batch|rbac|coordination|apps|storage)\.(read|list|create|replace|patch|delete)(?:Namespaced)?([A-Z]\w*?)(ForAllNamespaces)?(Status)?\(/g,
    )) {
      add(grant(CLIENT_GROUPS[m[1]!]!, plural(m[3]!) + (m[5] ? '/status' : ''), VERBS[m[2]!]!), file);
    }
    for (const m of text.matchAll(/\b(get|list|create|replace|patch|delete)(?:Namespaced|Cluster)CustomObject(Status)?\(\{\s*([^)]*?)\}/gs)) {
      const [, verb, status, body] = m as unknown as [string, string, string | undefined, string];
      const targets: { group: string; plural: string }[] = [];
      const spread = /\.\.\.(\w+)/.exec(body)?.[1];
      const group = /group: '([^']+)'/.exec(body)?.[1];
      const literal = /plural: '([^']+)'/.exec(body)?.[1];
      if (spread && CUSTOM[spread]) targets.push(CUSTOM[spread]);
      else if (group && literal) targets.push({ group, plural: literal });
      else if (/plural: PLURALS\[kind\]/.test(body)) {
        for (const [kind, apiVersion] of Object.entries(WORKLOAD_API_VERSIONS)) targets.push({ group: apiVersion.split('/')[0]!, plural: plural(kind) });
      } else assert.fail(`${file}: a CustomObjectsApi call this test cannot read: ${m[0].slice(0, 120)}`);
      for (const t of targets) add(grant(t.group, t.plural + (status ? '/status' : ''), VERBS[verb]!), file);
    }
  }
  return out;
}

/** Uses the scan cannot see, each with why the ClusterRole grants it. */
const NOT_SCANNED: Record<Grant, string> = {
  [grant('stash.appscode.com', 'restoresessions', 'watch')]: "the daemon's watch-fed caches (DESIGN §1 Applier, src/kube/informer.ts)",
  [grant('stash.appscode.com', 'repositories', 'watch')]: "the daemon's watch-fed caches",
  [grant('batch', 'jobs', 'watch')]: 'the controller watches its restore Jobs (src/controller/watches.ts, ResilientInformer)',
  [grant('apps', 'deployments', 'watch')]: 'the controller watches target workloads (src/controller/watches.ts)',
  [grant('apps', 'statefulsets', 'watch')]: 'the controller watches target workloads (src/controller/watches.ts)',
  [grant('apps', 'daemonsets', 'watch')]: 'the controller watches target workloads (src/controller/watches.ts)',
  [grant('', 'pods', 'watch')]: 'the controller watches the pods of its restores, by label (src/controller/watches.ts)',
  [grant('', 'secrets', 'list')]:
    "the controller watches Secrets as metadata only, to know a Repository's Secret exists (src/controller/watches.ts, src/kube/metadata.ts)",
  [grant('', 'secrets', 'watch')]: 'the controller watches Secrets as metadata only (src/controller/watches.ts)',
  [grant('', 'secrets', 'get')]:
    'the controller checks a Secret exists by a metadata-only GET when its watch cannot be trusted (src/kube/metadata.ts); the agent reads its own',
  [grant('', 'persistentvolumeclaims', 'watch')]: 'the controller watches the claims it made, by label (src/controller/watches.ts)',
  [grant('stash.appscode.com', 'repositories', 'list')]: "the daemon's watch-fed caches (live Repositories for the Planner)",
  [grant('stash.appscode.com', 'restoresessions', 'create')]: 'the Applier creates declared sessions (issue 8)',
  [grant('stash.appscode.com', 'repositories', 'create')]: 'the Applier creates declared Repositories',
  [grant('stash.appscode.com', 'restoresessions', 'patch')]: 'the Applier (server-side apply, one field manager)',
  [grant('stash.appscode.com', 'repositories', 'patch')]: 'the Applier (server-side apply, one field manager)',
  [grant('stash.appscode.com', 'repositories', 'update')]: "the Applier's Repository update (optimistic concurrency)",
  [grant('stash.appscode.com', 'restoresessions', 'delete')]: 'the Applier prunes final sessions removed from git',
  [grant('stash.appscode.com', 'repositories', 'delete')]: 'the Applier prunes Repositories removed from git',
  ...Object.fromEntries(
    [
      ['appcatalog.appscode.com', 'appbindings'],
      ['stash.appscode.com', 'tasks'],
      ['stash.appscode.com', 'functions'],
    ].flatMap(([g, r]) =>
      ['watch'].map((v) => [
        grant(g!, r!, v),
        "Task restores (issue 14): the daemon's watch-fed caches of Tasks, Functions and AppBindings, which the plan's task checks read (src/daemon/live-objects.ts)",
      ]),
    ),
  ),
  [grant('stash.appscode.com', 'restoresessions/finalizers', 'update')]:
    'Jobs, PVCs, Roles the controller creates are owned by the session with blockOwnerDeletion (OwnerReferencesPermissionEnforcement)',
};

// --- fixtures for the agent Role -----------------------------------------------------------------

const session = {
  apiVersion: 'stash.appscode.com/v1beta1',
  kind: 'RestoreSession',
  metadata: { name: 'sts-restore', namespace: 'demo', uid: 'u1' },
  spec: {},
} as unknown as RestoreSession;
const repository = {
  apiVersion: 'stash.appscode.com/v1alpha1',
  kind: 'Repository',
  metadata: { name: 'repo', namespace: 'demo' },
  spec: { backend: { storageSecretName: 'repo-secret' } },
} as unknown as Repository;

describe('deploy/', function () {
  this.timeout(120_000);
  let clusterWide: Obj[];
  let namespaced: Obj[];

  before(async () => {
    [clusterWide, namespaced] = await Promise.all([render('deploy/'), render('deploy/overlays/namespaced')]);
  });

  describe('kustomize', () => {
    it('renders the cluster-wide install: CRDs, Namespace, ServiceAccount, ClusterRole and binding, ConfigMap, Deployment, Service', () => {
      const kinds = clusterWide.map((o) => o.kind).sort();
      assert.deepEqual(kinds, [
        'ClusterRole',
        'ClusterRoleBinding',
        'ConfigMap',
        ...Array(5).fill('CustomResourceDefinition'),
        'Deployment',
        'Namespace',
        'Service',
        'ServiceAccount',
      ]);
      for (const o of clusterWide)
        if (!['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind))
          assert.equal(o.metadata.namespace, 'restore-controller', `${o.kind} ${o.metadata.name}`);
      const crds = clusterWide.filter((o) => o.kind === 'CustomResourceDefinition');
      const files = readdirSync(join(REPO_ROOT, 'deploy/crds')).filter((f) => f.endsWith('.yaml'));
      assert.deepEqual(crds.map((c) => `${c.spec.group}_${c.spec.names.plural}.yaml`).sort(), files.sort(), 'every generated CRD is installed');
      const binding = one(clusterWide, 'ClusterRoleBinding');
      assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: one(clusterWide, 'ClusterRole').metadata.name });
      assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'restore-controller', namespace: 'restore-controller' }]);
    });

    it('runs two replicas of `restorectl run --leader-elect` with its settings from the ConfigMap and git credentials from an optional Secret', () => {
      const deploy = one(clusterWide, 'Deployment');
      const pod = deploy.spec.template.spec;
      const c = pod.containers[0];
      assert.equal(deploy.spec.replicas, 2);
      assert.equal(pod.serviceAccountName, one(clusterWide, 'ServiceAccount').metadata.name);
      assert.match(c.image, /^ghcr\.io\/restore-controller\/restorectl:\d+\.\d+\.\d+$/);
      assert.equal(c.args[0], 'run');
      for (const a of [
        '--leader-elect',
        '--metrics-addr=:8080',
        '--webhook-addr=:9292',
        '--git-credentials-dir=/etc/restore-controller/git',
        '--cache-dir=/var/cache/restore-controller',
      ])
        assert.ok(c.args.includes(a), a);
      // Every $(VAR) in the args is defined, or Kubernetes would pass it through verbatim.
      const cm = one(clusterWide, 'ConfigMap');
      assert.equal(c.envFrom[0].configMapRef.name, cm.metadata.name, 'the generated (hashed) ConfigMap name is referenced');
      const defined = new Set([...Object.keys(cm.data), ...c.env.map((e: { name: string }) => e.name)]);
      for (const a of c.args as string[]) for (const [, v] of a.matchAll(/\$\(([A-Z_]+)\)/g)) assert.ok(defined.has(v!), `${a}: ${v} is defined`);
      for (const flag of ['--git-url', '--branch', '--path', '--cluster', '--status-branch'])
        assert.ok(
          c.args.some((a: string) => a.startsWith(`${flag}=`)),
          flag,
        );
      const secret = pod.volumes.find((v: any) => v.secret)?.secret;
      assert.deepEqual({ name: secret.secretName, optional: secret.optional }, { name: 'restore-controller-git', optional: true });
      // The webhook's secret: an optional Secret mounted where --webhook-secret-file points.
      const secretFile = (c.args as string[]).find((a) => a.startsWith('--webhook-secret-file='))?.split('=')[1];
      assert.ok(secretFile, '--webhook-secret-file is passed with --webhook-addr');
      const mount = c.volumeMounts.find((m: any) => secretFile!.startsWith(m.mountPath + '/'));
      const webhook = pod.volumes.find((v: any) => v.name === mount?.name)?.secret;
      assert.deepEqual(
        { name: webhook?.secretName, optional: webhook?.optional, key: secretFile!.slice(mount.mountPath.length + 1) },
        { name: 'restore-controller-webhook', optional: true, key: 'secret' },
      );
      for (const a of ['--leader-elect', '--metrics-addr=:8080']) assert.ok(c.args.includes(a), a);
      assert.ok(
        c.env.some((e: any) => e.name === 'POD_NAMESPACE' && e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace'),
        "the Lease goes in the pod's namespace",
      );
      assert.ok(!JSON.stringify(clusterWide.filter((o) => o.kind !== 'CustomResourceDefinition')).match(/kind":"Secret"/), 'no Secret is shipped');
    });

    it('passes only flags `restorectl run` knows, in both variants', () => {
      for (const objs of [clusterWide, namespaced]) {
        const args = one(objs, 'Deployment').spec.template.spec.containers[0].args as string[];
        for (const a of args.slice(1))
          assert.match(runCommand.help, new RegExp(`^  ${a.split('=')[0]}\\b`, 'm'), `${a} is documented in restorectl run --help`);
      }
    });

    it('is hardened: non-root, read-only root with emptyDirs for /tmp and the git cache, no capabilities, RuntimeDefault seccomp, probes and resources', () => {
      const pod = one(clusterWide, 'Deployment').spec.template.spec;
      const c = pod.containers[0];
      assert.equal(pod.securityContext.runAsNonRoot, true);
      assert.equal(pod.securityContext.runAsUser, 65532);
      assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
      assert.equal(c.securityContext.readOnlyRootFilesystem, true);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false);
      assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
      const emptyDirs = new Set(pod.volumes.filter((v: any) => v.emptyDir).map((v: any) => v.name));
      const mounted = (path: string) => c.volumeMounts.find((m: any) => m.mountPath === path)?.name;
      assert.ok(emptyDirs.has(mounted('/tmp')), '/tmp is an emptyDir');
      assert.ok(emptyDirs.has(mounted('/var/cache/restore-controller')), 'the cache is an emptyDir');
      assert.equal(c.livenessProbe.httpGet.path, '/healthz');
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      const port = (name: string) => c.ports.find((p: any) => p.name === name)?.containerPort;
      assert.equal(port(c.livenessProbe.httpGet.port), 8080);
      assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory);
    });

    it('has a Service for metrics and the webhook that selects the pods and targets their named ports', () => {
      const svc = one(clusterWide, 'Service');
      const tpl = one(clusterWide, 'Deployment').spec.template;
      for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(tpl.metadata.labels[k], v, `selector ${k}`);
      const ports = tpl.spec.containers[0].ports.map((p: any) => p.name);
      assert.deepEqual(
        svc.spec.ports.map((p: any) => [p.name, p.port]),
        [
          ['http-metrics', 8080],
          ['webhook', 9292],
        ],
      );
      for (const p of svc.spec.ports) assert.ok(ports.includes(p.targetPort), `${p.targetPort} is a container port`);
    });

    it('renders the namespaced variant: the same rules as a Role, only reads of cluster-scoped nodes, StorageClasses, Tasks and Functions cluster-wide, the daemon told its namespace', () => {
      const clusterRole = one(clusterWide, 'ClusterRole');
      const role = one(namespaced, 'Role');
      assert.equal(role.metadata.namespace, 'restore-controller');
      const nodeReads = [grant('', 'nodes', 'list'), grant('storage.k8s.io', 'storageclasses', 'get')];
      const taskReads = ['tasks', 'functions'].flatMap((r) => ['get', 'list', 'watch'].map((v) => grant('stash.appscode.com', r, v)));
      const clusterScoped = [...nodeReads, ...taskReads];
      // A confined controller refuses Repositories outside its namespace before any usagePolicy check.
      const clusterWideOnly = [grant('', 'namespaces', 'get')];
      const namespacedGrants = [...grantsOf(clusterRole.rules)].filter((g) => !clusterScoped.includes(g) && !clusterWideOnly.includes(g));
      assert.deepEqual(
        [...grantsOf(role.rules)].sort(),
        namespacedGrants.sort(),
        'deploy/overlays/namespaced/role.yaml and deploy/rbac/clusterrole.yaml agree',
      );
      const clusterRoles = namespaced.filter((o) => o.kind === 'ClusterRole');
      assert.deepEqual(clusterRoles.map((r) => [...grantsOf(r.rules)].sort()).sort(), [[...nodeReads].sort(), [...taskReads].sort()].sort());
      for (const r of clusterRoles) {
        const b = one(namespaced, 'ClusterRoleBinding', r.metadata.name);
        assert.deepEqual(b.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: r.metadata.name });
        assert.deepEqual(b.subjects, [{ kind: 'ServiceAccount', name: 'restore-controller', namespace: 'restore-controller' }]);
      }
      const binding = one(namespaced, 'RoleBinding');
      assert.deepEqual(binding.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata.name });
      assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: 'restore-controller', namespace: 'restore-controller' }]);
      assert.ok(one(namespaced, 'Deployment').spec.template.spec.containers[0].args.includes('--namespace=$(POD_NAMESPACE)'));
    });
  });

  describe('RBAC', () => {
    it('the ClusterRole covers the Role the controller grants each restore agent (so it needs neither bind nor escalate)', () => {
      const rules = one(clusterWide, 'ClusterRole').rules as PolicyRule[];
      for (const r of agentRoleRules(session, repository)) {
        for (const g of r.apiGroups)
          for (const res of r.resources)
            for (const v of r.verbs) {
              for (const name of r.resourceNames?.length ? r.resourceNames : [undefined])
                assert.ok(allows(rules, g, res, v, name), `ClusterRole allows ${g}/${res} ${v}${name ? ` ${name}` : ''}`);
            }
      }
      assert.ok(!rules.some((r) => r.verbs.includes('bind') || r.verbs.includes('escalate') || r.verbs.includes('*')), 'no bind, escalate or *');
      assert.ok(!rules.some((r) => r.resources.includes('*') || r.apiGroups.includes('*')), 'no wildcard');
    });

    it('the ClusterRole allows every API call in src/', () => {
      const rules = one(clusterWide, 'ClusterRole').rules as PolicyRule[];
      const calls = scanCalls();
      assert.ok(calls.size >= 20, `the scan finds the calls (${calls.size})`);
      const missing = [...calls].filter(([g]) => {
        const [gr, verb] = g.split(' ') as [string, string];
        const i = gr.indexOf('/');
        return !allows(rules, gr.slice(0, i), gr.slice(i + 1), verb);
      });
      assert.deepEqual(
        missing.map(([g, files]) => `${g} (${files.join(', ')})`),
        [],
      );
    });

    it('the ClusterRole grants nothing the code does not use', () => {
      const granted = grantsOf(one(clusterWide, 'ClusterRole').rules);
      const used = new Set([...scanCalls().keys(), ...grantsOf(agentRoleRules(session, repository)), ...Object.keys(NOT_SCANNED)]);
      assert.deepEqual([...granted].filter((g) => !used.has(g)).sort(), []);
    });
  });

  describe('on the sandbox', () => {
    let t: TestSandbox;
    before(async () => {
      t = await startSandbox();
      // As on a real API server, a dry run does not create the namespace its objects go in.
      const ns = await t.kubectl(['apply', '-f', '-'], 'apiVersion: v1\nkind: Namespace\nmetadata: {name: restore-controller}\n');
      assert.equal(ns.code, 0, ns.stderr);
    });
    after(async () => t?.stop());

    it('kubectl apply --dry-run=server -k deploy/ passes', async () => {
      for (const dir of ['deploy/', 'deploy/overlays/namespaced']) {
        const r = await t.kubectl(['apply', '--dry-run=server', '-k', dir]);
        assert.equal(r.code, 0, `${dir}: ${r.stderr}`);
        assert.match(r.stdout, /deployment\.apps\/restore-controller created \(server dry run\)/);
      }
    });

    it('kubectl apply --dry-run=server passes for every object of both variants, and stores nothing', async () => {
      for (const objs of [clusterWide, namespaced]) {
        const docs = objs.map((o) => stringify(o)).join('---\n');
        const r = await t.kubectl(['apply', '--dry-run=server', '-f', '-'], docs);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /deployment\.apps\/restore-controller created \(server dry run\)/);
        assert.match(r.stdout, /(cluster)?role\.rbac\.authorization\.k8s\.io\/restore-controller created \(server dry run\)/);
      }
      // Nothing was stored.
      const get = await t.kubectl(['get', 'deployments', '-n', 'restore-controller', '-o', 'name']);
      assert.equal(get.stdout.trim(), '');
    });
  });
});
