// Loader/Validator (DESIGN §1): manifest files in, desired set and diagnostics out.
export type { Diagnostic, Severity } from './diagnostic.ts';
export { formatDiagnostic, hasErrors, sortDiagnostics } from './diagnostic.ts';
export type { SourceFile } from './files.ts';
export { decodeManifest, listManifestFiles, readManifestPaths } from './files.ts';
export { YAML_LIMITS } from './yaml-source.ts';
export type { Manifest, LoadedObjects } from './load.ts';
export { diagnosticAt, loadObjects, loadObjectsYielding } from './load.ts';
export type { DesiredSet, LoadOptions } from './desired.ts';
export { desiredFromObjects, loadDesired } from './desired.ts';
export { checkDesired, checkDesiredObjects, checkRepository, checkSession, checkSessionSpec, checkSessionReferences, checkSessionTask } from './checks.ts';
export { ClusterState } from './cluster-state.ts';
export { checkTask, sessionTask } from './task-checks.ts';
export type { SessionTask } from './task-checks.ts';

import type { SourceFile } from './files.ts';
import type { DesiredSet, LoadOptions } from './desired.ts';
import { loadDesired } from './desired.ts';
import { checkDesiredObjects } from './checks.ts';
import type { ClusterState } from './cluster-state.ts';

/** Load, schema-check and semantically check a source revision's files in one go. */
export function validateSource(files: SourceFile[], cluster: ClusterState | undefined, opts: LoadOptions = {}): DesiredSet {
  const desired = loadDesired(files, opts);
  return checkDesiredObjects(desired, cluster);
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
