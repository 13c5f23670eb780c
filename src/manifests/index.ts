// Loader/Validator (DESIGN §1): manifest files in, desired set and diagnostics out.
export type { Diagnostic, Severity } from './diagnostic.ts';
export { formatDiagnostic, hasErrors, sortDiagnostics } from './diagnostic.ts';
export type { SourceFile } from './files.ts';
export { listManifestFiles, readManifestPaths } from './files.ts';
export type { Manifest, LoadedObjects } from './load.ts';
export { diagnosticAt, loadObjects } from './load.ts';
export type { DesiredSet, LoadOptions } from './desired.ts';
export { loadDesired } from './desired.ts';
export { checkDesired, checkRepository, checkSession } from './checks.ts';
export { ClusterState } from './cluster-state.ts';

import type { SourceFile } from './files.ts';
import type { DesiredSet, LoadOptions } from './desired.ts';
import { loadDesired } from './desired.ts';
import { checkDesired } from './checks.ts';
import type { ClusterState } from './cluster-state.ts';

/** Load, schema-check and semantically check a source revision's files in one go. */
export function validateSource(files: SourceFile[], cluster: ClusterState | undefined, opts: LoadOptions = {}): DesiredSet {
  const desired = loadDesired(files, opts);
  desired.diagnostics.push(...checkDesired(desired, cluster));
  return desired;
}
