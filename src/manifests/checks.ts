// The SPEC's rules that a schema cannot express: rule constraints, references, tenancy.
import { objectKey } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import { backendKinds } from '../api/repository.ts';
import type { HookHandler, RestoreSession } from '../api/restoresession.ts';
import { effectiveRules, repositoryOf } from '../api/restoresession.ts';
import { matchesLabelSelector } from '../api/label-selector.ts';
import { isWorkloadKind, POD_ORDINAL } from '../api/workloads.ts';
import type { FieldPath } from '../api/openapi.ts';
import { chooseExecutor } from '../hosts/resolve.ts';
import { invalidPatterns } from '../restic/pattern.ts';
import { parseDuration } from '../session/duration.ts';
import type { Diagnostic } from './diagnostic.ts';
import type { DesiredSet } from './desired.ts';
import type { ClusterView } from './cluster-state.ts';
import { recordedCluster } from './cluster-state.ts';
import { fingerprint, ReadCache } from '../common/read-cache.ts';
import type { Reads } from '../common/read-cache.ts';
import { diagnosticAt } from './load.ts';
import type { Manifest } from './load.ts';
import { checkTask } from './task-checks.ts';

const HANDLER_KINDS = ['exec', 'httpGet', 'httpPost', 'tcpSocket'] as const;
const SECRETISH_ENV = /(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIAL)/i;

/** Runs every semantic check over a desired set; `cluster` stands for the live cluster when known. */
export function checkDesired(desired: DesiredSet, cluster: ClusterView | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const repos = new Map(desired.repositories.map((m) => [`${m.object.metadata.namespace}/${m.object.metadata.name}`, m.object]));
  for (const m of desired.repositories) out.push(...checkRepository(m, cluster));
  for (const m of desired.sessions) out.push(...checkSession(m, { repos, refused: desired.refused, cluster }));
  return out;
}

/**
 * checkDesired, object by object: the diagnostics go into the set, and each object's errors into
 * `desired.errors`, so the planner refuses exactly the objects that have one (DESIGN §1: a
 * manifest with an error is never applied). With a `cache`, an object's diagnostics are reused
 * while its manifest is the same and everything its checks read (the cluster state, the
 * Repository it names, whether that one is refused) answers the same.
 */
export function checkDesiredObjects(desired: DesiredSet, cluster: ClusterView | undefined, cache?: CheckCache): DesiredSet {
  const errors = new Map(desired.errors);
  const repos = new Map(desired.repositories.map((m) => [`${m.object.metadata.namespace}/${m.object.metadata.name}`, m.object]));
  const record = (m: Manifest, ds: Diagnostic[]) => {
    desired.diagnostics.push(...ds);
    const errs = ds.filter((d) => d.severity === 'error');
    if (errs.length) errors.set(objectKey(m.object), [...(errors.get(objectKey(m.object)) ?? []), ...errs]);
  };
  const ctx: SessionContext = { repos, refused: desired.refused, cluster };
  for (const m of desired.repositories)
    record(m, cache ? cache.get(m, ctx, (read) => checkRepository(m, recordedCluster(read, clusterOf))) : checkRepository(m, cluster));
  for (const m of desired.sessions) record(m, cache ? cache.get(m, ctx, (read) => checkSession(m, recordedContext(read))) : checkSession(m, ctx));
  cache?.endRun();
  desired.errors = errors;
  return desired;
}

/** The checks' diagnostics of each object (checkDesiredObjects). */
export class CheckCache extends ReadCache<SessionContext, Diagnostic[]> {}

const clusterOf = (c: SessionContext) => c.cluster;

function recordedContext(read: Reads<SessionContext>): SessionContext {
  return {
    repos: { get: (key) => read((c) => c.repos.get(key), fingerprint) },
    refused: { has: (key) => read((c) => c.refused.has(key), String) },
    cluster: recordedCluster(read, clusterOf),
  };
}

export interface SessionContext {
  /** Repositories of the desired set by `namespace/name`. */
  repos: { get(key: string): Repository | undefined };
  refused: { has(key: string): boolean };
  cluster: ClusterView | undefined;
}

export function checkSession(m: Manifest<RestoreSession>, ctx: SessionContext): Diagnostic[] {
  return [...checkSessionSpec(m, ctx.cluster), ...checkSessionTask(m, ctx.cluster), ...checkSessionReferences(m, ctx)];
}

/**
 * The task a session names, against the cluster state and Stash's catalog. Not part of
 * checkSessionSpec (the controller's admission check, which has no cluster state): which Tasks
 * exist is the cluster's to say.
 */
export function checkSessionTask(m: Manifest<RestoreSession>, cluster: ClusterView | undefined): Diagnostic[] {
  const report = reporter(m);
  checkTask(m.object, cluster, report);
  return report.out;
}

