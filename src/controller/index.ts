// The Controller (DESIGN §1, SPEC Executor choice and Phase): RestoreSessions driven to a final phase.
export { Controller, needsWork } from './controller.ts';
export type { ControllerOptions } from './controller.ts';
export { FINALIZER, reconcileSession, sessionDeadline, nextStatus } from './reconcile.ts';
export type { ReconcileConfig, ReconcileResult } from './reconcile.ts';
export { ControllerCluster } from './cluster.ts';
export { ControllerError } from './errors.ts';
export type { ControllerErrorCode, ControllerErrorData } from './errors.ts';
export type { AgentImage } from './agent-container.ts';
export { WorkQueue } from './queue.ts';
