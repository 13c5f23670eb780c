// Mocha root hook plugin of `npm run test:kube` (.mocharc.kube.cjs): stops the kube-apiserver
// engine the suites shared, once every suite has run.
import { stopSharedEngine } from './sandbox.ts';

export const mochaHooks = {
  async afterAll(this: { timeout(ms: number): void }) {
    this.timeout(60_000);
    await stopSharedEngine();
  },
};