/** The checks that need nothing but the session itself (and, for a warning, the cluster state). */
export function checkSessionSpec(m: Manifest<RestoreSession>, cluster?: ClusterView): Diagnostic[] {
  const report = reporter(m);
  checkRules(m.object, report);
  checkTarget(m.object, cluster, report);
  checkHooks(m.object, report);
  checkEnvPolicy(m.object, report);
  checkTimeOut(m.object, report);
  return report.out;
}

/** A timeOut of zero or less is a deadline at creation, as in Stash: the session fails at once. */
function checkTimeOut(s: RestoreSession, { warn }: Reporter): void {
  const ms = s.spec.timeOut === undefined ? undefined : parseDuration(s.spec.timeOut);
  if (ms !== undefined && ms <= 0)
    warn(
      ['spec', 'timeOut'],
      `timeOut ${JSON.stringify(s.spec.timeOut)} puts the deadline at the session's creation: it fails at once (as in Stash); remove timeOut for no deadline`,
    );
}

type At = 'key' | 'value';

/** Collects one manifest's diagnostics, each at a field's key or value. */
interface Reporter {
  out: Diagnostic[];
  err(path: FieldPath, msg: string, at?: At): void;
  warn(path: FieldPath, msg: string, at?: At): void;
}

function reporter(m: Manifest): Reporter {
  const out: Diagnostic[] = [];
  return {
    out,
    err: (path, msg, at = 'value') => void out.push(diagnosticAt(m, path, 'error', msg, at)),
    warn: (path, msg, at = 'value') => void out.push(diagnosticAt(m, path, 'warning', msg, at)),
  };
}

/** Rules (target.rules, or the deprecated spec.rules): one catch-all, no host in two rules, snapshots or paths, patterns restic parses. */
function checkRules(s: RestoreSession, { err, warn }: Reporter): void {
  const spec = s.spec;
  const snapshotter = spec.driver === 'VolumeSnapshotter';
  const { rules, field } = effectiveRules(spec);
  const base: FieldPath = field === 'spec.rules' ? ['spec', 'rules'] : ['spec', 'target', 'rules'];
  if (field === 'spec.rules') warn(['spec', 'rules'], 'spec.rules is deprecated: move the rules to spec.target.rules', 'key');
  if (field === 'spec.rules' && spec.target?.rules?.length)
    warn(
      ['spec', 'target', 'rules'],
      'spec.target.rules is ignored because the deprecated spec.rules is set (Stash replaces them too); remove one of them',
      'key',
    );
  if (snapshotter && rules.length) warn(base, 'rules are ignored by the VolumeSnapshotter driver: it restores whole volumes', 'key');

  let catchAll: number | undefined;
  const hostRule = new Map<string, number>();
  rules.forEach((r, i) => {
    if (r.snapshots?.length && r.paths?.length) {
      err([...base, i], `rule ${i} has both snapshots and paths: a rule restores either named snapshots or the latest snapshot of some paths, not both`, 'key');
    }
    if (r.include?.length && r.exclude?.length) {
      err(
        [...base, i, 'exclude'],
        `rule ${i} has both include and exclude: restic refuses them together ("exclude and include patterns are mutually exclusive"), so this host would always fail; keep one of them`,
        'key',
      );
    }
    const badPatterns = invalidPatterns([...(r.include ?? []), ...(r.exclude ?? [])]);
    if (badPatterns.length) err([...base, i], `rule ${i} has patterns restic cannot parse: ${badPatterns.join(', ')}`, 'key');
    if (!snapshotter && !r.snapshots?.length && !r.paths?.length) {
      warn([...base, i], `rule ${i} has neither paths nor snapshots: its hosts restore nothing`, 'key');
    }
    if (!r.targetHosts?.length) {
      if (catchAll !== undefined)
        err([...base, i], `rules ${catchAll} and ${i} both have empty targetHosts: at most one rule may apply to "every other host"`, 'key');
      else catchAll = i;
      return;
    }
    r.targetHosts.forEach((h, j) => {
      const prev = hostRule.get(h);
      if (prev === i) err([...base, i, 'targetHosts', j], `host "${h}" is listed twice in rule ${i}: list each host once`);
      else if (prev !== undefined)
        err([...base, i, 'targetHosts', j], `host "${h}" is listed in rules ${prev} and ${i}: a host may be listed in one rule only`);
      else hostRule.set(h, i);
    });
  });
}

