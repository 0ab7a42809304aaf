/**
 * Query, update, projection, sort and aggregation semantics come from mingo; this file is the only
 * place that talks to it. It also turns mingo's errors into MongoDB's codes, so an unknown operator
 * answers like mongod does instead of silently matching nothing.
 */
import type { Document } from 'bson';
import { Aggregator, ProcessingMode, Query, find, update as mingoUpdate, updateOne } from 'mingo';
import { CommandError } from '../errors';
import { cloneDoc, isPlainObject } from './documents';
import { fastSort } from './fast-sort';
import { fastUpdate } from './fast-update';
import { simpleEqualityMatcher } from './simple-filter';

// mingo's own type names live in subpath exports that `moduleResolution: node` cannot see.
type AnyObject = Parameters<typeof mingoUpdate>[0];
type Modifier<_T> = Parameters<typeof mingoUpdate>[1];
type Options = NonNullable<ConstructorParameters<typeof Query>[1]>;
type SortSpec = Parameters<ReturnType<typeof find>['sort']>[0];
type PipelineStage = Extract<Parameters<typeof updateOne>[2], unknown[]>[number];

export type Matcher = (doc: Document) => boolean;
export type CollectionResolver = (name: string) => Document[];

const QUERY_OPTIONS: Partial<Options> = { useStrictMode: true, scriptEnabled: false };

/**
 * The matcher for a query filter. Plain equality filters skip building a mingo Query
 * (query/simple-filter.ts); `mingoOnly` forces mingo (tests compare both).
 */
export function compileFilter(filter: unknown, mingoOnly = false): Matcher {
  const criteria = toFilter(filter);
  if (Object.keys(criteria).length === 0) return () => true;
  const general = (): Matcher => {
    const query = guard(() => new Query(criteria, QUERY_OPTIONS));
    return (doc) => guard(() => query.test(doc));
  };
  return (!mingoOnly && simpleEqualityMatcher(criteria, general)) || general();
}

export function toFilter(filter: unknown): Document {
  if (filter === undefined || filter === null) return {};
  if (!isPlainObject(filter))
    throw CommandError.of(
      'TypeMismatch',
      "BSON field 'filter' is the wrong type, expected type 'object'",
    );
  return filter;
}

/** mongod's errors for a projection mixing inclusion and exclusion (`_id` may be excluded). */
function checkProjectionMode(projection: Document): void {
  let mode: 'inclusion' | 'exclusion' | null = null;
  for (const [field, value] of Object.entries(projection)) {
    // $slice/$elemMatch/$meta fit either mode; nested sub-projections are left to mingo.
    if (field === '_id') continue;
    if (isPlainObject(value) && !Object.keys(value).some((k) => k.startsWith('$'))) continue;
    if (isPlainObject(value) && ['$slice', '$elemMatch', '$meta'].some((k) => k in value)) continue;
    const kind = value === 0 || value === false ? 'exclusion' : 'inclusion';
    if (mode === null) mode = kind;
    else if (kind !== mode)
      throw mode === 'inclusion'
        ? CommandError.of(
            'Location31254',
            `Cannot do exclusion on field ${field} in inclusion projection`,
          )
        : CommandError.of(
            'Location31253',
            `Cannot do inclusion on field ${field} in exclusion projection`,
          );
  }
}

/** Applies find's sort, skip, limit and projection (in MongoDB's order) to already-matched docs. */
export function shapeResults(
  docs: Document[],
  opts: { sort?: unknown; skip?: number; limit?: number; projection?: unknown },
): Document[] {
  const projection =
    isPlainObject(opts.projection) && Object.keys(opts.projection).length > 0
      ? opts.projection
      : undefined;
  if (projection) checkProjectionMode(projection);
  const sorted = isPlainObject(opts.sort) && Object.keys(opts.sort).length > 0;
  const presorted = sorted ? fastSort(docs, opts.sort as Document) : null;
  if (!sorted || presorted) {
    const from = opts.skip ?? 0;
    const page = (presorted ?? docs).slice(from, opts.limit ? from + opts.limit : undefined);
    return projection
      ? guard(() => find(page, {}, projection, QUERY_OPTIONS).all() as Document[])
      : page;
  }
  return guard(() => {
    let cursor = find(docs, {}, projection, QUERY_OPTIONS);
    if (isPlainObject(opts.sort) && Object.keys(opts.sort).length > 0)
      cursor = cursor.sort(opts.sort as SortSpec);
    if (opts.skip) cursor = cursor.skip(opts.skip);
    if (opts.limit) cursor = cursor.limit(opts.limit);
    return cursor.all() as Document[];
  });
}

