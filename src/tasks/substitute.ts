// Stash's variable substitution (gomodules.xyz/envsubst EvalMap, as stashed/stash pkg/resolver
// applies it to a Task and each Function): `${NAME}` is the variable's value and an error when it
// is not set; `${NAME:=default}`, `${NAME:-default}` and `${NAME=default}` give the default only
// when the variable is not set (a variable set to "" stays ""); `$$` is a literal `$`; a bare
// `$NAME` is left as it is (Kubernetes expands `$(NAME)` from the container's env later).
import { TaskError } from './errors.ts';

export type Variables = Readonly<Record<string, string>>;

const NAME = /^[A-Za-z0-9_]+/;
const DEFAULT_OPS = [':=', ':-', '='] as const;

/** `text` with Stash's variables substituted; throws a TaskError naming the variable at fault. */
export function substitute(text: string, vars: Variables): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next !== '{') {
      out += c;
      i++;
      continue;
    }
    const close = text.indexOf('}', i + 2);
    if (close < 0) throw new TaskError('VariableSyntax', `unclosed "\${" in ${JSON.stringify(text)}`, { text });
    const body = text.slice(i + 2, close);
    const name = NAME.exec(body)?.[0];
    if (!name) throw new TaskError('VariableSyntax', `"\${${body}}" names no variable (in ${JSON.stringify(text)})`, { text });
    const rest = body.slice(name.length);
    const set = Object.hasOwn(vars, name);
    if (rest === '') {
      if (!set) throw new TaskError('VariableNotFound', `variable ${name} is not set and "\${${name}}" has no default`, { variable: name, text });
      out += vars[name];
    } else {
      const op = DEFAULT_OPS.find((o) => rest.startsWith(o));
      if (!op)
        throw new TaskError('VariableSyntax', `"\${${body}}": only \${NAME}, \${NAME:=default}, \${NAME:-default} and \${NAME=default} are supported`, {
          variable: name,
          text,
        });
      out += set ? vars[name] : rest.slice(op.length);
    }
    i = close + 1;
  }
  return out;
}

/** Every string inside `value` (arrays and object values, not keys) substituted; a new value. */
export function substituteDeep<T>(value: T, vars: Variables): T {
  if (typeof value === 'string') return substitute(value, vars) as T;
  if (Array.isArray(value)) return value.map((v) => substituteDeep(v, vars)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteDeep(v, vars)])) as T;
  }
  return value;
}
