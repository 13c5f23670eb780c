// The Planner (DESIGN §1–2): a pure function from the desired set and what the cluster holds to
// the actions that would bring them together.
import type { KubeObject } from '../api/meta.ts';
import { CONTENT_ID_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE, RERUN_ANNOTATION, SOURCE_ANNOTATION, objectKey } from '../api/meta.ts';
import type { Repository } from '../api/repository.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { effectiveRules, isFinalPhase, repositoryOf } from '../api/restoresession.ts';
import { chooseExecutor, resolveHosts } from '../hosts/resolve.ts';
import type { ClusterView } from '../manifests/cluster-state.ts';
import { recordedCluster } from '../manifests/cluster-state.ts';
import { ReadCache } from '../common/read-cache.ts';
import type { Reads } from '../common/read-cache.ts';
import type { DesiredSet } from '../manifests/desired.ts';
import type { Diagnostic } from '../manifests/diagnostic.ts';
import { formatDiagnostic } from '../manifests/diagnostic.ts';
import { diagnosticAt } from '../manifests/load.ts';
import type { Manifest } from '../manifests/load.ts';
import { sessionTask } from '../manifests/task-checks.ts';
import type { AppBinding } from '../api/appbinding.ts';
import { isAppBindingRef } from '../api/appbinding.ts';
import { builtInDatabaseTask, databaseHostPlan, serverName, serverOf } from '../databases/index.ts';
import type { BuiltInDatabaseTask } from '../databases/index.ts';
import { canonical, contentId } from './content-id.ts';
import type { Action, DatabasePlan, Plan } from './types.ts';

/** What the planner needs of the ledger (DESIGN §2): the execution recorded for a content id. */
export interface LedgerEntry {
  phase: string;
  finishedAt?: string;
}
export type LedgerView = ReadonlyMap<string, LedgerEntry>;

/** Ledger phases after which an execution never runs again. */
const FINAL_LEDGER_PHASES = new Set(['Succeeded', 'Failed', 'Unknown', 'Invalid', 'Interrupted']);

export interface PlanInput {
  desired: DesiredSet;
  /** What the cluster holds; `undefined` when unknown (CI without --cluster-state). */
  cluster: ClusterView | undefined;
  /** Executions recorded on the status branch, by content id; absent when unknown. */
  ledger?: LedgerView;
  /** Allow an empty desired set to prune everything (refused by default). */
  allowEmpty?: boolean;
  sourceCommit?: string | null;
  /**
   * Reuses each declared object's action while its manifest is the same and everything its
   * planning read (the cluster state, the ledger, the errors of it and of its Repository) answers
   * the same (issue 16). The daemon keeps one across cycles; without it everything is planned.
   */
  cache?: PlanCache;
}

/** What planning one declared object reads besides its manifest. */
interface PlanContext {
  cluster: ClusterView | undefined;
  ledger: LedgerView | undefined;
  /** Error diagnostics of a declared object (`desired.errors`), by `kind/namespace/name`. */
  errors: { get(key: string): Diagnostic[] | undefined };
  refused: { has(key: string): boolean };
}

/** One declared object's action, and the warnings planning it found. */
interface Planned {
  action: Action;
  diagnostics: Diagnostic[];
}

/** The planner's results per declared object, across plans (PlanInput.cache). */
export class PlanCache extends ReadCache<PlanContext, Planned> {}

const NO_ERRORS: ReadonlyMap<string, Diagnostic[]> = new Map();

function recordedPlanContext(read: Reads<PlanContext>): PlanContext {
  return {
    cluster: recordedCluster(read, (c) => c.cluster),
    ledger: read((c) => c.ledger !== undefined, String)
      ? ({
          get: (id: string) =>
            read(
              (c) => c.ledger!.get(id),
              (e) => (e ? `${e.phase}|${e.finishedAt ?? ''}` : 'u'),
            ),
        } as LedgerView)
      : undefined,
    errors: {
      get: (key) =>
        read(
          (c) => c.errors.get(key),
          (ds) => (ds ? JSON.stringify(ds) : 'u'),
        ),
    },
    refused: { has: (key) => read((c) => c.refused.has(key), String) },
  };
}

/** Plans one declared object, through the cache when there is one. */
function planned(m: Manifest, ctx: PlanContext, cache: PlanCache | undefined, plan: (ctx: PlanContext) => Planned): Planned {
  return cache ? cache.get(m, ctx, (read) => plan(recordedPlanContext(read))) : plan(ctx);
}

const byName = (a: Action, b: Action) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);