/** `docs` sorted by `sort`; `mingoOnly` skips the fast path (tests compare both). */
export function sortDocs(docs: Document[], sort: unknown, mingoOnly = false): Document[] {
  if (!isPlainObject(sort) || Object.keys(sort).length === 0) return docs;
  const presorted = mingoOnly ? null : fastSort(docs, sort);
  if (presorted) return presorted;
  return guard(
    () =>
      find(docs, {}, undefined, QUERY_OPTIONS)
        .sort(sort as SortSpec)
        .all() as Document[],
  );
}

export function runPipeline(
  docs: Document[],
  pipeline: Document[],
  resolve: CollectionResolver,
): Document[] {
  rejectWriteStages(pipeline);
  return guard(() => {
    const aggregator = new Aggregator(pipeline as AnyObject[], {
      ...QUERY_OPTIONS,
      processingMode: ProcessingMode.CLONE_INPUT,
      collectionResolver: (name: string) => resolve(name) as AnyObject[],
    });
    return aggregator.run(docs as AnyObject[]) as Document[];
  });
}

/** `$out` / `$merge` are not implemented: refused, never ignored. */
export function rejectWriteStages(pipeline: Document[]): void {
  for (const stage of pipeline) {
    const name = Object.keys(stage)[0];
    if (name === '$out' || name === '$merge') {
      throw CommandError.of(
        'UnrecognizedPipelineStage',
        `${name} is not supported by the devstack MongoDB server`,
      );
    }
  }
}

export interface UpdateOutcome {
  doc: Document;
  modified: boolean;
}

/** The shape of a `u` field: operators, a replacement document, or an aggregation pipeline. */
export function updateKind(u: unknown): 'operators' | 'replacement' | 'pipeline' {
  if (Array.isArray(u)) return 'pipeline';
  if (!isPlainObject(u))
    throw CommandError.of('FailedToParse', 'Update argument must be either an object or an array');
  const keys = Object.keys(u);
  if (keys.length > 0 && keys[0].startsWith('$')) return 'operators';
  return 'replacement';
}

/**
 * Applies update `u` to a copy of `current`. `query` resolves the positional `$` operator;
 * `inserting` turns $setOnInsert into $set (upsert) instead of dropping it. Common operator updates
 * on plain paths take the fast path (query/fast-update.ts); `mingoOnly` skips it (tests compare).
 */
export function applyUpdate(
  current: Document,
  u: unknown,
  opts: {
    arrayFilters?: Document[];
    query?: Document;
    inserting?: boolean;
    mingoOnly?: boolean;
  },
): UpdateOutcome {
  const kind = updateKind(u);
  if (
    kind === 'operators' &&
    !opts.mingoOnly &&
    (opts.arrayFilters === undefined || opts.arrayFilters.length === 0)
  ) {
    const fast = fastUpdate(current, u as Document, opts.inserting === true);
    if (fast) return fast;
  }
  if (kind === 'replacement') {
    const replacement = u as Document;
    for (const k of Object.keys(replacement)) {
      if (k.startsWith('$'))
        throw CommandError.of(
          'BadValue',
          `The dollar ($) prefixed field '${k}' in '${k}' is not allowed in the context of an update's replacement document.`,
        );
    }
    const doc: Document = { _id: current._id, ...cloneDoc(replacement) };
    if (doc._id === undefined) delete doc._id;
    return { doc, modified: true };
  }
  const doc = cloneDoc(current);
  if (kind === 'pipeline') {
    const holder = [doc as AnyObject];
    const result = guard(() => updateOne(holder, {}, u as PipelineStage[], {}, QUERY_OPTIONS));
    return { doc: holder[0] as Document, modified: result.modifiedCount > 0 };
  }
  const modifier: Document = {};
  for (const [op, spec] of Object.entries(u as Document)) {
    if (!op.startsWith('$')) {
      throw CommandError.of(
        'FailedToParse',
        `Unknown modifier: ${op}. Expected a valid update modifier or pipeline-style update specified as an array`,
      );
    }
    if (op === '$setOnInsert') {
      if (opts.inserting)
        modifier.$set = { ...(modifier.$set as Document | undefined), ...(spec as Document) };
      continue;
    }
    if (op === '$set' && modifier.$set)
      modifier.$set = { ...(modifier.$set as Document), ...(spec as Document) };
    else modifier[op] = spec;
  }
  if (Object.keys(modifier).length === 0) return { doc, modified: false };
  // mingo evaluates the query again only to resolve the positional `$`; skip that when unused.
  const positional = Object.values(modifier).some(
    (spec) => isPlainObject(spec) && Object.keys(spec).some((path) => /\.\$(\.|$)/.test(path)),
  );
  const changed = guard(() =>
    mingoUpdate(
      doc as AnyObject,
      modifier as Modifier<AnyObject>,
      opts.arrayFilters as AnyObject[] | undefined,
      positional ? (opts.query as AnyObject | undefined) : undefined,
      {
        cloneMode: 'deep',
        queryOptions: QUERY_OPTIONS,
      },
    ),
  );
  return { doc, modified: changed.length > 0 };
}

