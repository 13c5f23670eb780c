// `restorectl run --namespace NS`: a daemon confined to one namespace (the namespaced install, whose
// Role grants nothing elsewhere). Objects declared for another namespace, and sessions that use a
// Repository in another namespace, are refused with an error diagnostic and never applied; objects
// that name no namespace go into NS, as with `kubectl apply -n NS`.
import { objectKey } from '../api/meta.ts';
import { repositoryOf } from '../api/restoresession.ts';
import type { ClusterView, DesiredSet, LoadedObjects, Manifest, ValidationCache } from '../manifests/index.ts';
import { checkDesiredObjects, desiredFromObjects, diagnosticAt } from '../manifests/index.ts';

/**
 * The daemon's validation of parsed objects (loadObjectsYielding), confined to `namespace` when
 * given: refused objects are not checked further. With the daemon's cache, only what changed is checked again.
 */
export function validateLoaded(loaded: LoadedObjects, cluster: ClusterView, namespace: string | undefined, cache?: ValidationCache): DesiredSet {
  if (!namespace) return checkDesiredObjects(desiredFromObjects(loaded, {}, cache?.admissions), cluster, cache?.checks);
  return checkDesiredObjects(
    confineToNamespace(desiredFromObjects(loaded, { defaultNamespace: namespace }, cache?.admissions), namespace),
    cluster,
    cache?.checks,
  );
}

export function confineToNamespace(desired: DesiredSet, namespace: string): DesiredSet {
  const diagnostics = [...desired.diagnostics];
  const refused = new Set(desired.refused);
  const inside = <T extends Manifest>(m: T): boolean => {
    const { kind, metadata } = m.object;
    if (metadata.namespace !== namespace) {
      diagnostics.push(
        diagnosticAt(
          m,
          ['metadata', 'namespace'],
          'error',
          `${kind} ${metadata.namespace}/${metadata.name} refused: this daemon runs with --namespace ${namespace} and applies nothing in namespace ${metadata.namespace}; move it to a folder a daemon of that namespace follows, or set metadata.namespace: ${namespace}`,
        ),
      );
      refused.add(objectKey(m.object));
      return false;
    }
    return true;
  };
  const repositories = desired.repositories.filter(inside);
  const sessions = desired.sessions.filter(inside).filter((m) => {
    const repo = repositoryOf(m.object);
    if (!repo || repo.namespace === namespace) return true;
    diagnostics.push(
      diagnosticAt(
        m,
        ['spec', 'repository', 'namespace'],
        'error',
        `RestoreSession ${namespace}/${m.object.metadata.name} refused: its Repository ${repo.namespace}/${repo.name} is outside namespace ${namespace}, which this daemon (--namespace ${namespace}) cannot read; use a Repository in ${namespace}`,
      ),
    );
    refused.add(objectKey(m.object));
    return false;
  });
  return { sessions, repositories, refused, diagnostics };
}
