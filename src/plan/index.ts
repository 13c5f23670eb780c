// Planner (DESIGN §1–2): desired set + live state → Plan, and its renderings.
export type { Action, ActionType, Plan } from './types.ts';
export { PlanCache, planRestores } from './plan.ts';
export type { LedgerEntry, LedgerView, PlanInput } from './plan.ts';
export { contentId, canonical, normalisedSpec } from './content-id.ts';
export { planToJson, planToMarkdown, planToText } from './render.ts';
export { PLAN_COMMENT_MARKER } from './render.ts';
export type { Change, RemovedObject, Review, SnapshotPin } from './types.ts';
export { reviewChange } from './review.ts';
export type { ReviewBase } from './review.ts';
export { ledgerSessions } from './ledger-sessions.ts';
export type { LedgerRecord } from './ledger-sessions.ts';
export { chooseLatest, cleanSnapshotPath, findSnapshot, pinSnapshots, snapshotTime, SnapshotsUnavailable } from './pin-snapshots.ts';
export type { RepositoryRef, SnapshotQuery, SnapshotRecord, SnapshotSource } from './pin-snapshots.ts';
export { ResticSnapshotSource } from './restic-snapshots.ts';
export type { ResticSnapshotSourceOptions } from './restic-snapshots.ts';
