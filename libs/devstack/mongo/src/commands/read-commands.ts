/**
 * find, getMore, killCursors, aggregate, count (estimatedDocumentCount) and distinct
 * (specifications `source/find_getmore_killcursors_commands`; driver `src/operations/*.ts`).
 */
import { type Document, Long } from 'bson';
import { CommandError } from '../errors';
import { isPlainObject, pathValues } from '../query/documents';
import { reviveNumber, reviveNumbers } from '../query/int64';
import { compileFilter, runPipeline, shapeResults, toFilter } from '../query/mingo-adapter';
import { valueKey } from '../storage/keys';
import type { Collection } from '../storage/collection';
import {
  checkHint,
  collectionArg,
  type CommandContext,
  type CommandHandler,
  matchingDocs,
  optionalDocument,
  optionalNumber,
  readView,
} from './context';

const find: CommandHandler = (ctx) => {
  const name = collectionArg(ctx);
  const filter = toFilter(ctx.cmd.filter);
  const limit = optionalNumber(ctx, 'limit') ?? 0;
  const skip = optionalNumber(ctx, 'skip') ?? 0;
  if (skip < 0) throw CommandError.of('BadValue', 'skip value must be non-negative');
  const batchSize = optionalNumber(ctx, 'batchSize');
  if (batchSize !== undefined && batchSize < 0)
    throw CommandError.of('BadValue', 'batchSize value must be non-negative');
  const sort = optionalDocument(ctx, 'sort');
  const projection = optionalDocument(ctx, 'projection');
  const coll = ctx.server.engine.collection(ctx.db, name);
  const hinted = checkHint(coll, ctx.cmd.hint);
  checkTailable(ctx, coll);
  // Without a sort, stop scanning once skip+limit documents matched.
  const enough = !sort && limit !== 0 ? skip + Math.abs(limit) : Infinity;
  // With a sort and a limit only the first skip+limit in sort order are needed (an index walk).
  const top = sort && limit !== 0 && !hinted ? { sort, k: skip + Math.abs(limit) } : undefined;
  const matched = matchingDocs(
    readView(ctx),
    coll,
    filter,
    hinted ? Infinity : enough,
    undefined,
    top,
  );
  const docs = hinted ? matched.filter((d) => hinted.covers(d)) : matched;
  const results = shapeResults(docs, { sort, skip, limit: Math.abs(limit), projection });
  const singleBatch = ctx.cmd.singleBatch === true || limit < 0;
  const numbers = ctx.server.engine.numberPaths.get(`${ctx.db}.${name}`);
  const out = numbers ? results.map((d) => reviveNumbers(d, numbers)) : results;
  return ctx.server.cursors.open(`${ctx.db}.${name}`, out, batchSize, singleBatch);
};

/** Tailable cursors need a capped collection, which this server does not have (refused at create). */
function checkTailable(ctx: CommandContext, coll: Collection | undefined): void {
  if (ctx.cmd.awaitData === true && ctx.cmd.tailable !== true)
    throw CommandError.of('FailedToParse', 'Cannot set awaitData without tailable');
  if (ctx.cmd.tailable === true)
    throw CommandError.of(
      'BadValue',
      `error processing query: ns=${coll?.ns ?? `${ctx.db}.${String(ctx.cmd.find)}`} tailable cursor requested on non capped collection`,
    );
}

const getMore: CommandHandler = (ctx) => {
  const raw: unknown = ctx.cmd.getMore;
  const id =
    raw instanceof Long ? raw.toNumber() : typeof raw === 'bigint' ? Number(raw) : Number(raw);
  if (!Number.isFinite(id))
    throw CommandError.of(
      'TypeMismatch',
      "BSON field 'getMore' is the wrong type, expected type 'long'",
    );
  const name = collectionArg(ctx, 'collection');
  const batchSize = optionalNumber(ctx, 'batchSize');
  return ctx.server.cursors.getMore(
    id,
    `${ctx.db}.${name}`,
    batchSize && batchSize > 0 ? batchSize : undefined,
  );
};

const killCursors: CommandHandler = (ctx) => {
  collectionArg(ctx);
  const ids = (Array.isArray(ctx.cmd.cursors) ? (ctx.cmd.cursors as unknown[]) : []).map((v) =>
    v instanceof Long ? v.toNumber() : Number(v),
  );
  return ctx.server.cursors.kill(ids);
};