export function planRestores(input: PlanInput): Plan {
  const { desired, cluster, cache } = input;
  const diagnostics: Diagnostic[] = [...desired.diagnostics];
  const ctx: PlanContext = { cluster, ledger: input.ledger, errors: desired.errors ?? NO_ERRORS, refused: desired.refused };
  const repoActions = desired.repositories.map((m) => planned(m, ctx, cache, (c) => ({ action: planRepository(m, c), diagnostics: [] })).action).sort(byName);
  const sessionActions = desired.sessions
    .map((m) => {
      const p = planned(m, ctx, cache, (c) => {
        const found: Diagnostic[] = [];
        return { action: planSession(m, c, found), diagnostics: found };
      });
      diagnostics.push(...p.diagnostics);
      return p.action;
    })
    .sort(byName);
  cache?.endRun();
  let prunes = cluster ? planPrunes(desired, cluster).sort(byName) : [];
  // An empty source where restores are managed is more likely a broken path or branch than an intent.
  const active = [...(input.ledger?.values() ?? [])].some((e) => !FINAL_LEDGER_PHASES.has(e.phase));
  if (desired.sessions.length === 0 && (prunes.length > 0 || active) && !input.allowEmpty) {
    diagnostics.push({
      file: '',
      line: 0,
      column: 0,
      path: '',
      severity: 'error',
      message: `the source declares no RestoreSession while ${prunes.length} managed session(s) exist${active ? ' and the ledger has restores in progress' : ''}: refusing to prune everything (check the path and branch, or pass --allow-empty)`,
    });
    prunes = [];
  }
  return { sourceCommit: input.sourceCommit ?? null, diagnostics, actions: [...repoActions, ...sessionActions, ...prunes] };
}

/**
 * Why an object with error diagnostics is not applied (DESIGN §1), or undefined. The unit is the
 * object (one YAML document, or one item of a `List`): its schema errors keep it out of the set
 * altogether, and the checks' errors (rules, references, policy) are recorded against it in
 * `desired.errors`, so a bad document never holds back the good ones next to it.
 */
function errorsReason(m: Manifest, ctx: PlanContext): string | undefined {
  const errors = ctx.errors.get(objectKey(m.object));
  if (!errors?.length) return undefined;
  const first = formatDiagnostic(errors[0]!);
  return `not applied: the manifest has ${errors.length} error${errors.length === 1 ? '' : 's'} (${first}${errors.length > 1 ? '; `restorectl validate` lists all' : ''}); fix it in git and the next cycle applies it`;
}

/** Why a session cannot run because the Repository it names, declared in this source, is not applied. */
function repositoryReason(s: RestoreSession, ctx: PlanContext): string | undefined {
  const repo = repositoryOf(s);
  if (!repo) return undefined;
  const key = `Repository/${repo.namespace}/${repo.name}`;
  if (!ctx.refused.has(key) && !ctx.errors.get(key)?.length) return undefined;
  return `not applied: its Repository ${repo.namespace}/${repo.name} has errors and is not applied; fix the Repository in git and the next cycle applies both`;
}

function planRepository(m: Manifest<Repository>, ctx: PlanContext): Action {
  const { cluster } = ctx;
  const { namespace = 'default', name } = m.object.metadata;
  const action = (type: Action['action'], reason?: string): Action => ({
    action: type,
    kind: 'Repository',
    namespace,
    name,
    file: m.file,
    contentId: '',
    ...(reason ? { reason } : {}),
  });
  const refused = errorsReason(m, ctx);
  if (refused) return action('blocked', refused);
  const live = cluster?.get<Repository>('Repository', namespace, name);
  if (!live) return action('create');
  const same = JSON.stringify(canonical(live.spec)) === JSON.stringify(canonical(m.object.spec));
  return same ? action('noop', 'unchanged') : action('update', 'spec differs from the cluster');
}