/** The target: present, in the session's namespace, what the driver needs, and (a warning) in the cluster state. */
function checkTarget(s: RestoreSession, cluster: ClusterView | undefined, { err, warn }: Reporter): void {
  const spec = s.spec;
  const ns = s.metadata.namespace!;
  const target = spec.target;
  const ref = target?.ref;
  const templates = target?.volumeClaimTemplates ?? [];
  if (!target && !spec.task?.name) {
    err(['spec'], 'spec.target is missing: name a workload or PVC in spec.target.ref, or PVCs to create in spec.target.volumeClaimTemplates', 'key');
  }
  if (ref?.namespace && ref.namespace !== ns && (isWorkloadKind(ref.kind) || ref.kind === 'PersistentVolumeClaim')) {
    err(
      ['spec', 'target', 'ref', 'namespace'],
      `target ${ref.kind} ${ref.namespace}/${ref.name} is in another namespace than the RestoreSession (${ns}): a ${ref.kind} can only be restored from its own namespace`,
    );
  }
  if (spec.driver === 'VolumeSnapshotter') {
    if (!templates.length)
      err(['spec', 'target'], 'the VolumeSnapshotter driver needs spec.target.volumeClaimTemplates with a dataSource naming the VolumeSnapshot', 'key');
    templates.forEach((t, i) => {
      if (t.spec?.dataSource?.kind !== 'VolumeSnapshot') {
        err(
          ['spec', 'target', 'volumeClaimTemplates', i, 'spec'],
          `volumeClaimTemplates[${i}] needs spec.dataSource {kind: VolumeSnapshot, name, apiGroup: snapshot.storage.k8s.io} for the VolumeSnapshotter driver`,
          'key',
        );
      }
    });
  }
  templates.forEach((t, i) => {
    if (t.metadata.name.includes(POD_ORDINAL) && target?.replicas === undefined) {
      warn(
        ['spec', 'target', 'volumeClaimTemplates', i, 'metadata', 'name'],
        `the name uses ${POD_ORDINAL} but spec.target.replicas is not set: only ordinal 0 is restored`,
      );
    }
  });
  if (ref && isWorkloadKind(ref.kind) && !spec.task?.name && !templates.length && spec.runtimeSettings?.pod) {
    warn(
      ['spec', 'runtimeSettings', 'pod'],
      'runtimeSettings.pod applies to restore Jobs only: a workload target is restored by an init-container in its own pods',
      'key',
    );
  }
  if (ref && cluster?.covers(ref.kind) && !cluster.get(ref.kind, ref.namespace || ns, ref.name)) {
    warn(
      ['spec', 'target', 'ref', 'name'],
      `target not found: ${ref.kind} ${ref.namespace || ns}/${ref.name} is not in the cluster state, so the session will wait (Pending) until it exists`,
    );
  }
}

/** Hooks: exactly one handler each; an exec hook of a workload runs in stash-init. */
function checkHooks(s: RestoreSession, { err, warn }: Reporter): void {
  for (const hook of ['preRestore', 'postRestore'] as const) {
    const h = s.spec.hooks?.[hook] as HookHandler | undefined;
    if (!h) continue;
    const kinds = HANDLER_KINDS.filter((k) => h[k] !== undefined);
    if (kinds.length !== 1) {
      err(
        ['spec', 'hooks', hook],
        kinds.length === 0
          ? `${hook} has no handler: set one of exec, httpGet, httpPost or tcpSocket`
          : `${hook} has ${kinds.join(' and ')}: a hook runs exactly one handler`,
        'key',
      );
    }
    // The agent runs exec hooks in its own container, and refuses a containerName naming another.
    const init = chooseExecutor(s) === 'init-container';
    const agent = init ? 'stash-init' : 'stash-restore';
    if (h.exec && h.containerName && h.containerName !== agent) {
      warn(
        ['spec', 'hooks', hook, 'containerName'],
        `an exec hook runs in the restore agent's container ${agent}, so containerName "${h.containerName}" makes the hook fail (${init ? 'in the init-container model no other container of the pod has started' : 'a restore Job has no other container'}): remove containerName`,
      );
    }
  }
}

/** Policy: no secret-looking literal env values in git. */
function checkEnvPolicy(s: RestoreSession, { warn }: Reporter): void {
  (s.spec.runtimeSettings?.container?.env ?? []).forEach((e, i) => {
    if (e.value && SECRETISH_ENV.test(e.name)) {
      warn(['spec', 'runtimeSettings', 'container', 'env', i, 'value'], `env ${e.name} looks like a secret written in git: use valueFrom.secretKeyRef instead`);
    }
  });
}

