/**
 * insert, update, delete and findAndModify (mongodb driver `src/operations/{insert,update,delete,
 * find_and_modify}.ts`). Each statement of a batch runs through runStatement; with `ordered`
 * (default) the batch stops at the first write error, otherwise it continues.
 */
import { type Document, ObjectId } from 'bson';
import { CommandError } from '../errors';
import { isPlainObject } from '../query/documents';
import { overflowedPaths, reviveNumbers } from '../query/int64';
import {
  applyUpdate,
  shapeResults,
  sortDocs,
  updateKind,
  upsertSeed,
} from '../query/mingo-adapter';
import type { Collection } from '../storage/collection';
import { valueKey } from '../storage/keys';
import { speaks80 } from '../protocol/handshake';
import type { Transaction } from '../transactions/transaction';
import {
  arrayArg,
  checkHint,
  collectionArg,
  type CommandContext,
  type CommandHandler,
  isWriteError,
  matchingDocs,
  optionalDocument,
  runStatement,
} from './context';

async function runBatch<S>(
  ctx: CommandContext,
  statements: S[],
  run: (unit: Transaction, statement: S, index: number) => void,
): Promise<Document[]> {
  const ordered = ctx.cmd.ordered !== false;
  const writeErrors: Document[] = [];
  for (let i = 0; i < statements.length; i++) {
    try {
      await runStatement(ctx, (unit) => run(unit, statements[i], i));
    } catch (err) {
      if (!isWriteError(err)) throw err;
      writeErrors.push(err.toWriteError(i));
      if (ordered) break;
    }
  }
  return writeErrors;
}

function withWriteErrors(reply: Document, writeErrors: Document[]): Document {
  if (writeErrors.length > 0) reply.writeErrors = writeErrors;
  return reply;
}

/**
 * A new document with `_id` first (mongod moves it there), generating an ObjectId if absent. `doc`
 * comes from the command (or an upsert built from it) and becomes the stored version.
 */
export function prepareInsert(doc: unknown): Document {
  if (!isPlainObject(doc))
    throw CommandError.of('TypeMismatch', 'document to insert must be an object');
  const id: unknown = doc._id === undefined ? new ObjectId() : doc._id;
  if (Array.isArray(id))
    throw CommandError.of('InvalidIdField', "The '_id' value cannot be of type array");
  if (id instanceof RegExp) throw CommandError.of('InvalidIdField', "can't use a regex for _id");
  if (isPlainObject(id) && Object.keys(id).some((k) => k.startsWith('$'))) {
    throw CommandError.of('InvalidIdField', "_id fields may not contain '$'-prefixed fields");
  }
  // A shallow copy: the values were decoded for this command alone and nothing else keeps them.
  const { _id: _ignored, ...rest } = doc;
  return { _id: id, ...rest };
}

function ensureColl(ctx: CommandContext, name: string): Collection {
  return ctx.server.engine.ensureCollection(ctx.db, name, {}, ctx.tx);
}

const insert: CommandHandler = async (ctx) => {
  const name = collectionArg(ctx);
  const documents = arrayArg(ctx, 'documents');
  let n = 0;
  const writeErrors = await runBatch(ctx, documents, (unit, raw) => {
    unit.insert(ensureColl(ctx, name), prepareInsert(raw));
    n++;
  });
  return withWriteErrors({ n }, writeErrors);
};

function checkIdUnchanged(before: Document, after: Document): void {
  if (after._id === undefined) {
    after._id = before._id;
    return;
  }
  if (valueKey(after._id) !== valueKey(before._id)) {
    throw CommandError.of(
      'ImmutableField',
      `Plan executor error during update :: caused by :: After applying the update, the (immutable) field '_id' was found to have been altered to _id: ${String(after._id)}`,
    );
  }
}

/** Builds the document an upsert inserts. */
function upsertDocument(
  query: Document,
  u: unknown,
  arrayFilters: Document[] | undefined,
): Document {
  const seed = upsertSeed(query);
  let doc: Document;
  if (updateKind(u) === 'replacement')
    doc = { ...(u as Document), ...(seed._id !== undefined ? { _id: seed._id } : {}) };
  else doc = applyUpdate(seed, u, { arrayFilters, inserting: true }).doc;
  return prepareInsert(doc);
}

