// A Task resolved into the pod of a restore Job, as stashed/stash pkg/resolver/task.go getPodSpec
// builds it: each step's Function becomes a container (its image, command, args, env, volume
// mounts and runtime settings, with Stash's variables substituted: the step's params, overridden
// by the session's variables, plus ADDON_IMAGE), every container mounts the scratch emptyDir at
// /stash-tmp, the last step is the main container and the others run before it as
// init-containers, and the session's runtimeSettings and tempDir apply. Pure: the caller looks the
// Task and its Functions up and builds the Job around the pod.
import type { Container, ContainerEnvVar, ContainerVolumeMount, PodSpec, Volume } from '../api/core.ts';
import type { ContainerRuntimeSettings, RestoreSession } from '../api/restoresession.ts';
import type { StashFunction, Task } from '../api/task.ts';
import { TaskError } from './errors.ts';
import { substituteDeep } from './substitute.ts';
import type { Variables } from './substitute.ts';
import { INTERIM_MOUNT_PATH, INTERIM_VOLUME, TMP_DIR, TMP_VOLUME } from './variables.ts';

export interface ResolvedTask {
  task: string;
  /** One per step, in order: the Function's name and the container built from it. */
  steps: { function: string; container: Container }[];
  /** The Job's pod: steps but the last as init-containers, the last as the container. */
  podSpec: PodSpec;
}

export interface ResolveOptions {
  /** The interim PVC's name, when the session has an interimVolumeTemplate (the controller creates it). */
  interimClaimName?: string;
}

function upsertBy<T>(list: readonly T[], item: T, same: (a: T, b: T) => boolean): T[] {
  const i = list.findIndex((x) => same(x, item));
  return i < 0 ? [...list, item] : list.map((x, j) => (j === i ? item : x));
}
const upsertEnv = (env: readonly ContainerEnvVar[], add: readonly ContainerEnvVar[]) =>
  add.reduce<ContainerEnvVar[]>((acc, e) => upsertBy(acc, e, (a, b) => a.name === b.name), [...env]);
const upsertMountByPath = (mounts: readonly ContainerVolumeMount[], m: ContainerVolumeMount) => upsertBy(mounts, m, (a, b) => a.mountPath === b.mountPath);
const upsertMount = (mounts: readonly ContainerVolumeMount[], m: ContainerVolumeMount) => upsertBy(mounts, m, (a, b) => a.name === b.name);

/**
 * kmodules offshoot-api ApplyContainerRuntimeSettings: what is set replaces the container's, env
 * is upserted by name, envFrom appended, nice/ionice passed as env. One fix: resource requests
 * apply when requests are given (Stash's copy applies them only when limits are given).
 */
export function applyContainerSettings(c: Container, s: ContainerRuntimeSettings | undefined): Container {
  if (!s) return c;
  const out: Container = { ...c };
  const resources = { ...((c.resources as Record<string, unknown> | undefined) ?? {}) };
  if (s.resources?.limits && Object.keys(s.resources.limits).length) resources['limits'] = s.resources.limits;
  if (s.resources?.requests && Object.keys(s.resources.requests).length) resources['requests'] = s.resources.requests;
  if (Object.keys(resources).length) out.resources = resources;
  if (s.livenessProbe) out['livenessProbe'] = s.livenessProbe;
  if (s.readinessProbe) out['readinessProbe'] = s.readinessProbe;
  if (s.lifecycle) out['lifecycle'] = s.lifecycle;
  if (s.securityContext) out.securityContext = s.securityContext;
  if (s.envFrom?.length) out.envFrom = [...(c.envFrom ?? []), ...s.envFrom];
  const env: ContainerEnvVar[] = [...((s.env ?? []) as ContainerEnvVar[])];
  if (s.nice?.adjustment !== undefined) env.push({ name: 'NICE_ADJUSTMENT', value: String(s.nice.adjustment) });
  if (s.ionice?.class !== undefined) env.push({ name: 'IONICE_CLASS', value: String(s.ionice.class) });
  if (s.ionice?.classData !== undefined) env.push({ name: 'IONICE_CLASS_DATA', value: String(s.ionice.classData) });
  if (env.length) out.env = upsertEnv(c.env ?? [], env);
  return out;
}

function resolving<T>(what: { task: string; function?: string }, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof TaskError)) throw e;
    const where = what.function ? `Function ${what.function} of Task ${what.task}` : `Task ${what.task}`;
    throw new TaskError(e.code, `cannot resolve ${where}: ${e.message}`, { ...e.data, ...what }, { cause: e });
  }
}

