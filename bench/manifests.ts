// The RestoreSession the git and cycle benchmarks declare by the thousand: a StatefulSet target
// restoring one path, so every manifest costs the loader, planner and status writer the same.
export function restoreSessionYaml(o: { name: string; namespace: string; repository: string; rerun?: number }): string {
  const annotations = o.rerun === undefined ? '' : `  annotations:\n    restore.gitops/rerun: "${o.rerun}"\n`;
  return `apiVersion: stash.appscode.com/v1beta1
kind: RestoreSession
metadata:
  name: ${o.name}
  namespace: ${o.namespace}
${annotations}spec:
  repository:
    name: ${o.repository}
  target:
    ref:
      apiVersion: apps/v1
      kind: StatefulSet
      name: db-${o.name.replace(/^restore-/, '')}
    volumeMounts:
      - name: data
        mountPath: /var/lib/data
    rules:
      - paths: ["/var/lib/data"]
`;
}