function orderFirst(doc: Document): Document {
  for (const first in doc) {
    if (first === '_id') return doc; // already first (always so after the fast update path)
    break;
  }
  const { _id, ...rest } = doc;
  return _id === undefined ? doc : { _id, ...rest };
}

interface UpdateStatement {
  q: Document;
  u: unknown;
  upsert: boolean;
  multi: boolean;
  arrayFilters?: Document[];
  /** Which document a single-document update takes (MongoDB 8.0): the first in this order. */
  sort?: Document;
}

function parseUpdateStatement(raw: unknown): UpdateStatement {
  if (!isPlainObject(raw))
    throw CommandError.of('TypeMismatch', 'update statement must be an object');
  const q = raw.q === undefined ? {} : raw.q;
  if (!isPlainObject(q))
    throw CommandError.of(
      'TypeMismatch',
      "BSON field 'q' is the wrong type, expected type 'object'",
    );
  if (raw.u === undefined)
    throw CommandError.of('FailedToParse', "BSON field 'u' is missing but a required field");
  const kind = updateKind(raw.u);
  if (raw.multi === true && kind === 'replacement') {
    throw CommandError.of(
      'FailedToParse',
      'multi update is not supported for replacement-style update',
    );
  }
  const sort: unknown = raw.sort;
  if (sort !== undefined && !isPlainObject(sort))
    throw CommandError.of(
      'TypeMismatch',
      "BSON field 'sort' is the wrong type, expected type 'object'",
    );
  if (sort !== undefined && raw.multi === true)
    throw CommandError.of('FailedToParse', 'Cannot specify sort with multi=true');
  return {
    q,
    u: raw.u,
    sort: sort === undefined || Object.keys(sort).length === 0 ? undefined : sort,
    upsert: raw.upsert === true,
    multi: raw.multi === true,
    arrayFilters: Array.isArray(raw.arrayFilters) ? (raw.arrayFilters as Document[]) : undefined,
  };
}

/** Int32 `$inc`/`$mul` results past 2^31 become Int64, as on mongod. */
function widenOverflows(ctx: CommandContext, name: string, u: unknown, doc: Document): void {
  const ns = `${ctx.db}.${name}`;
  const paths = overflowedPaths(u, doc, ctx.server.engine.numberPaths.get(ns));
  if (paths.length > 0) ctx.server.engine.addNumberPaths(ns, 'long', paths);
}

const update: CommandHandler = async (ctx) => {
  const name = collectionArg(ctx);
  const statements = arrayArg(ctx, 'updates');
  // `sort` on updateOne/replaceOne is a MongoDB 8.0 feature; 7.0 fails to parse it.
  if (!speaks80(ctx) && statements.some((st) => isPlainObject(st) && st.sort !== undefined))
    throw CommandError.of('Location40415', "BSON field 'update.updates.sort' is an unknown field.");
  let n = 0;
  let nModified = 0;
  const upserted: Document[] = [];
  const writeErrors = await runBatch(ctx, statements, (unit, raw, index) => {
    const st = parseUpdateStatement(raw);
    const coll = ctx.server.engine.collection(ctx.db, name);
    checkHint(coll, (raw as Document).hint);
    const targets = st.sort
      ? sortDocs(
          matchingDocs(unit, coll, st.q, Infinity, undefined, { sort: st.sort, k: 1 }),
          st.sort,
        ).slice(0, 1)
      : matchingDocs(unit, coll, st.q, st.multi ? Infinity : 1);
    let matched = 0;
    let modified = 0;
    for (const doc of targets) {
      const outcome = applyUpdate(doc, st.u, { arrayFilters: st.arrayFilters, query: st.q });
      widenOverflows(ctx, name, st.u, outcome.doc);
      checkIdUnchanged(doc, outcome.doc);
      matched++;
      if (outcome.modified) {
        unit.replace(coll as Collection, orderFirst(outcome.doc));
        modified++;
      }
    }
    if (matched === 0 && st.upsert) {
      const doc = upsertDocument(st.q, st.u, st.arrayFilters);
      unit.insert(ensureColl(ctx, name), doc);
      upserted.push({ index, _id: doc._id });
      n++;
      return;
    }
    n += matched;
    nModified += modified;
  });
  const reply: Document = { n, nModified };
  if (upserted.length > 0) reply.upserted = upserted;
  return withWriteErrors(reply, writeErrors);
};

