// Planner (DESIGN §1–2): desired set + live state → Plan, and its renderings.
export type { Action, ActionType, Plan } from './types.ts';
export { planRestores } from './plan.ts';
export type { LedgerEntry, LedgerView, PlanInput } from './plan.ts';
export { contentId, canonical, normalisedSpec } from './content-id.ts';
export { planToJson, planToMarkdown, planToText } from './render.ts';
