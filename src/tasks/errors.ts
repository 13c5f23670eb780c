// Why a Task cannot be resolved into the containers of a restore Job.
import { RestoreError } from '../common/errors.ts';

export type TaskErrorCode = 'TaskHasNoSteps' | 'FunctionNotFound' | 'VariableNotFound' | 'VariableSyntax' | 'TaskHooksNotRun';

export class TaskError extends RestoreError<TaskErrorCode, { task?: string; function?: string; variable?: string; text?: string }> {}
