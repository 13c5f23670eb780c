// Defaults the real API server fills in for built-in kinds (the subset the simulator and clients
// read), and the initial status of kinds whose status the server owns.
import { randomUUID } from 'node:crypto';
import type { ResourceType } from './resources.ts';
import type { Obj } from './store.ts';

function podSpecDefaults(spec: any, restartPolicy = 'Always'): void {
  if (!spec) return;
  spec.restartPolicy ??= restartPolicy;
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    c.imagePullPolicy ??= /:latest$|^[^:]*$/.test(c.image ?? '') ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
  }
}

/** Fills defaults on create (and on update for templates). `obj` is changed in place. */
export function applyBuiltinDefaults(r: ResourceType, obj: Obj, creating: boolean): void {
  const spec = obj.spec;
  switch (`${r.group}/${r.plural}`) {
    case '/pods':
      podSpecDefaults(spec);
      break;
    case 'apps/deployments':
      spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      spec.progressDeadlineSeconds ??= 600;
      spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
      podSpecDefaults(spec.template?.spec);
      break;
    case 'apps/statefulsets':
      spec.replicas ??= 1;
      spec.podManagementPolicy ??= 'OrderedReady';
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
      spec.revisionHistoryLimit ??= 10;
      podSpecDefaults(spec.template?.spec);
      for (const t of spec.volumeClaimTemplates ?? []) {
        t.apiVersion ??= 'v1';
        t.kind ??= 'PersistentVolumeClaim';
        t.spec ??= {};
        t.spec.volumeMode ??= 'Filesystem';
      }
      break;
    case 'apps/daemonsets':
      spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } };
      spec.revisionHistoryLimit ??= 10;
      podSpecDefaults(spec.template?.spec);
      break;
    case 'batch/jobs': {
      spec.backoffLimit ??= 6;
      spec.completions ??= 1;
      spec.parallelism ??= 1;
      spec.completionMode ??= 'NonIndexed';
      spec.suspend ??= false;
      if (creating && spec.manualSelector !== true && !spec.selector) {
        const uid = obj.metadata.uid as string;
        spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
        spec.template ??= {};
        spec.template.metadata ??= {};
        spec.template.metadata.labels = {
          ...spec.template.metadata.labels,
          'batch.kubernetes.io/controller-uid': uid,
          'batch.kubernetes.io/job-name': obj.metadata.name,
          'controller-uid': uid,
          'job-name': obj.metadata.name,
        };
      }
      podSpecDefaults(spec.template?.spec, 'Never');
      break;
    }
    case '/persistentvolumeclaims':
      spec.volumeMode ??= 'Filesystem';
      break;
    case '/secrets':
      obj.type ??= 'Opaque';
      // stringData is write-only: the server merges it into data (base64) and drops it.
      if (obj.stringData && typeof obj.stringData === 'object') {
        obj.data = { ...(obj.data ?? {}) };
        for (const [k, v] of Object.entries(obj.stringData as Record<string, unknown>)) obj.data[k] = Buffer.from(String(v)).toString('base64');
        delete obj.stringData;
      }
      break;
    case '/namespaces':
      obj.spec ??= { finalizers: ['kubernetes'] };
      obj.metadata.labels = { ...obj.metadata.labels, 'kubernetes.io/metadata.name': obj.metadata.name };
      break;
  }
}

/** The status a kind starts with when the server owns it. */
export function initialStatus(r: ResourceType, _obj: Obj): unknown {
  switch (`${r.group}/${r.plural}`) {
    case '/pods':
      return { phase: 'Pending', qosClass: 'BestEffort' };
    case '/namespaces':
      return { phase: 'Active' };
    case '/persistentvolumeclaims':
      return { phase: 'Pending' };
    case 'apiextensions.k8s.io/customresourcedefinitions':
      return undefined;
    default:
      return r.builtin && r.statusSubresource ? {} : undefined;
  }
}

export function newUid(): string {
  return randomUUID();
}
