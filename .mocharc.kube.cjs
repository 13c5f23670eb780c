// `npm run test:kube`: the suites written for both engines, on the real kube-apiserver engine
// (RESTORE_ENGINE=kube-apiserver; test/support/sandbox.ts shares one engine across them and the
// root hook in test/support/engine-hooks.ts stops it). `npm test` runs this after the embedded pass.
module.exports = {
  import: ['@restore-controller/devkit/register'],
  require: ['test/support/engine-hooks.ts'],
  extension: ['ts'],
  spec: [
    'test/e2e/restores.test.ts',
    // kills and restarts kube-apiserver of the shared engine: the suites after it run on an engine
    // whose parts (controller-manager, kubelets, provisioner) came through an API server failover.
    'test/faults/api-server-restart.test.ts',
    'test/e2e/controller-restart.test.ts',
    'test/controller/reconcile.test.ts',
    'test/controller/usage-policy.test.ts',
    'test/controller/job-service-account.test.ts',
    'test/controller/stuck-agents.test.ts',
    'test/controller/volume-snapshot-outcomes.test.ts',
    'test/kube/conformance.test.ts',
    'test/kube/rest.test.ts',
    'test/daemon/daemon.test.ts',
    'test/daemon/crash.test.ts',
    'packages/devkit/test/demo/demo.test.ts',
  ],
  timeout: 60000,
  'forbid-only': true,
};