/**
 * Resolves `task` for `session` with `variables` (stashVariables). `functionOf` finds a Function by
 * name (undefined when the cluster has none).
 */
export function resolveTask(
  session: RestoreSession,
  task: Task,
  functionOf: (name: string) => StashFunction | undefined,
  variables: Variables,
  opts: ResolveOptions = {},
): ResolvedTask {
  const name = task.metadata.name;
  const spec = resolving({ task: name }, () => substituteDeep(task.spec ?? {}, variables));
  const stepRefs = spec.steps ?? [];
  if (!stepRefs.length) throw new TaskError('TaskHasNoSteps', `Task ${name} has no steps: its restore Job would have no container`, { task: name });
  const steps = stepRefs.map((step, i) => {
    const fnName = step.name ?? '';
    const fn = functionOf(fnName);
    if (!fn)
      throw new TaskError(
        'FunctionNotFound',
        `Function ${fnName || '(unnamed)'} of Task ${name} (step ${i}) is not in the cluster: install it (Stash's catalog installs a Task's Functions with it)`,
        { task: name, function: fnName },
      );
    const inputs: Record<string, string> = {};
    for (const p of step.params ?? []) inputs[p.name] = p.value;
    Object.assign(inputs, variables, { ADDON_IMAGE: fn.spec?.image ?? '' });
    const f = resolving({ task: name, function: fnName }, () => substituteDeep(fn.spec ?? {}, inputs));
    const rt = f.runtimeSettings;
    let container: Container = {
      name: `${fn.metadata.name.replaceAll('.', '-')}-${i}`,
      image: f.image,
      ...(f.command ? { command: f.command } : {}),
      ...(f.args ? { args: f.args } : {}),
      ...(f.workingDir ? { workingDir: f.workingDir } : {}),
      ...(f.ports ? { ports: f.ports } : {}),
      ...(rt?.envFrom ? { envFrom: rt.envFrom } : {}),
      ...(rt?.env ? { env: rt.env as ContainerEnvVar[] } : {}),
      volumeMounts: upsertMountByPath(f.volumeMounts ?? [], { name: TMP_VOLUME, mountPath: TMP_DIR }),
      ...(f.volumeDevices ? { volumeDevices: f.volumeDevices } : {}),
      ...(rt?.resources ? { resources: rt.resources } : {}),
      ...(rt?.livenessProbe ? { livenessProbe: rt.livenessProbe } : {}),
      ...(rt?.readinessProbe ? { readinessProbe: rt.readinessProbe } : {}),
      ...(rt?.lifecycle ? { lifecycle: rt.lifecycle } : {}),
      ...(rt?.securityContext ? { securityContext: rt.securityContext } : {}),
      imagePullPolicy: 'IfNotPresent',
    };
    container = applyContainerSettings(container, session.spec.runtimeSettings?.container);
    return { function: fnName, container };
  });

  const tempDir = session.spec.tempDir;
  const tmp: Volume = {
    name: TMP_VOLUME,
    emptyDir: { ...(tempDir?.medium ? { medium: tempDir.medium } : {}), ...(tempDir?.sizeLimit !== undefined ? { sizeLimit: tempDir.sizeLimit } : {}) },
  };
  let volumes = upsertBy(spec.volumes ?? [], tmp, (a, b) => a.name === b.name);
  if (opts.interimClaimName) {
    volumes = upsertBy(volumes, { name: INTERIM_VOLUME, persistentVolumeClaim: { claimName: opts.interimClaimName } }, (a, b) => a.name === b.name);
    for (const s of steps)
      s.container = { ...s.container, volumeMounts: upsertMount(s.container.volumeMounts ?? [], { name: INTERIM_VOLUME, mountPath: INTERIM_MOUNT_PATH }) };
  }
  // Restores run as root unless the session says otherwise (pkg/resolver setDefaultSecurityContextForRestore).
  const securityContext = { runAsUser: 0, runAsGroup: 0, ...(session.spec.runtimeSettings?.pod?.securityContext ?? {}) };
  const containers = steps.map((s) => s.container);
  const podSpec: PodSpec = {
    ...(containers.length > 1 ? { initContainers: containers.slice(0, -1) } : {}),
    containers: containers.slice(-1),
    volumes,
    restartPolicy: 'Never',
    securityContext,
  };
  return { task: name, steps, podSpec };
}
