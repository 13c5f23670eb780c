// The sandbox's public face: start one, point kubectl or client-node at its kubeconfig, stop it.
export { Sandbox } from './sandbox.ts';
export type { SandboxOptions } from './sandbox.ts';
export { SIMULATED_EXIT_CODE, imageRepository } from './sim/kubelet.ts';
export { sandboxKubeconfig } from './kubeconfig.ts';
