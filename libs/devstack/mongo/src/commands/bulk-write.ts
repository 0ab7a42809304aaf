/**
 * MongoDB 8.0's admin `bulkWrite` command (driver `MongoClient.bulkWrite`,
 * `src/operations/client_bulk_write/`; the CRUD specification's "client bulk write"): inserts,
 * updates and deletes over several namespaces in one command.
 *
 *   {bulkWrite: 1, ops: [{insert: i, document} | {update: i, filter, updateMods, multi, upsert,
 *    arrayFilters, collation, hint, sort} | {delete: i, filter, multi, collation, hint}],
 *    nsInfo: [{ns: 'db.coll'}], ordered, errorsOnly, bypassDocumentValidation, let, cursor}
 *
 * (`ops` and `nsInfo` usually arrive as OP_MSG document sequences, merged into the body by
 * wire/op-msg.ts.) Each op runs as a one-statement insert/update/delete command through the same
 * handlers (write-commands.ts), so transactions, locks, unique indexes and write errors behave
 * exactly as there; `ordered` (default) stops at the first error. The reply is a cursor over one
 * result per op (`errorsOnly`: the errors alone) plus the counts:
 *
 *   {cursor: {id, firstBatch: [{ok: 1, idx, n, nModified?, upserted?: {_id}} |
 *    {ok: 0, idx, code, codeName, errmsg, ...}], ns: 'admin.$cmd.bulkWrite'},
 *    nErrors, nInserted, nMatched, nModified, nUpserted, nDeleted}
 */
import { type Document, Int32 } from 'bson';
import { CommandError } from '../errors';
import { isPlainObject } from '../query/documents';
import { emptyNumberPaths, numberPathsOfCommand, type NumberPaths } from '../query/int64';
import { applyLetVariables } from '../query/let-vars';
import type { CommandHandler } from './context';
import { writeCommands } from './write-commands';

const CURSOR_NS = 'admin.$cmd.bulkWrite';

type OpKind = 'insert' | 'update' | 'delete';

/** One op as the single-statement write command that performs it. */
interface SubCommand {
  kind: OpKind;
  db: string;
  cmd: Document;
}

function kindOf(op: Document): OpKind {
  const kinds = (['insert', 'update', 'delete'] as const).filter((k) => op[k] !== undefined);
  if (kinds.length !== 1)
    throw CommandError.of(
      'FailedToParse',
      'BulkWrite ops entry must have exactly one of insert, update or delete',
    );
  return kinds[0];
}

function namespaces(cmd: Document): Array<{ db: string; coll: string }> {
  const nsInfo: unknown = cmd.nsInfo;
  if (!Array.isArray(nsInfo) || nsInfo.length === 0)
    throw CommandError.of('FailedToParse', "BSON field 'bulkWrite.nsInfo' is missing or empty");
  return nsInfo.map((entry: unknown) => {
    const ns: unknown = isPlainObject(entry) ? entry.ns : undefined;
    const dot = typeof ns === 'string' ? ns.indexOf('.') : -1;
    if (typeof ns !== 'string' || dot <= 0 || dot === ns.length - 1)
      throw CommandError.of('InvalidNamespace', `Invalid namespace specified '${String(ns)}'`);
    return { db: ns.slice(0, dot), coll: ns.slice(dot + 1) };
  });
}

/** The write command performing `op` (against one of `spaces`), with the bulk's `let`. */
function subCommand(
  op: unknown,
  spaces: Array<{ db: string; coll: string }>,
  outer: Document,
): SubCommand {
  if (!isPlainObject(op))
    throw CommandError.of('TypeMismatch', 'BulkWrite ops entry must be an object');
  const kind = kindOf(op);
  const index: unknown = op[kind];
  // An Int32 until the command's numbers are normalized (numberPathsOfBulkWrite reads it before).
  const position = index instanceof Int32 ? index.value : index;
  const space = typeof position === 'number' ? spaces[position] : undefined;
  if (!space)
    throw CommandError.of(
      'BadValue',
      `BulkWrite ops entry ${kind} has an invalid nsInfo index ${String(index)}`,
    );
  const common: Document = outer.let === undefined ? {} : { let: outer.let };
  if (kind === 'insert') {
    if (!isPlainObject(op.document))
      throw CommandError.of('FailedToParse', "BSON field 'insert.document' is missing");
    return { kind, db: space.db, cmd: { insert: space.coll, documents: [op.document], ...common } };
  }
  const statement: Document = { q: op.filter ?? {} };
  for (const field of ['collation', 'hint'])
    if (op[field] !== undefined) statement[field] = op[field];
  if (kind === 'delete') {
    statement.limit = op.multi === true ? 0 : 1;
    return { kind, db: space.db, cmd: { delete: space.coll, deletes: [statement], ...common } };
  }
  if (op.updateMods === undefined)
    throw CommandError.of('FailedToParse', "BSON field 'update.updateMods' is missing");
  statement.u = op.updateMods;
  for (const field of ['multi', 'upsert', 'arrayFilters', 'sort'])
    if (op[field] !== undefined) statement[field] = op[field];
  return { kind, db: space.db, cmd: { update: space.coll, updates: [statement], ...common } };
}

