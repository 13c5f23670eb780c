// Group/version/plural of the custom resources, as CustomObjectsApi wants them.
import { APP_BINDING_VERSION, APPCATALOG_GROUP } from '../api/appbinding.ts';
import { REPOSITORY_VERSION } from '../api/repository.ts';
import { RESTORE_SESSION_VERSION, STASH_GROUP } from '../api/restoresession.ts';
import { TASK_VERSION } from '../api/task.ts';

export const RESTORE_SESSIONS = { group: STASH_GROUP, version: RESTORE_SESSION_VERSION, plural: 'restoresessions' } as const;
export const REPOSITORIES = { group: STASH_GROUP, version: REPOSITORY_VERSION, plural: 'repositories' } as const;
/** Stash's Tasks and Functions (cluster-scoped) and the AppBindings database sessions target. */
export const TASKS = { group: STASH_GROUP, version: TASK_VERSION, plural: 'tasks' } as const;
export const FUNCTIONS = { group: STASH_GROUP, version: TASK_VERSION, plural: 'functions' } as const;
export const APP_BINDINGS = { group: APPCATALOG_GROUP, version: APP_BINDING_VERSION, plural: 'appbindings' } as const;

/** The REST path of a collection (what a watch or a list asks for), across namespaces or in one. */
export function collectionPath(apiVersion: string, plural: string, namespace: string | undefined): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`;
}
