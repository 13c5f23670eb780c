// Loader/Validator (DESIGN §1): manifest files in, desired set and diagnostics out.
export type { Diagnostic, Severity } from './diagnostic.ts';
export { formatDiagnostic, hasErrors, sortDiagnostics } from './diagnostic.ts';
export type { SourceFile } from './files.ts';
export { decodeManifest, listManifestFiles, readManifestPaths } from './files.ts';
export { YAML_LIMITS } from './yaml-source.ts';
export type { Manifest, LoadedObjects } from './load.ts';
export { diagnosticAt, FileCache, loadObjects, loadObjectsYielding } from './load.ts';
export type { DesiredSet, LoadOptions } from './desired.ts';
export { AdmissionCache, desiredFromObjects, loadDesired } from './desired.ts';
export {
  CheckCache,
  checkDesired,
  checkDesiredObjects,
  checkRepository,
  checkSession,
  checkSessionSpec,
  checkSessionReferences,
  checkSessionTask,
} from './checks.ts';
export { ClusterState, recordedCluster } from './cluster-state.ts';
export type { ClusterView } from './cluster-state.ts';
export { checkTask, sessionTask } from './task-checks.ts';
export type { SessionTask } from './task-checks.ts';

import type { SourceFile } from './files.ts';
import type { DesiredSet, LoadOptions } from './desired.ts';
import { AdmissionCache, desiredFromObjects } from './desired.ts';
import { CheckCache, checkDesiredObjects } from './checks.ts';
import type { ClusterView } from './cluster-state.ts';
import { FileCache, loadObjects } from './load.ts';

/**
 * What validation keeps from one run to the next (issue 16: work follows the change): each file's
 * parse while its text is the same, each object's schema check and defaults while its manifest
 * is, and each object's checks while everything they read (other files' objects, the cluster
 * state) answers the same. Each run keeps only what is still present.
 */
export class ValidationCache {
  readonly files = new FileCache();
  readonly admissions = new AdmissionCache();
  readonly checks = new CheckCache();
}

/** Load, schema-check and semantically check a source revision's files in one go (with a cache: what changed). */
export function validateSource(files: SourceFile[], cluster: ClusterView | undefined, opts: LoadOptions = {}, cache?: ValidationCache): DesiredSet {
  const desired = desiredFromObjects(loadObjects(files, cache?.files), opts, cache?.admissions);
  return checkDesiredObjects(desired, cluster, cache?.checks);
}

import type { RestoreSession } from '../api/restoresession.ts';
import { MANAGED_KINDS, manifestSchema } from '../api/crds.ts';
import { formatPath, validateSchema } from '../api/openapi.ts';
import { checkSessionSpec } from './checks.ts';
import type { Diagnostic } from './diagnostic.ts';

/**
 * The checks a session created in a cluster gets (the controller's admission-time validation):
 * schema and the SPEC's rules, without positions (there is no file). Errors only.
 */
export function validateLiveSession(session: RestoreSession): Diagnostic[] {
  const where = `RestoreSession ${session.metadata.namespace}/${session.metadata.name}`;
  const schema = manifestSchema(MANAGED_KINDS.find((k) => k.kind === 'RestoreSession')!);
  const { status: _status, ...object } = session;
  const schemaErrors: Diagnostic[] = validateSchema(schema, {
    ...object,
    metadata: { name: session.metadata.name, namespace: session.metadata.namespace },
  }).map((v) => ({
    file: where,
    line: 0,
    column: 0,
    path: formatPath(v.path),
    severity: 'error',
    message: v.message,
  }));
  const spec = checkSessionSpec({ object: session, file: where, doc: 0, text: '' }).map((d) => ({ ...d, line: 0, column: 0 }));
  return [...schemaErrors, ...spec].filter((d) => d.severity === 'error');
}
