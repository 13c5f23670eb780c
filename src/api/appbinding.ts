// The AppBinding API (appcatalog.appscode.com/v1alpha1, namespaced), as kmodules/custom-resources
// apis/appcatalog/v1alpha1/appbinding_types.go defines it: how to reach a database (a URL or a
// Service), its credentials Secret, and for KubeDB databases the Stash addon that backs it up
// and restores it (`spec.parameters.stash.addon`). A database RestoreSession targets one.
import type { KubeObject, ObjectMeta } from './meta.ts';
import { targetApiVersion } from './workloads.ts';

export const APPCATALOG_GROUP = 'appcatalog.appscode.com';
export const APP_BINDING_VERSION = 'v1alpha1';
export const APP_BINDING_API_VERSION = `${APPCATALOG_GROUP}/${APP_BINDING_VERSION}`;
export const APP_BINDING_KIND = 'AppBinding';

export interface AppServiceReference {
  scheme: string;
  name: string;
  namespace?: string;
  port: number;
  path?: string;
  query?: string;
}

export interface AppClientConfig {
  /** `[scheme://]host:port/path`; exactly one of url and service. */
  url?: string;
  service?: AppServiceReference;
  insecureSkipTLSVerify?: boolean;
  /** PEM, base64-encoded. */
  caBundle?: string;
  serverName?: string;
}

export interface TypedLocalObjectReference {
  apiGroup?: string;
  kind?: string;
  name: string;
}

export interface AppBindingSpec {
  type?: string;
  appRef?: { apiGroup?: string; kind?: string; name: string; namespace?: string };
  version?: string;
  clientConfig: AppClientConfig;
  secret?: TypedLocalObjectReference;
  secretTransforms?: Record<string, unknown>[];
  /** Free-form; `stash.addon.{backupTask,restoreTask}` name the addon's Tasks (KubeDB sets them). */
  parameters?: Record<string, unknown>;
  tlsSecret?: TypedLocalObjectReference;
}

export interface AppBinding extends KubeObject {
  apiVersion: typeof APP_BINDING_API_VERSION;
  kind: typeof APP_BINDING_KIND;
  metadata: ObjectMeta;
  spec: AppBindingSpec;
}

export function isAppBindingRef(ref: { apiVersion?: string; kind?: string } | undefined): boolean {
  return ref?.kind === APP_BINDING_KIND && (targetApiVersion(ref) ?? '').split('/')[0] === APPCATALOG_GROUP;
}

/**
 * The restore Task an AppBinding names in `spec.parameters.stash.addon.restoreTask` (what Stash
 * uses when the session names no task: stashed/apimachinery pkg/util/addon.go ExtractAddonInfo).
 */
export function addonRestoreTask(ab: AppBinding | undefined): { name: string; params: { name: string; value: string }[] } | undefined {
  const addon = (ab?.spec?.parameters as { stash?: { addon?: { restoreTask?: { name?: unknown; params?: unknown } } } } | undefined)?.stash?.addon;
  const name = addon?.restoreTask?.name;
  if (typeof name !== 'string' || !name) return undefined;
  const params = Array.isArray(addon?.restoreTask?.params) ? (addon.restoreTask.params as { name: string; value: string }[]) : [];
  return { name, params };
}
