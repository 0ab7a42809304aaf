/** Databases, collections and indexes: create, drop, dropDatabase, list*, createIndexes, dropIndexes. */
import type { Document } from 'bson';
import { CommandError } from '../errors';
import { isPlainObject } from '../query/documents';
import { compileFilter } from '../query/mingo-adapter';
import type { Collection } from '../storage/collection';
import {
  ID_INDEX_SPEC,
  type IndexSpec,
  parseIndexSpec,
  sameIndexOptions,
} from '../storage/index-catalog';
import {
  collectionArg,
  type CommandContext,
  type CommandHandler,
  optionalDocument,
} from './context';

/** Fields of `create` that are collection options (everything except generic command fields). */
const GENERIC_FIELDS = new Set([
  'create',
  '$db',
  'lsid',
  'txnNumber',
  'autocommit',
  'startTransaction',
  '$clusterTime',
  '$readPreference',
  'readConcern',
  'writeConcern',
  'maxTimeMS',
  'apiVersion',
  'apiStrict',
  'apiDeprecationErrors',
  'comment',
]);

function requireCollection(ctx: CommandContext, name: string): Collection {
  const coll = ctx.server.engine.collection(ctx.db, name);
  if (!coll || !ctx.server.engine.catalogVisible(coll, ctx.tx))
    throw CommandError.of('NamespaceNotFound', `ns does not exist: ${ctx.db}.${name}`);
  return coll;
}

const create: CommandHandler = (ctx) => {
  const name = collectionArg(ctx);
  if (ctx.server.engine.collection(ctx.db, name)) {
    throw CommandError.of('NamespaceExists', `Collection ${ctx.db}.${name} already exists.`);
  }
  const options: Document = {};
  for (const [k, v] of Object.entries(ctx.cmd)) if (!GENERIC_FIELDS.has(k)) options[k] = v;
  rejectUnsupportedCollectionOptions(options);
  ctx.server.engine.ensureCollection(ctx.db, name, options, ctx.tx);
  return {};
};

/**
 * Collection options this server does not enforce. Accepting them would silently change
 * behaviour (a validator never checked, a capped collection that never caps, a view that is an
 * empty collection), so they are refused, as collation is.
 */
const UNSUPPORTED_COLLECTION_OPTIONS = [
  'validator',
  'validationLevel',
  'validationAction',
  'capped',
  'size',
  'max',
  'viewOn',
  'pipeline',
  'timeseries',
  'expireAfterSeconds',
  'clusteredIndex',
  'changeStreamPreAndPostImages',
  'encryptedFields',
];

function rejectUnsupportedCollectionOptions(options: Document): void {
  for (const key of UNSUPPORTED_COLLECTION_OPTIONS) {
    const value: unknown = options[key];
    if (value === undefined || value === false) continue;
    if (key === 'validator' && isPlainObject(value) && Object.keys(value).length === 0) continue;
    throw CommandError.of(
      'InvalidOptions',
      `collection option '${key}' is not supported by the devstack MongoDB server`,
    );
  }
}

const drop: CommandHandler = (ctx) => {
  const name = collectionArg(ctx);
  const coll = ctx.server.engine.collection(ctx.db, name);
  if (!coll) throw CommandError.of('NamespaceNotFound', 'ns not found');
  const nIndexesWas = coll.indexes.size;
  ctx.server.engine.dropCollection(ctx.db, name);
  return { nIndexesWas, ns: coll.ns };
};

const dropDatabase: CommandHandler = (ctx) => {
  ctx.server.engine.dropDatabase(ctx.db);
  return { dropped: ctx.db };
};

const listCollections: CommandHandler = (ctx) => {
  const filter = optionalDocument(ctx, 'filter') ?? {};
  const nameOnly = ctx.cmd.nameOnly === true;
  const matcher = compileFilter(filter);
  const colls = ctx.server.engine.databases.get(ctx.db);
  const docs: Document[] = [];
  for (const coll of colls?.values() ?? []) {
    if (!ctx.server.engine.catalogVisible(coll, ctx.tx)) continue;
    const full: Document = {
      name: coll.name,
      type: 'collection',
      options: coll.options,
      info: { readOnly: false },
      idIndex: { ...ID_INDEX_SPEC },
    };
    if (!matcher(full)) continue;
    docs.push(nameOnly ? { name: coll.name, type: 'collection' } : full);
  }
  const cursorOpt = optionalDocument(ctx, 'cursor');
  const batchSize = typeof cursorOpt?.batchSize === 'number' ? cursorOpt.batchSize : undefined;
  return ctx.server.cursors.open(`${ctx.db}.$cmd.listCollections`, docs, batchSize);
};

const listDatabases: CommandHandler = (ctx) => {
  const filter = optionalDocument(ctx, 'filter') ?? {};
  const matcher = compileFilter(filter);
  const databases: Document[] = [];
  for (const [name, colls] of ctx.server.engine.databases) {
    let docs = 0;
    for (const coll of colls.values()) docs += coll.countLatest();
    const entry: Document = { name, sizeOnDisk: docs * 1024, empty: docs === 0 };
    if (matcher(entry)) databases.push(ctx.cmd.nameOnly === true ? { name } : entry);
  }
  const totalSize = databases.reduce((n, d) => n + Number(d.sizeOnDisk ?? 0), 0);
  return ctx.cmd.nameOnly === true
    ? { databases }
    : { databases, totalSize, totalSizeMb: Math.round(totalSize / 1048576) };
};

