/**
 * `explain` for find, count, distinct, aggregate, update, delete and findAndModify. The explained
 * command never runs (no write is applied); the reply has mongod's shape with a plan describing
 * what this server does: FETCH over an IXSCAN (index name, key pattern, direction) or an OR of
 * IXSCANs when indexes narrow the candidates (storage/query-plan.ts), COLLSCAN otherwise, EOF for a
 * missing collection; a find's sort is a SORT stage unless an index walk gives the order. With `executionStats` / `allPlansExecution`,
 * `nReturned` counts the documents the filter matches (for aggregate: its leading `$match`).
 */
import type { Document } from 'bson';
import { CommandError } from '../errors';
import { isPlainObject } from '../query/documents';
import { compileFilter, rejectWriteStages } from '../query/mingo-adapter';
import { planQuery } from '../storage/query-plan';
import { checkHint, type CommandHandler, matchingDocs, readView } from './context';

const VERBOSITIES = new Set(['queryPlanner', 'executionStats', 'allPlansExecution']);

/** Where each explainable command keeps its filter. */
const FILTER_OF: Record<string, (cmd: Document) => unknown> = {
  find: (c) => c.filter,
  count: (c) => c.query,
  distinct: (c) => c.query,
  findAndModify: (c) => c.query,
  findandmodify: (c) => c.query,
  update: (c) => (Array.isArray(c.updates) ? (c.updates[0] as Document | undefined)?.q : undefined),
  delete: (c) => (Array.isArray(c.deletes) ? (c.deletes[0] as Document | undefined)?.q : undefined),
  aggregate: (c) => {
    const first: unknown = Array.isArray(c.pipeline) ? c.pipeline[0] : undefined;
    return isPlainObject(first) ? first.$match : undefined;
  },
};

export const explain: CommandHandler = (ctx) => {
  const inner: unknown = ctx.cmd.explain;
  if (!isPlainObject(inner))
    throw CommandError.of(
      'TypeMismatch',
      "BSON field 'explain.explain' is the wrong type, expected type 'object'",
    );
  const verbosity: unknown = ctx.cmd.verbosity ?? 'allPlansExecution';
  if (typeof verbosity !== 'string' || !VERBOSITIES.has(verbosity))
    throw CommandError.of(
      'BadValue',
      "verbosity string must be one of {'queryPlanner', 'executionStats', 'allPlansExecution'}",
    );
  const name = Object.keys(inner)[0] ?? '';
  const filterOf = FILTER_OF[name];
  if (!filterOf)
    throw CommandError.of('CommandNotFound', `Explain failed due to unknown command: ${name}`);
  const target: unknown = inner[name];
  const collName = typeof target === 'string' ? target : '';
  const rawFilter = filterOf(inner);
  const filter: Document = isPlainObject(rawFilter) ? rawFilter : {};
  compileFilter(filter);
  const coll = collName ? ctx.server.engine.collection(ctx.db, collName) : undefined;
  checkHint(coll, inner.hint);
  const view = readView(ctx);
  const sort: unknown = name === 'find' ? inner.sort : undefined;
  const sorted = isPlainObject(sort) && Object.keys(sort).length > 0 ? sort : undefined;
  const limit = typeof inner.limit === 'number' ? Math.abs(inner.limit) : 0;
  const skip = typeof inner.skip === 'number' ? inner.skip : 0;
  const top = sorted && limit > 0 ? { sort: sorted, k: skip + limit } : undefined;
  const plan = coll ? planQuery(view, coll, filter, compileFilter(filter), top) : null;
  const candidates = plan?.keys ?? null;
  let winningPlan: Document = !coll
    ? { stage: 'EOF' }
    : plan
      ? { stage: 'FETCH', filter, inputStage: plan.stage }
      : { stage: 'COLLSCAN', filter, direction: 'forward' };
  // mongod's shapes: a blocking SORT keeps the limit itself, a walk in order gets a LIMIT on top,
  // and a rooted $or is planned branch by branch under SUBPLAN.
  if (coll && sorted && !plan?.sortCovered)
    winningPlan = {
      stage: 'SORT',
      sortPattern: sorted,
      ...(limit > 0 ? { limitAmount: skip + limit } : {}),
      inputStage: winningPlan,
    };
  else if (coll && name === 'find' && limit > 0)
    winningPlan = { stage: 'LIMIT', limitAmount: skip + limit, inputStage: winningPlan };
  if (plan?.stage.stage === 'OR' && Array.isArray(filter.$or))
    winningPlan = { stage: 'SUBPLAN', inputStage: winningPlan };
  const query: Document = {
    queryPlanner: {
      namespace: `${ctx.db}.${collName}`,
      parsedQuery: filter,
      winningPlan,
      rejectedPlans: [],
    },
  };
  if (verbosity !== 'queryPlanner') {
    const examined = candidates ? candidates.length : coll ? coll.countLatest() : 0;
    query.executionStats = {
      executionSuccess: true,
      nReturned: matchingDocs(view, coll, filter).length,
      executionTimeMillis: 0,
      totalKeysExamined: candidates ? candidates.length : 0,
      totalDocsExamined: examined,
      executionStages: winningPlan,
    };
  }
  const pipeline = name === 'aggregate' && Array.isArray(inner.pipeline) ? inner.pipeline : [];
  rejectWriteStages(pipeline as Document[]);
  const rest = pipeline.slice(filterOf(inner) === undefined ? 0 : 1) as Document[];
  // As mongod: a pipeline with stages after the query explains them after a `$cursor` stage.
  if (rest.length > 0)
    return { explainVersion: '1', stages: [{ $cursor: query }, ...rest], command: inner };
  return { explainVersion: '1', ...query, command: inner };
};
