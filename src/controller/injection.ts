// Init-container injection into a workload's pod template, and its exact removal (SPEC
// Executor choice). Pure: template in, template out; the caller writes it with resourceVersion.
import type { PodTemplateSpec, Volume, Container } from '../api/core.ts';
import { AGENT_VOLUME_NAMES, INIT_CONTAINER_NAME, withAgentToken } from './agent-container.ts';
import type { ServiceAccountTokenSetting } from './agent-container.ts';
import { SESSION_LABEL } from './claims.ts';

/** On the pod template: the hash of the session spec that was injected (so the same spec never rolls twice). */
export const SPEC_HASH_ANNOTATION = 'restore.gitops/restore-spec-hash';
/** On the pod template: which session injected (namespace/name). */
export const INJECTED_BY_ANNOTATION = 'restore.gitops/restore-session';
/** On the pod template: the imagePullSecrets the injection added (comma-separated), so removal takes exactly those. */
export const ADDED_PULL_SECRETS_ANNOTATION = 'restore.gitops/added-image-pull-secrets';
const OUR_ANNOTATIONS = [SPEC_HASH_ANNOTATION, INJECTED_BY_ANNOTATION, ADDED_PULL_SECRETS_ANNOTATION];

export interface Injection {
  container: Container;
  volumes: Volume[];
  specHash: string;
  session: string;
  /** The agent image's pull secrets: merged into the template's, never replacing them. */
  imagePullSecrets?: { name: string }[];
  /** The pods' ServiceAccount, when it exists: its `automountServiceAccountToken: false` (the pod saying nothing) leaves the agent to mount a token of its own. */
  serviceAccount?: ServiceAccountTokenSetting;
}

export function injectedHash(template: PodTemplateSpec): string | undefined {
  return template.metadata?.annotations?.[SPEC_HASH_ANNOTATION];
}

/**
 * The template with the agent prepended to initContainers, its volumes added and the spec hash
 * recorded. Any earlier injection is replaced, so injecting twice equals injecting once.
 */
export function injectInitContainer(template: PodTemplateSpec, inj: Injection): PodTemplateSpec {
  const clean = removeInjection(template);
  const out = structuredClone(clean);
  out.metadata = {
    ...out.metadata,
    annotations: { ...out.metadata?.annotations, [SPEC_HASH_ANNOTATION]: inj.specHash, [INJECTED_BY_ANNOTATION]: inj.session },
  };
  // The session's label on its pods, so the controller watches them with a label selector.
  const name = sessionName(inj.session);
  if (isLabelValue(name) && out.metadata.labels?.[SESSION_LABEL] === undefined) out.metadata.labels = { ...out.metadata.labels, [SESSION_LABEL]: name };
  out.spec.initContainers = [withContainerPorts(inj.container, out.spec.containers), ...(out.spec.initContainers ?? [])];
  const taken = new Set((out.spec.volumes ?? []).map((v) => v.name));
  out.spec.volumes = [...(out.spec.volumes ?? []), ...inj.volumes.filter((v) => !taken.has(v.name))];
  out.spec = withAgentToken(out.spec, INIT_CONTAINER_NAME, inj.serviceAccount);
  const have = new Set((out.spec.imagePullSecrets ?? []).map((s) => s.name));
  const added = (inj.imagePullSecrets ?? []).filter((s) => !have.has(s.name));
  if (added.length) {
    out.spec.imagePullSecrets = [...(out.spec.imagePullSecrets ?? []), ...added];
    out.metadata.annotations![ADDED_PULL_SECRETS_ANNOTATION] = added.map((s) => s.name).join(',');
  }
  return out;
}

/** The template as it was before injection: exactly what was added is removed, nothing else. */
export function removeInjection(template: PodTemplateSpec): PodTemplateSpec {
  const out = structuredClone(template);
  const annotations = out.metadata?.annotations;
  const addedSecrets = annotations?.[ADDED_PULL_SECRETS_ANNOTATION]?.split(',') ?? [];
  if (out.spec.imagePullSecrets && addedSecrets.length) {
    out.spec.imagePullSecrets = out.spec.imagePullSecrets.filter((s) => !addedSecrets.includes(s.name));
    if (out.spec.imagePullSecrets.length === 0) delete out.spec.imagePullSecrets;
  }
  if (annotations && OUR_ANNOTATIONS.some((a) => a in annotations)) {
    const labels = out.metadata!.labels;
    const injector = annotations[INJECTED_BY_ANNOTATION];
    if (labels && injector && labels[SESSION_LABEL] === sessionName(injector)) {
      delete labels[SESSION_LABEL];
      if (Object.keys(labels).length === 0) delete out.metadata!.labels;
    }
    for (const a of OUR_ANNOTATIONS) delete annotations[a];
    if (Object.keys(annotations).length === 0) delete out.metadata!.annotations;
    if (out.metadata && Object.keys(out.metadata).length === 0) delete out.metadata;
  }
  const hadAgent = out.spec.initContainers?.some((c) => c.name === INIT_CONTAINER_NAME);
  if (out.spec.initContainers && hadAgent) {
    out.spec.initContainers = out.spec.initContainers.filter((c) => c.name !== INIT_CONTAINER_NAME);
    if (out.spec.initContainers.length === 0) delete out.spec.initContainers;
  }
  if (out.spec.volumes && hadAgent) {
    out.spec.volumes = out.spec.volumes.filter((v) => !AGENT_VOLUME_NAMES.includes(v.name));
    if (out.spec.volumes.length === 0) delete out.spec.volumes;
  }
  return out;
}

/**
 * The agent learns the pod's named ports (RESTORE_CONTAINER_PORTS, container → name → number), so
 * a hook's `port: http` resolves as Stash's prober resolves it, without reading the pod.
 */
function withContainerPorts(agent: Container, containers: Container[]): Container {
  const ports: Record<string, Record<string, number>> = {};
  for (const c of containers) {
    for (const p of (c['ports'] ?? []) as { name?: string; containerPort?: number }[]) {
      if (p.name && p.containerPort) (ports[c.name] ??= {})[p.name] = p.containerPort;
    }
  }
  if (!Object.keys(ports).length) return agent;
  return {
    ...agent,
    env: [...(agent.env ?? []).filter((e) => e.name !== 'RESTORE_CONTAINER_PORTS'), { name: 'RESTORE_CONTAINER_PORTS', value: JSON.stringify(ports) }],
  };
}

/** `namespace/name` → name. */
function sessionName(key: string): string {
  return key.slice(key.indexOf('/') + 1);
}

/** Label values are at most 63 characters (a longer session name simply goes without the label). */
function isLabelValue(v: string): boolean {
  return v.length > 0 && v.length <= 63;
}
