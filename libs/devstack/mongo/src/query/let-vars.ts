/**
 * The `let` command option (find, aggregate, update, delete, findAndModify): user variables for
 * aggregation expressions (`$expr` in filters, pipelines, pipeline-style updates). mingo evaluates
 * those expressions without command-level variables, so each `$$name` string naming a `let`
 * variable is replaced by the variable's value (an expression, as mongod treats `let` values)
 * before the command runs. Plain update operators (`$set: {x: '$$id'}`) store the string, as in
 * mongod, and are left alone.
 */
import type { Document } from 'bson';
import { CommandError } from '../errors';
import { isPlainObject } from './documents';

/** Substitutes `cmd.let` variables in place; refuses a malformed `let` as mongod does. */
export function applyLetVariables(cmd: Document): void {
  const vars: unknown = cmd.let;
  if (vars === undefined) return;
  if (!isPlainObject(vars))
    throw CommandError.of(
      'TypeMismatch',
      "BSON field 'let' is the wrong type, expected type 'object'",
    );
  for (const name of Object.keys(vars)) {
    if (!/^[a-z][A-Za-z0-9_]*$/.test(name))
      throw CommandError.of(
        'FailedToParse',
        `'${name}' starts with an invalid character for a user variable name`,
      );
  }
  if (Object.keys(vars).length === 0) return;
  const inFilter = (f: unknown): unknown => substituteInExpr(f, vars);
  for (const field of ['filter', 'query'])
    if (cmd[field] !== undefined) cmd[field] = inFilter(cmd[field]);
  if (Array.isArray(cmd.pipeline)) cmd.pipeline = substitute(cmd.pipeline, vars);
  if (Array.isArray(cmd.update)) cmd.update = substitute(cmd.update, vars);
  for (const list of [cmd.updates, cmd.deletes]) {
    if (!Array.isArray(list)) continue;
    for (const st of list) {
      if (!isPlainObject(st)) continue;
      if (st.q !== undefined) st.q = inFilter(st.q);
      if (Array.isArray(st.u)) st.u = substitute(st.u, vars);
    }
  }
}

/** In a query filter only `$expr` holds aggregation expressions. */
function substituteInExpr(v: unknown, vars: Document): unknown {
  if (Array.isArray(v)) return v.map((x) => substituteInExpr(x, vars));
  if (!isPlainObject(v)) return v;
  const out: Document = {};
  for (const [k, x] of Object.entries(v))
    out[k] = k === '$expr' ? substitute(x, vars) : substituteInExpr(x, vars);
  return out;
}

function substitute(v: unknown, vars: Document): unknown {
  if (typeof v === 'string' && v.startsWith('$$')) {
    const name = v.slice(2);
    return Object.prototype.hasOwnProperty.call(vars, name) ? vars[name] : v;
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, vars));
  if (!isPlainObject(v)) return v;
  const out: Document = {};
  // $literal contents are never evaluated.
  for (const [k, x] of Object.entries(v)) out[k] = k === '$literal' ? x : substitute(x, vars);
  return out;
}