/** The document an upsert starts from: the equality conditions of its query. */
export function upsertSeed(query: Document): Document {
  const equalities: Document = {};
  collectEqualities(query, equalities);
  const seed: Document = {};
  // mingo refuses to $set _id (immutable), so the seed gets it directly.
  if ('_id' in equalities) {
    seed._id = equalities._id;
    delete equalities._id;
  }
  if (Object.keys(equalities).length > 0) {
    guard(() =>
      mingoUpdate(
        seed as AnyObject,
        { $set: equalities } as Modifier<AnyObject>,
        undefined,
        undefined,
        { cloneMode: 'deep' },
      ),
    );
  }
  return seed;
}

function collectEqualities(query: Document, out: Document): void {
  for (const [k, v] of Object.entries(query)) {
    if (k === '$and' && Array.isArray(v)) {
      for (const part of v) if (isPlainObject(part)) collectEqualities(part, out);
    } else if (k.startsWith('$')) {
      continue;
    } else if (isPlainObject(v) && Object.keys(v).some((key) => key.startsWith('$'))) {
      if ('$eq' in v) out[k] = cloneDoc(v.$eq);
    } else {
      out[k] = cloneDoc(v);
    }
  }
}

/** Runs a mingo call, translating its errors into MongoDB error codes. */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw translateMingoError(err);
  }
}

export function translateMingoError(err: unknown): unknown {
  if (err instanceof CommandError || !(err instanceof Error)) return err;
  const msg = err.message;
  let m: RegExpMatchArray | null;
  if ((m = msg.match(/unknown top level operator: (\$\w+)/))) {
    return CommandError.of(
      'BadValue',
      `unknown top level operator: ${m[1]}. If you have a field name that starts with a '$' symbol, consider using $getField or $setField.`,
    );
  }
  if ((m = msg.match(/unknown query operator (\$\w+)/)))
    return CommandError.of('BadValue', `unknown operator: ${m[1]}`);
  if ((m = msg.match(/unregistered pipeline operator (\$\w+)/))) {
    return CommandError.of(
      'UnrecognizedPipelineStage',
      `Unrecognized pipeline stage name: '${m[1]}'`,
    );
  }
  if (
    (m = msg.match(/(?:accumulator|operator|expression)\s+'?(\$\w+)'?\s+is not registered/i)) ||
    (m = msg.match(/unregistered \w+ operator (\$\w+)/i))
  ) {
    return CommandError.of('InvalidPipelineOperator', `Unrecognized expression '${m[1]}'`);
  }
  if ((m = msg.match(/Unknown update operator: '(\$\w+)'/))) {
    return CommandError.of(
      'FailedToParse',
      `Unknown modifier: ${m[1]}. Expected a valid update modifier or pipeline-style update specified as an array`,
    );
  }
  if (/would modify the immutable field/.test(msg)) return CommandError.of('ImmutableField', msg);
  if (/non-numeric|must be a number|Cannot apply/i.test(msg))
    return CommandError.of('TypeMismatch', msg);
  return CommandError.of('BadValue', msg);
}
