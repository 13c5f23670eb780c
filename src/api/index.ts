// The API model: RestoreSession and Repository types, what a Task restore reads (Function, Task,
// AppBinding, Stash's catalog names), their schemas and CRDs.
export * from './meta.ts';
export * from './restoresession.ts';
export * from './repository.ts';
export * from './task.ts';
export * from './appbinding.ts';
export * from './addons.ts';
export * from './crds.ts';
export { validateSchema, applyDefaults, pruneUnknown, formatPath } from './openapi.ts';
export type { Schema, SchemaViolation, FieldPath } from './openapi.ts';