const createIndexes: CommandHandler = (ctx) => {
  const name = collectionArg(ctx);
  const raw: unknown = ctx.cmd.indexes;
  if (!Array.isArray(raw) || raw.length === 0)
    throw CommandError.of('BadValue', 'Must specify at least one index to create');
  const specs = raw.map(parseIndexSpec);
  const engine = ctx.server.engine;
  const existed = engine.collection(ctx.db, name) !== undefined;
  const coll = engine.ensureCollection(ctx.db, name, {}, ctx.tx);
  if (ctx.tx && !ctx.tx.createdCollections.some((c) => c.db === ctx.db && c.name === name)) {
    // mongod builds indexes in a transaction only on a collection that transaction created.
    throw CommandError.of(
      'OperationNotSupportedInTransaction',
      `Cannot create new indexes on existing collection ${ctx.db}.${name} in a multi-document transaction.`,
    );
  }
  const numIndexesBefore = coll.indexes.size;
  const toCreate: IndexSpec[] = [];
  for (const spec of specs) {
    const sameName = coll.indexes.get(spec.name)?.spec;
    if (sameName) {
      if (sameIndexOptions(sameName, spec)) continue;
      // As mongod: a different key under the name is 86, the same key with other options 85.
      if (JSON.stringify(sameName.key) !== JSON.stringify(spec.key)) {
        throw CommandError.of(
          'IndexKeySpecsConflict',
          `An existing index has the same name as the requested index. When index names are not specified, they are auto generated and can cause conflicts. Please refer to our documentation. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName)}`,
        );
      }
      throw CommandError.of(
        'IndexOptionsConflict',
        `An equivalent index already exists with the same name but different options. Requested index: ${JSON.stringify(spec)}, existing index: ${JSON.stringify(sameName)}`,
      );
    }
    const sameKey = [...coll.indexes.values()].find(
      (i) => JSON.stringify(i.spec.key) === JSON.stringify(spec.key),
    );
    if (sameKey && sameIndexOptions(sameKey.spec, spec)) {
      throw CommandError.of(
        'IndexOptionsConflict',
        `Index already exists with a different name: ${sameKey.name}`,
      );
    }
    toCreate.push(spec);
  }
  for (const spec of toCreate) {
    try {
      engine.createIndex(coll, spec);
    } catch (err) {
      if (err instanceof CommandError && err.code === 11000) {
        throw new CommandError(11000, `Index build failed: ${err.message}`, err.extra);
      }
      throw err;
    }
  }
  const reply: Document = {
    createdCollectionAutomatically: !existed,
    numIndexesBefore,
    numIndexesAfter: coll.indexes.size,
  };
  if (toCreate.length === 0) reply.note = 'all indexes already exist';
  return reply;
};

const listIndexes: CommandHandler = (ctx) => {
  const name = collectionArg(ctx);
  const coll = requireCollection(ctx, name);
  const docs = [...coll.indexes.values()].map((i) => ({ ...i.spec }));
  const cursorOpt = optionalDocument(ctx, 'cursor');
  const batchSize = typeof cursorOpt?.batchSize === 'number' ? cursorOpt.batchSize : undefined;
  return ctx.server.cursors.open(`${ctx.db}.$cmd.listIndexes.${name}`, docs, batchSize);
};

const dropIndexes: CommandHandler = (ctx) => {
  const name = collectionArg(ctx);
  const coll = requireCollection(ctx, name);
  const nIndexesWas = coll.indexes.size;
  const target: unknown = ctx.cmd.index;
  let names: string[];
  if (target === '*') names = [...coll.indexes.keys()].filter((n) => n !== '_id_');
  else if (typeof target === 'string') names = [target];
  else if (Array.isArray(target)) names = target.map(String);
  else if (isPlainObject(target)) {
    const match = [...coll.indexes.values()].find(
      (i) => JSON.stringify(i.spec.key) === JSON.stringify(target),
    );
    if (!match)
      throw CommandError.of(
        'IndexNotFound',
        `can't find index with key: ${JSON.stringify(target)}`,
      );
    names = [match.name];
  } else
    throw CommandError.of(
      'TypeMismatch',
      "BSON field 'index' must be a string, an array of strings or a key pattern",
    );
  for (const n of names) {
    if (n === '_id_') throw CommandError.of('InvalidOptions', 'cannot drop _id index');
    if (!coll.indexes.has(n))
      throw CommandError.of('IndexNotFound', `index not found with name [${n}]`);
  }
  for (const n of names) ctx.server.engine.dropIndex(coll, n);
  return { nIndexesWas };
};

export const catalogCommands: Record<string, CommandHandler> = {
  create,
  drop,
  dropDatabase,
  listCollections,
  listDatabases,
  createIndexes,
  listIndexes,
  dropIndexes,
};
