// Kubernetes Events on an object (what `kubectl describe` shows). Best effort: failing to record
// an event never fails the work it reports on.
import type * as k8s from '@kubernetes/client-node';
import type { KubeObject } from '../api/meta.ts';

export interface EventSource {
  component: string;
  host?: string;
}

/** The one call recording an event makes (client-node's CoreV1Api has it, and so does the agent's client). */
export type EventApi = Pick<k8s.CoreV1Api, 'createNamespacedEvent'>;

export async function recordEvent(
  core: EventApi,
  on: KubeObject,
  type: 'Normal' | 'Warning',
  reason: string,
  message: string,
  source: EventSource,
): Promise<void> {
  const now = new Date();
  const namespace = on.metadata.namespace ?? 'default';
  try {
    await core.createNamespacedEvent({
      namespace,
      body: {
        metadata: { name: `${on.metadata.name}.${now.getTime().toString(16)}${Math.random().toString(16).slice(2, 8)}`, namespace },
        involvedObject: { apiVersion: on.apiVersion, kind: on.kind, name: on.metadata.name, namespace, uid: on.metadata.uid },
        reason,
        message,
        type,
        source,
        reportingComponent: source.component,
        ...(source.host ? { reportingInstance: source.host } : {}),
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      },
    });
  } catch {
    // best effort
  }
}
