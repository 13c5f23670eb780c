// Which snapshot each restore step of this host is pinned to before the agent runs restic (issue
// 15, "what was reviewed is what runs"). Pure. In order of precedence:
// 1. the session's `restore.gitops/snapshots` annotation (the daemon pinned it at accept time);
// 2. the host's own Running stat, recorded by an earlier run of this agent before it restored (a
//    restarted pod restores what that run pinned, never a `latest` resolved anew);
// 3. nothing: the restorer pins `latest` itself, and the agent records it before restic restores.
import { SNAPSHOTS_ANNOTATION } from '../api/meta.ts';
import type { RestoreSession } from '../api/restoresession.ts';
import { parseSnapshotPins } from '../api/snapshot-pins.ts';
import type { HostPlan } from '../hosts/types.ts';
import { hostStat } from '../session/host-stats.ts';
import { AgentError } from './errors.ts';

/** One step's pin as the restorer takes it. */
export interface StepPin {
  id: string;
  time?: string;
  by: 'daemon' | 'agent';
}

/** The restore steps of a host plan, in the order restic runs them: each id of `snapshots`, or `latest` per path. */
export function stepRequests(plan: Pick<HostPlan, 'snapshots' | 'paths'>): { requested: string; path?: string }[] {
  if (plan.snapshots?.length) return plan.snapshots.map((requested) => ({ requested }));
  return (plan.paths ?? []).map((path) => ({ requested: 'latest', path }));
}

/**
 * The pins of this host's steps, or undefined when nothing pinned them yet. Throws AgentError
 * SnapshotPinInvalid when the annotation cannot be read or does not fit the rule: restoring
 * anything else than what was pinned would defeat the pin.
 */
export function pinsForHost(session: RestoreSession, host: string, plan: Pick<HostPlan, 'snapshots' | 'paths'>): StepPin[] | undefined {
  const steps = stepRequests(plan);
  const key = `${session.metadata.namespace}/${session.metadata.name}`;
  const text = session.metadata.annotations?.[SNAPSHOTS_ANNOTATION];
  if (text !== undefined) {
    const parsed = parseSnapshotPins(text);
    const bad = (why: string) =>
      new AgentError(
        'SnapshotPinInvalid',
        `RestoreSession ${key}: annotation ${SNAPSHOTS_ANNOTATION} ${why}; the daemon writes it when it accepts the restore: bump restore.gitops/rerun in git to run it again with fresh pins`,
        { kind: 'RestoreSession', object: key },
      );
    if ('error' in parsed) throw bad(`cannot be read: ${parsed.error}`);
    const pins = parsed.pins[host];
    if (pins) {
      const fits = pins.length === steps.length && pins.every((p, i) => p.requested === steps[i]!.requested && (p.path ?? '') === (steps[i]!.path ?? ''));
      if (!fits) throw bad(`pins host ${host} to ${pins.length} step(s) that are not its rule's ${steps.length}`);
      return pins.map((p) => ({ id: p.id, ...(p.time ? { time: p.time } : {}), by: 'daemon' }));
    }
  }
  const stat = hostStat(session.status, host);
  if (stat?.phase === 'Running' && stat.snapshot) {
    const ids = stat.snapshot.split(',');
    const times = stat.snapshotTime?.split(',') ?? [];
    if (ids.length === steps.length) return ids.map((id, i) => ({ id, ...(times[i] ? { time: times[i] } : {}), by: 'agent' }));
  }
  return undefined;
}
