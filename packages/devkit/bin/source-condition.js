// A module.register() resolve hook: adds the `restore-controller-source` export condition.
export const CONDITION = 'restore-controller-source';

export async function resolve(specifier, context, nextResolve) {
  if (context.conditions.includes(CONDITION)) return nextResolve(specifier, context);
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, CONDITION] });
}
