// The Applier (DESIGN §1): a Plan carried out against the Kubernetes API.
export { Applier, managedObject, sourceAnnotation } from './applier.ts';
export type { AppliedAction, SourceInfo } from './applier.ts';