/** A declared session's action; its warnings (hosts that restore nothing, hosts unknown) go into `diagnostics`. */
function planSession(m: Manifest<RestoreSession>, ctx: PlanContext, diagnostics: Diagnostic[]): Action {
  const { cluster, ledger } = ctx;
  const s = m.object;
  const namespace = s.metadata.namespace ?? 'default';
  const id = contentId(s);
  const ref = s.spec.target?.ref;
  const target = ref ? cluster?.get(ref.kind, ref.namespace || namespace, ref.name) : undefined;
  const resolution = noNodesFor(s, target, cluster) ?? resolveHosts(s, target, cluster?.nodes() ?? []);
  const rerun = s.metadata.annotations?.[RERUN_ANNOTATION];
  const action: Action = {
    action: 'create',
    kind: 'RestoreSession',
    namespace,
    name: s.metadata.name,
    file: m.file,
    contentId: id,
    executor: resolution.executor,
    ...(rerun !== undefined ? { rerun } : {}),
  };
  const task = resolution.executor === 'job' ? sessionTask(s, cluster) : undefined;
  if (task) action.task = task.name;
  const database =
    task && ref && isAppBindingRef(ref)
      ? databasePlan(builtInDatabaseTask(task.name), ref.namespace || namespace, ref.name, target as AppBinding | undefined)
      : undefined;
  if (database) action.database = database;
  const { rules, field } = effectiveRules(s.spec);
  const rulesPath = field === 'spec.rules' ? ['spec', 'rules'] : ['spec', 'target', 'rules'];

  action.effect = effectOf(s, resolution.executor, resolution.known ? resolution.totalHosts : undefined, target);
  if (resolution.known) {
    action.totalHosts = resolution.totalHosts;
    // A database host restores latest when no rule gives a snapshot, as Stash's addons do.
    action.hosts = database ? resolution.hosts.map(databaseHostPlan) : resolution.hosts;
    if (resolution.executor !== 'volume-snapshot') {
      for (const h of action.hosts) {
        if (!h.restores) {
          diagnostics.push(
            diagnosticAt(
              m,
              rules.length ? rulesPath : ['spec'],
              'warning',
              h.rule === undefined
                ? `host ${h.host}: no rule matches, nothing will be restored there`
                : `host ${h.host}: rule ${h.rule} names neither paths nor snapshots, nothing will be restored there`,
              'key',
            ),
          );
        }
      }
      const names = new Set(resolution.hosts.map((h) => h.host));
      for (const [i, r] of rules.entries()) {
        for (const [j, h] of (r.targetHosts ?? []).entries()) {
          if (names.has(h)) continue;
          diagnostics.push(
            diagnosticAt(
              m,
              [...rulesPath, i, 'targetHosts', j],
              'warning',
              `rule ${i} names host "${h}", which this target does not have (its hosts: ${[...names].join(', ') || 'none'})`,
            ),
          );
        }
      }
    }
  } else if (!cluster || !s.spec.target?.ref || cluster.covers(s.spec.target.ref.kind)) {
    // A state that does not list workloads at all (the daemon's) leaves hosts to the controller.
    diagnostics.push(diagnosticAt(m, ['spec', 'target', 'ref'], 'warning', `hosts unknown: ${resolution.reason}`, 'key'));
  }

  // A manifest with an error is never applied: no CR, no ledger entry, whatever the cluster holds.
  const refused = errorsReason(m, ctx) ?? repositoryReason(s, ctx);
  if (refused) return { ...action, action: 'blocked', reason: refused };
  const live = cluster?.get<RestoreSession>('RestoreSession', namespace, s.metadata.name);
  // The ledger wins over the cluster: a final execution never runs again, even if its CR is gone.
  const entry = ledger?.get(id);
  if (entry && FINAL_LEDGER_PHASES.has(entry.phase)) {
    return {
      ...action,
      action: 'noop',
      reason: `already ran: ${entry.phase}${entry.finishedAt ? ` at ${entry.finishedAt}` : ''} (bump metadata.annotations["restore.gitops/rerun"] to run it again)`,
    };
  }
  if (!live) {
    if (entry?.phase === 'Accepted') return { ...action, reason: 'accepted in the ledger but not created yet: creating it now' };
    if (entry)
      return {
        ...action,
        action: 'noop',
        interrupted: true,
        reason: `the RestoreSession vanished while ${entry.phase}: recorded as Interrupted and not run again (bump restore.gitops/rerun to run it again)`,
      };
    return action;
  }
  return { ...action, ...decideAgainstLive(s, id, live) };
}

/**
 * A declared restore whose session exists in the cluster (DESIGN §2): the same content → noop; a
 * bumped `restore.gitops/rerun` → the spec now in git runs again once the live session is final
 * (whether the spec changed or not); a changed spec without a bump → blocked, saying so.
 */
export function decideAgainstLive(s: RestoreSession, id: string, live: RestoreSession): Pick<Action, 'action' | 'reason'> {
  const liveId = live.metadata.annotations?.[CONTENT_ID_ANNOTATION] ?? contentId(live);
  const phase = live.status?.phase ?? 'Pending';
  if (liveId === id) return { action: 'noop', reason: `already created (phase ${phase})` };
  const bumped = (s.metadata.annotations?.[RERUN_ANNOTATION] ?? null) !== (live.metadata.annotations?.[RERUN_ANNOTATION] ?? null);
  if (bumped) {
    if (!isFinalPhase(live.status?.phase))
      return {
        action: 'blocked',
        reason: `restore.gitops/rerun changed while the session is ${phase}: the spec now in git runs once the current run is final`,
      };
    return { action: 'rerun', reason: `restore.gitops/rerun changed: the ${phase} session is replaced and the spec now in git runs` };
  }
  return {
    action: 'blocked',
    reason: `the spec changed but restore.gitops/rerun did not, and RestoreSession specs are immutable: rename the session to run a new restore, or bump metadata.annotations["restore.gitops/rerun"] to run the new spec in place of the ${phase} session`,
  };
}