const aggregate: CommandHandler = (ctx) => {
  const target: unknown = ctx.cmd.aggregate;
  const pipeline = ctx.cmd.pipeline;
  if (!Array.isArray(pipeline))
    throw CommandError.of('TypeMismatch', "'pipeline' option must be specified as an array");
  const cursorOpt = optionalDocument(ctx, 'cursor');
  if (!cursorOpt && ctx.cmd.explain !== true) {
    throw CommandError.of(
      'FailedToParse',
      "The 'cursor' option is required, except for aggregate with the explain argument",
    );
  }
  if (ctx.cmd.explain === true)
    throw CommandError.of(
      'IllegalOperation',
      'explain is not supported by the devstack MongoDB server',
    );
  const view = readView(ctx);
  const engine = ctx.server.engine;
  const stages = pipeline as Document[];
  let input: Document[] = [];
  let rest = stages;
  let ns: string;
  if (typeof target === 'string') {
    ns = `${ctx.db}.${target}`;
    const coll = engine.collection(ctx.db, target);
    const hinted = checkHint(coll, ctx.cmd.hint);
    // A leading $match filters during the scan (and uses the _id lookup).
    if (stages.length > 0 && isPlainObject(stages[0].$match)) {
      input = matchingDocs(view, coll, stages[0].$match as Document);
      rest = stages.slice(1);
    } else {
      input = coll ? [...view.scan(coll)] : [];
    }
    if (hinted) input = input.filter((d) => hinted.covers(d));
  } else if (target === 1) {
    ns = `${ctx.db}.$cmd.aggregate`;
  } else {
    throw CommandError.of('TypeMismatch', "BSON field 'aggregate' must be a collection name or 1");
  }
  const results = runPipeline(input, rest, (name) => {
    const coll = engine.collection(ctx.db, name);
    return coll ? [...view.scan(coll)] : [];
  });
  const batchSize = typeof cursorOpt?.batchSize === 'number' ? cursorOpt.batchSize : undefined;
  const numbers = ctx.server.engine.numberPaths.get(ns);
  const out = numbers ? results.map((d) => reviveNumbers(d, numbers)) : results;
  return ctx.server.cursors.open(ns, out, batchSize);
};

const count: CommandHandler = (ctx) => {
  const name = collectionArg(ctx);
  const query = optionalDocument(ctx, 'query') ?? {};
  const skip = optionalNumber(ctx, 'skip') ?? 0;
  const limit = Math.abs(optionalNumber(ctx, 'limit') ?? 0);
  const coll = ctx.server.engine.collection(ctx.db, name);
  const hinted = checkHint(coll, ctx.cmd.hint);
  let n: number;
  if (!ctx.tx && !hinted && Object.keys(query).length === 0 && coll) n = coll.countLatest();
  else if (hinted)
    n = matchingDocs(readView(ctx), coll, query).filter((d) => hinted.covers(d)).length;
  else n = matchingDocs(readView(ctx), coll, query).length;
  n = Math.max(0, n - skip);
  if (limit > 0) n = Math.min(n, limit);
  return { n };
};

const distinct: CommandHandler = (ctx) => {
  const name = collectionArg(ctx);
  const key: unknown = ctx.cmd.key;
  if (typeof key !== 'string')
    throw CommandError.of('TypeMismatch', "BSON field 'distinct.key' is missing or not a string");
  const query = optionalDocument(ctx, 'query') ?? {};
  compileFilter(query);
  const docs = matchingDocs(readView(ctx), ctx.server.engine.collection(ctx.db, name), query);
  const seen = new Set<string>();
  const values: unknown[] = [];
  const numbers = ctx.server.engine.numberPaths.get(`${ctx.db}.${name}`);
  for (const doc of docs) {
    for (const v of pathValues(doc, key)) {
      for (const item of Array.isArray(v) ? v : [v]) {
        const k = valueKey(item);
        if (seen.has(k)) continue;
        seen.add(k);
        values.push(numbers && typeof item === 'number' ? reviveNumber(item, key, numbers) : item);
      }
    }
  }
  return { values };
};

export const readCommands: Record<string, CommandHandler> = {
  find,
  getMore,
  killCursors,
  aggregate,
  count,
  distinct,
};
