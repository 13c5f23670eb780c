// RestoreSession semantics shared by the controller and the agent: conditions, phase, host
// stats, Go durations and the names of what a session creates. Pure.
export * from './conditions.ts';
export * from './phase.ts';
export * from './duration.ts';
export * from './host-stats.ts';
export * from './names.ts';
export * from './record.ts';
