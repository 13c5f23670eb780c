// The `task.params` of Stash's database restore Functions (`${args:=}`, `${waitTimeout:=300}`,
// `${user:=}`): extra client arguments (split on white space, as the addons' strings.Fields),
// how long to wait for the database, and PostgreSQL's user for certificate logins. Pure.
import type { RestoreSession } from '../api/restoresession.ts';
import { DEFAULT_WAIT_TIMEOUT_SECONDS } from './addons.ts';
import { DatabaseError } from './errors.ts';

export interface DatabaseParams {
  /** Extra arguments appended to the client's command line. */
  args: string[];
  waitTimeoutSeconds: number;
  user?: string;
}

export function databaseParams(session: Pick<RestoreSession, 'spec' | 'metadata'>): DatabaseParams {
  const params = new Map((session.spec.task?.params ?? []).map((p) => [p.name, String(p.value ?? '')]));
  const out: DatabaseParams = { args: (params.get('args') ?? '').split(/\s+/).filter(Boolean), waitTimeoutSeconds: DEFAULT_WAIT_TIMEOUT_SECONDS };
  const wait = params.get('waitTimeout');
  if (wait !== undefined && wait.trim() !== '') {
    if (!/^\d+$/.test(wait.trim())) {
      throw new DatabaseError(
        'TaskParamInvalid',
        `RestoreSession ${session.metadata.namespace}/${session.metadata.name}: task param waitTimeout ${JSON.stringify(wait)} is not a number of seconds (Stash's default is ${DEFAULT_WAIT_TIMEOUT_SECONDS})`,
        { param: 'waitTimeout' },
      );
    }
    out.waitTimeoutSeconds = Number(wait.trim());
  }
  const user = params.get('user');
  if (user) out.user = user;
  return out;
}