/** The Repository reference and its usage policy, against the desired set and the cluster state. */
export function checkSessionReferences(m: Manifest<RestoreSession>, ctx: SessionContext): Diagnostic[] {
  const out: Diagnostic[] = [];
  const err = (path: FieldPath, msg: string, at: 'key' | 'value' = 'value') => out.push(diagnosticAt(m, path, 'error', msg, at));
  const warn = (path: FieldPath, msg: string) => out.push(diagnosticAt(m, path, 'warning', msg));
  const s = m.object;
  const ns = s.metadata.namespace!;
  const snapshotter = s.spec.driver === 'VolumeSnapshotter';
  const repoRef = repositoryOf(s);
  if (!repoRef) {
    if (!snapshotter) err(['spec', 'repository'], 'spec.repository.name is required by the Restic driver: name the Repository holding the backup', 'key');
    return out;
  }
  const repoKey = `${repoRef.namespace}/${repoRef.name}`;
  if (ctx.refused.has(`Repository/${repoKey}`)) return out; // its own diagnostics say why
  const repo = ctx.repos.get(repoKey) ?? ctx.cluster?.get<Repository>('Repository', repoRef.namespace, repoRef.name);
  if (!repo) {
    err(
      ['spec', 'repository', 'name'],
      `Repository ${repoKey} is neither declared in the source nor in the cluster state: add its manifest, or check the name and namespace`,
    );
    return out;
  }
  if (repoRef.namespace !== ns) {
    const allowed = repo.spec.usagePolicy?.allowedNamespaces;
    const from = allowed?.from ?? 'Same';
    if (from === 'Same') {
      err(
        ['spec', 'repository', 'namespace'],
        `Repository ${repoKey} may only be used from namespace ${repoRef.namespace} (usagePolicy.allowedNamespaces.from: Same), not from ${ns}`,
      );
    } else if (from === 'Selector') {
      const nsObj = ctx.cluster?.get('Namespace', undefined, ns);
      if (!nsObj)
        warn(
          ['spec', 'repository', 'namespace'],
          `Repository ${repoKey} allows namespaces by label selector, and namespace ${ns} is not in the cluster state: cannot check`,
        );
      else if (!matchesLabelSelector(nsObj.metadata.labels ?? {}, allowed?.selector)) {
        err(
          ['spec', 'repository', 'namespace'],
          `Repository ${repoKey} does not allow namespace ${ns}: its labels do not match usagePolicy.allowedNamespaces.selector`,
        );
      }
    }
  }
  return out;
}

export function checkRepository(m: Manifest<Repository>, cluster: ClusterView | undefined): Diagnostic[] {
  const out: Diagnostic[] = [];
  const b = m.object.spec.backend;
  const kinds = backendKinds(b);
  if (kinds.length === 0)
    out.push(diagnosticAt(m, ['spec', 'backend'], 'error', 'spec.backend names no backend: set one of local, s3, gcs, azure, swift, b2 or rest', 'key'));
  if (kinds.length > 1)
    out.push(
      diagnosticAt(m, ['spec', 'backend', kinds[1]!], 'error', `spec.backend names ${kinds.join(' and ')}: a Repository has exactly one backend`, 'key'),
    );
  if (!b.storageSecretName) {
    out.push(
      diagnosticAt(
        m,
        ['spec', 'backend'],
        'error',
        "spec.backend.storageSecretName is required: the Secret holding RESTIC_PASSWORD (and the backend's credentials)",
        'key',
      ),
    );
  } else if (cluster?.covers('Secret') && cluster.list('Secret').length > 0 && !cluster.get('Secret', m.object.metadata.namespace, b.storageSecretName)) {
    out.push(
      diagnosticAt(
        m,
        ['spec', 'backend', 'storageSecretName'],
        'warning',
        `Secret ${m.object.metadata.namespace}/${b.storageSecretName} is not in the cluster state: restores will wait until it exists`,
      ),
    );
  }
  if (m.object.spec.wipeOut && (b.local || b.b2)) {
    out.push(
      diagnosticAt(
        m,
        ['spec', 'wipeOut'],
        'error',
        `wipeOut is not supported for the ${b.local ? 'local' : 'B2'} backend (Stash refuses it too): remove wipeOut, or delete the backup data yourself`,
      ),
    );
  }
  if (b.local?.mountPath && b.local.mountPath.split('/')[1] === 'stash') {
    out.push(
      diagnosticAt(
        m,
        ['spec', 'backend', 'local', 'mountPath'],
        'error',
        `mountPath ${b.local.mountPath} is under /stash, where Stash's image keeps its binary (Stash refuses it too): use another path, such as /stash-backup`,
      ),
    );
  }
  if (b.local) {
    const sources = Object.keys(b.local).filter((k) => k !== 'mountPath' && k !== 'subPath');
    if (sources.length !== 1) {
      out.push(
        diagnosticAt(
          m,
          ['spec', 'backend', 'local'],
          'error',
          sources.length === 0
            ? 'spec.backend.local needs a volume source (hostPath, persistentVolumeClaim, nfs, …) beside mountPath'
            : `spec.backend.local has several volume sources (${sources.join(', ')}): keep one`,
          'key',
        ),
      );
    }
  }
  return out;
}