const del: CommandHandler = async (ctx) => {
  const name = collectionArg(ctx);
  const statements = arrayArg(ctx, 'deletes');
  let n = 0;
  const writeErrors = await runBatch(ctx, statements, (unit, raw) => {
    if (!isPlainObject(raw))
      throw CommandError.of('TypeMismatch', 'delete statement must be an object');
    const q = raw.q === undefined ? {} : raw.q;
    if (!isPlainObject(q))
      throw CommandError.of(
        'TypeMismatch',
        "BSON field 'q' is the wrong type, expected type 'object'",
      );
    const limit = Number(raw.limit ?? 0);
    if (limit !== 0 && limit !== 1)
      throw CommandError.of('FailedToParse', 'The limit field in delete objects must be 0 or 1.');
    const coll = ctx.server.engine.collection(ctx.db, name);
    checkHint(coll, raw.hint);
    const targets = matchingDocs(unit, coll, q, limit === 1 ? 1 : Infinity);
    for (const doc of targets) unit.remove(coll as Collection, doc);
    n += targets.length;
  });
  return withWriteErrors({ n }, writeErrors);
};

const findAndModify: CommandHandler = async (ctx) => {
  const name = collectionArg(ctx);
  const query = optionalDocument(ctx, 'query') ?? {};
  const sort = optionalDocument(ctx, 'sort');
  const fields = optionalDocument(ctx, 'fields');
  const remove = ctx.cmd.remove === true;
  const returnNew = ctx.cmd.new === true;
  const upsert = ctx.cmd.upsert === true;
  const u: unknown = ctx.cmd.update;
  const arrayFilters = Array.isArray(ctx.cmd.arrayFilters)
    ? (ctx.cmd.arrayFilters as Document[])
    : undefined;
  if (remove && u !== undefined)
    throw CommandError.of('FailedToParse', 'Cannot specify both an update and remove=true');
  if (!remove && u === undefined)
    throw CommandError.of('FailedToParse', 'Either an update or remove=true must be specified');
  if (remove && (upsert || returnNew)) {
    throw CommandError.of(
      'FailedToParse',
      'Cannot specify both upsert=true and remove=true or new=true and remove=true',
    );
  }

  const outcome = await runStatement(ctx, (unit) => {
    const coll = ctx.server.engine.collection(ctx.db, name);
    checkHint(coll, ctx.cmd.hint);
    const candidates = sort
      ? matchingDocs(unit, coll, query, Infinity, undefined, { sort, k: 1 })
      : matchingDocs(unit, coll, query, 1);
    const target = sort ? sortDocs(candidates, sort)[0] : candidates[0];
    if (remove) {
      if (target) unit.remove(coll as Collection, target);
      return { value: target ?? null, lastErrorObject: { n: target ? 1 : 0 } };
    }
    if (target) {
      const result = applyUpdate(target, u, { arrayFilters, query });
      widenOverflows(ctx, name, u, result.doc);
      checkIdUnchanged(target, result.doc);
      const after = orderFirst(result.doc);
      if (result.modified) unit.replace(coll as Collection, after);
      return {
        value: returnNew ? after : target,
        lastErrorObject: { n: 1, updatedExisting: true },
      };
    }
    if (upsert) {
      const doc = upsertDocument(query, u, arrayFilters);
      unit.insert(ensureColl(ctx, name), doc);
      return {
        value: returnNew ? doc : null,
        lastErrorObject: { n: 1, updatedExisting: false, upserted: doc._id },
      };
    }
    return { value: null, lastErrorObject: { n: 0, updatedExisting: false } };
  });
  const value =
    outcome.value && fields
      ? (shapeResults([outcome.value], { projection: fields })[0] ?? null)
      : outcome.value;
  const numbers = ctx.server.engine.numberPaths.get(`${ctx.db}.${name}`);
  return {
    lastErrorObject: outcome.lastErrorObject,
    value: value ? reviveNumbers(value, numbers) : value,
  };
};

export const writeCommands: Record<string, CommandHandler> = {
  insert,
  update,
  delete: del,
  findAndModify,
  findandmodify: findAndModify,
};
