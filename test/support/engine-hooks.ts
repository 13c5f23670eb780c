// Mocha root hook plugin of `npm run test:kube` (.mocharc.kube.cjs): without Go and without a
// cached control-plane build every suite of the run skips, saying why; after the run, the
// kube-apiserver engine the suites shared is stopped.
import { skipUnlessKubeEngine } from '@restore-controller/devkit/engine/testing';
import { stopSharedEngine } from './sandbox.ts';

export const mochaHooks = {
  beforeAll(this: { skip(): void }) {
    skipUnlessKubeEngine(this);
  },
  async afterAll(this: { timeout(ms: number): void }) {
    this.timeout(60_000);
    await stopSharedEngine();
  },
};
