// Import rules of restore-controller, checked in CI by `npm run lint` (dependency-cruiser).
// - no cycles anywhere;
// - src/ imports only downwards in the order below (DESIGN §1: the shared parts at the bottom, the
//   pipeline's stages in the order data flows, the wiring at the top); folders on one line are peers
//   and may not import each other unless a line says so;
// - the product (src/) never imports the tests, the benches or the dev kit (packages/devkit);
// - the dev kit reaches the product by its package name only.
/** Lowest first. */
const LAYERS = [
  ['common'],
  ['api'],
  ['git', 'session', 'hosts', 'kube'],
  ['restic', 'tasks'],
  ['source', 'manifests', 'databases'],
  ['plan'],
  ['apply', 'status', 'agent'],
  ['controller', 'notify'],
  ['daemon'],
  ['cli'],
];
const folder = (names) => `^src/(${names.join('|')})/`;
const upward = LAYERS.flatMap((names, i) => {
  const above = LAYERS.slice(i + 1).flat();
  const rules = [];
  if (above.length)
    rules.push({
      name: `layer-${names.join('-')}`,
      comment: `${names.join(', ')} may not import ${above.join(', ')} (above it in DESIGN order)`,
      severity: 'error',
      from: { path: folder(names) },
      to: { path: folder(above) },
    });
  for (const n of names) {
    const peers = names.filter((p) => p !== n);
    if (peers.length)
      rules.push({
        name: `peer-${n}`,
        comment: `${n} may not import its peers ${peers.join(', ')}`,
        severity: 'error',
        from: { path: folder([n]) },
        to: { path: folder(peers) },
      });
  }
  return rules;
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'an import cycle: split the shared part out', from: {}, to: { circular: true } },
    {
      name: 'src-not-test',
      severity: 'error',
      comment: 'the product never imports tests, benches, scripts or the dev kit',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts|packages)/|node_modules/@restore-controller/devkit' },
    },
    {
      name: 'devkit-by-name',
      severity: 'error',
      comment: 'the dev kit uses the product through its package name (restore-controller/...), never by a relative path into src/',
      from: { path: '^packages/devkit/' },
      to: { path: '^src/', dependencyTypes: ['local'] },
    },
    {
      name: 'src-known-folder',
      severity: 'error',
      comment: 'every folder of src/ has a place in LAYERS (.dependency-cruiser.cjs)',
      from: { path: '^src/', pathNot: `${folder(LAYERS.flat())}|^src/[^/]+$` },
      to: { path: '^src/' },
    },
    ...upward,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)node_modules/|\\.d\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // The dev kit imports the product as restore-controller/...: its exports map to src/ under this condition.
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.json'],
      conditionNames: ['restore-controller-source', 'import', 'node', 'default'],
      exportsFields: ['exports'],
    },
  },
};