/** The result entry of one op from its write command's reply. */
function resultOf(kind: OpKind, idx: number, reply: Document): Document {
  const errors: unknown = reply.writeErrors;
  if (Array.isArray(errors) && errors.length > 0) {
    const { index: _index, ...error } = errors[0] as Document;
    return { ok: 0, idx, n: 0, ...error };
  }
  const result: Document = { ok: 1, idx, n: reply.n };
  if (kind === 'update') {
    result.nModified = reply.nModified;
    const upserted: unknown = reply.upserted;
    if (Array.isArray(upserted) && upserted.length > 0)
      result.upserted = { _id: (upserted[0] as Document)._id };
  }
  return result;
}

export const bulkWrite: CommandHandler = async (ctx) => {
  const { cmd } = ctx;
  if (!Array.isArray(cmd.ops) || cmd.ops.length === 0)
    throw CommandError.of('InvalidLength', 'Write batch sizes must be between 1 and 100000.');
  const spaces = namespaces(cmd);
  const ops = (cmd.ops as unknown[]).map((op) => subCommand(op, spaces, cmd));
  const ordered = cmd.ordered !== false;
  const errorsOnly = cmd.errorsOnly === true;
  const counts = { nInserted: 0, nMatched: 0, nModified: 0, nUpserted: 0, nDeleted: 0 };
  const results: Document[] = [];
  let nErrors = 0;
  for (let idx = 0; idx < ops.length; idx++) {
    const { kind, db, cmd: sub } = ops[idx];
    applyLetVariables(sub);
    const reply = await writeCommands[kind]({ ...ctx, name: kind, db, cmd: sub });
    const result = resultOf(kind, idx, reply);
    if (result.ok === 0) nErrors++;
    else if (kind === 'insert') counts.nInserted += Number(result.n);
    else if (kind === 'delete') counts.nDeleted += Number(result.n);
    else {
      const upserted = result.upserted === undefined ? 0 : 1;
      counts.nUpserted += upserted;
      counts.nMatched += Number(result.n) - upserted;
      counts.nModified += Number(result.nModified);
    }
    if (result.ok === 0 || !errorsOnly) results.push(result);
    if (result.ok === 0 && ordered) break;
  }
  const cursor: unknown = cmd.cursor;
  const batchSize: unknown = isPlainObject(cursor) ? cursor.batchSize : undefined;
  // Without a batchSize every result goes in the first batch as far as 16 MiB allow; the rest
  // (e.g. many errors, or upserted _ids near the document size limit) wait for getMore.
  const reply = ctx.server.cursors.open(
    CURSOR_NS,
    results,
    typeof batchSize === 'number' && batchSize > 0 ? batchSize : Infinity,
  );
  return { ...reply, nErrors, ...counts };
};

/**
 * The Int64 / Double field paths the ops of a bulkWrite introduce, by namespace (recorded before
 * the command's numbers are normalized, as for insert and update). Malformed ops are skipped here:
 * the command itself refuses them.
 */
export function numberPathsOfBulkWrite(cmd: Document): Map<string, NumberPaths> {
  const out = new Map<string, NumberPaths>();
  if (!Array.isArray(cmd.ops) || !Array.isArray(cmd.nsInfo)) return out;
  let spaces: Array<{ db: string; coll: string }>;
  try {
    spaces = namespaces(cmd);
  } catch {
    return out;
  }
  for (const op of cmd.ops as unknown[]) {
    let sub: SubCommand;
    try {
      sub = subCommand(op, spaces, {});
    } catch {
      continue;
    }
    if (sub.kind === 'delete') continue;
    const ns = `${sub.db}.${String(sub.cmd[sub.kind])}`;
    const paths = numberPathsOfCommand(sub.kind, sub.cmd);
    const into = out.get(ns) ?? emptyNumberPaths();
    for (const p of paths.long) into.long.add(p);
    for (const p of paths.double) into.double.add(p);
    out.set(ns, into);
  }
  return out;
}