function planPrunes(desired: DesiredSet, cluster: ClusterView): Action[] {
  const declared = new Set(desired.sessions.map((m) => `${m.object.metadata.namespace}/${m.object.metadata.name}`));
  const out: Action[] = [];
  for (const live of cluster.list<RestoreSession>('RestoreSession')) {
    if (live.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) continue;
    const namespace = live.metadata.namespace ?? 'default';
    const key = `${namespace}/${live.metadata.name}`;
    // A manifest that is present but refused (a typo) must not prune the session it declares.
    if (declared.has(key) || desired.refused.has(`RestoreSession/${key}`)) continue;
    const source = live.metadata.annotations?.[SOURCE_ANNOTATION] ?? '';
    const base: Action = {
      action: 'prune',
      kind: 'RestoreSession',
      namespace,
      name: live.metadata.name,
      file: source.includes(':') ? source.slice(source.lastIndexOf(':') + 1) : '',
      contentId: live.metadata.annotations?.[CONTENT_ID_ANNOTATION] ?? contentId(live),
    };
    const phase = live.status?.phase;
    out.push(
      isFinalPhase(phase)
        ? { ...base, reason: `removed from the source; ${phase}` }
        : { ...base, action: 'blocked', reason: `removed from the source but still ${phase ?? 'Pending'}: pruned once final` },
    );
  }
  return out;
}

/**
 * A DaemonSet's hosts are its nodes: a cluster state that holds the DaemonSet but no Node (an
 * export without `nodes`) cannot tell them, and an empty host list would read as "restores nothing".
 */
function noNodesFor(s: RestoreSession, target: KubeObject | undefined, cluster: ClusterView | undefined): ReturnType<typeof resolveHosts> | undefined {
  if (
    target?.kind !== 'DaemonSet' ||
    !cluster ||
    cluster.nodes().length ||
    chooseExecutor(s) !== 'init-container' ||
    s.spec.target?.volumeClaimTemplates?.length
  )
    return undefined;
  const desired = (target['status'] as { desiredNumberScheduled?: number } | undefined)?.desiredNumberScheduled;
  return {
    executor: 'init-container',
    known: false,
    reason:
      `DaemonSet ${target.metadata.name} has one host per node it runs on${desired !== undefined ? ` (${desired} by its status)` : ''}, and the cluster state lists no Nodes; ` +
      'add them to the export (`kubectl get nodes -o yaml`, or "nodes" in the `kubectl get` list) to see its hosts and what each restores',
  };
}

/** The number of pods a workload runs, when the live object tells. */
function podsOf(target: KubeObject | undefined): number | undefined {
  if (!target) return undefined;
  if (target.kind === 'DaemonSet') return (target['status'] as { desiredNumberScheduled?: number } | undefined)?.desiredNumberScheduled;
  return (target['spec'] as { replicas?: number } | undefined)?.replicas ?? 1;
}

function effectOf(s: RestoreSession, executor: Action['executor'], hosts: number | undefined, target: KubeObject | undefined): string {
  const ref = s.spec.target?.ref;
  const count = (n: number | undefined, one: string, many: string) => (n === undefined ? `its ${many}` : n === 1 ? `1 ${one}` : `${n} ${many}`);
  switch (executor) {
    case 'init-container':
      return `restarts ${ref!.kind} ${ref!.name}: ${count(podsOf(target), 'pod', 'pods')} roll with the restore init-container, and roll again when the session is removed`;
    case 'volume-snapshot':
      return `creates ${count(hosts, 'PVC', 'PVCs')} from VolumeSnapshots; no pod restarts`;
    default: {
      const claims = s.spec.target?.volumeClaimTemplates?.length ? ', creating the PVCs from volumeClaimTemplates' : '';
      const into = ref ? ` into ${ref.kind} ${ref.name}` : '';
      return `runs ${count(hosts, 'restore Job', 'restore Jobs')}${into}${claims}; no workload restarts`;
    }
  }
}

/** What a built-in database restore restores into (the server only when the cluster state has the AppBinding and it names one). */
export function databasePlan(t: BuiltInDatabaseTask | undefined, namespace: string, name: string, ab: AppBinding | undefined): DatabasePlan | undefined {
  if (!t) return undefined;
  const plan: DatabasePlan = { database: t.addon.title, dumpFile: t.addon.dumpFile, appBinding: `${namespace}/${name}` };
  if (ab?.spec?.clientConfig) {
    try {
      plan.server = serverName(serverOf(ab, t.addon.defaultPort));
    } catch {
      // an AppBinding without url or service: the agent says so when it runs
    }
  }
  return plan;
}
