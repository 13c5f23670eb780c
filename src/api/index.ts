// The API model: RestoreSession and Repository types, their schemas and CRDs.
export * from './meta.ts';
export * from './restoresession.ts';
export * from './repository.ts';
export * from './crds.ts';
export { validateSchema, applyDefaults, pruneUnknown, formatPath } from './openapi.ts';
export type { Schema, SchemaViolation, FieldPath } from './openapi.ts';
