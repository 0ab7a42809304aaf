/**
 * MongoDB 8.0's `bulkWrite` command through the official driver's `MongoClient.bulkWrite`
 * (devstack, or MONGODB_URI when that is a real 8.0+ replica set), and the 7.0 the devstack
 * presents with `maxWireVersion: 21`.
 */
import {
  type ClientBulkWriteModel,
  type ClientBulkWriteOptions,
  type Document,
  MongoClient,
  MongoClientBulkWriteError,
  MongoServerError,
} from 'mongodb';
import { connect, errorOf, start80Target, startDevstackTarget, useTarget } from './support/target';

const env = useTarget(start80Target);
const { freshDb } = env;

/** Documents of any `_id` type, in every namespace. */
interface Doc {
  _id: number | string;
  v?: number;
  n?: number;
  w?: number;
  x?: number;
  a?: number;
  big?: boolean;
  hit?: boolean;
  state?: string;
}
type Schemas = Record<string, Doc>;
type Model = ClientBulkWriteModel<Schemas>;

function bulkWrite(c: MongoClient, models: Model[], options?: ClientBulkWriteOptions) {
  return c.bulkWrite<Schemas>(models, options);
}

/** The replies of the `bulkWrite` commands `client` sends while `run` runs. */
async function bulkWriteReplies(
  run: (watched: MongoClient) => Promise<unknown>,
): Promise<Document[]> {
  const watcher = new MongoClient(env.target.uri, { monitorCommands: true });
  await watcher.connect();
  const replies: Document[] = [];
  watcher.on('commandSucceeded', (event) => {
    if (event.commandName === 'bulkWrite') replies.push(event.reply as Document);
  });
  try {
    await run(watcher);
  } finally {
    await watcher.close();
  }
  return replies;
}

describe('bulkWrite (MongoDB 8.0)', () => {
  it('writes to several namespaces in one command, with per-op verbose results', async () => {
    const a = freshDb('bw-mixed-a');
    const b = freshDb('bw-mixed-b');
    await a.collection<Doc>('x').insertMany([
      { _id: 1, v: 1 },
      { _id: 2, v: 2 },
      { _id: 3, v: 3 },
    ]);
    const result = await bulkWrite(
      env.client,
      [
        { name: 'insertOne', namespace: `${a.databaseName}.x`, document: { _id: 4, v: 4 } },
        { name: 'insertOne', namespace: `${b.databaseName}.y`, document: { _id: 'p', w: 1 } },
        {
          name: 'updateOne',
          namespace: `${a.databaseName}.x`,
          filter: { _id: 1 },
          update: { $inc: { v: 10 } },
        },
        {
          name: 'updateMany',
          namespace: `${a.databaseName}.x`,
          filter: { v: { $gte: 2 } },
          update: { $set: { big: true } },
        },
        {
          name: 'replaceOne',
          namespace: `${b.databaseName}.y`,
          filter: { _id: 'q' },
          replacement: { w: 2 },
          upsert: true,
        },
        { name: 'deleteOne', namespace: `${a.databaseName}.x`, filter: { _id: 2 } },
        { name: 'deleteMany', namespace: `${b.databaseName}.y`, filter: { w: { $gt: 5 } } },
      ],
      { verboseResults: true },
    );
    expect(result).toMatchObject({
      insertedCount: 2,
      matchedCount: 5,
      modifiedCount: 5,
      upsertedCount: 1,
      deletedCount: 1,
    });
    expect(result.updateResults?.get(3)).toEqual({
      matchedCount: 4,
      modifiedCount: 4,
      didUpsert: false,
    });
    expect(result.updateResults?.get(4)).toEqual({
      matchedCount: 1,
      modifiedCount: 0,
      didUpsert: true,
      upsertedId: 'q',
    });
    expect(result.deleteResults?.get(6)).toEqual({ deletedCount: 0 });
    expect(await a.collection<Doc>('x').find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, v: 11, big: true },
      { _id: 3, v: 3, big: true },
      { _id: 4, v: 4, big: true },
    ]);
    expect(await b.collection<Doc>('y').find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 'p', w: 1 },
      { _id: 'q', w: 2 },
    ]);
  });

  it('replies as mongod: a cursor of results (errors only unless verbose) and the counts', async () => {
    const db = freshDb('bw-reply');
    const ns = `${db.databaseName}.c`;
    const models: Model[] = [
      { name: 'insertOne', namespace: ns, document: { _id: 1 } },
      { name: 'updateOne', namespace: ns, filter: { _id: 1 }, update: { $set: { a: 1 } } },
    ];
    const [terse] = await bulkWriteReplies((c) => bulkWrite(c, [...models]));
    const [verbose] = await bulkWriteReplies((c) =>
      bulkWrite(c, [{ name: 'deleteOne', namespace: ns, filter: { _id: 1 } }, ...models], {
        verboseResults: true,
      }),
    );
    expect(terse).toMatchObject({
      ok: 1,
      nErrors: 0,
      nInserted: 1,
      nMatched: 1,
      nModified: 1,
      nUpserted: 0,
      nDeleted: 0,
      cursor: { firstBatch: [], ns: 'admin.$cmd.bulkWrite' },
    });
    expect(verbose).toMatchObject({
      nErrors: 0,
      nInserted: 1,
      nDeleted: 1,
      cursor: {
        firstBatch: [
          { ok: 1, idx: 0, n: 1 },
          { ok: 1, idx: 1, n: 1 },
          { ok: 1, idx: 2, n: 1, nModified: 1 },
        ],
      },
    });
    expect(Number(verbose.cursor.id)).toBe(0);
  });

  it('results past 16 MiB come through getMore, in a transaction too', async () => {
    const db = freshDb('bw-getmore');
    const ns = `${db.databaseName}.c`;
    const { maxBsonObjectSize } = await env.client.db('admin').command({ hello: 1 });
    // Two upserted _ids of half the document limit: their results cannot share one batch.
    const ids = ['a', 'b'].map((c) => c.repeat(Number(maxBsonObjectSize) / 2));
    const upserts: Model[] = ids.map((_id) => ({
      name: 'updateOne',
      namespace: ns,
      filter: { _id },
      update: { $set: { x: 1 } },
      upsert: true,
    }));
    const commands: string[] = [];
    const watcher = new MongoClient(env.target.uri, { monitorCommands: true });
    await watcher.connect();
    watcher.on('commandStarted', (event) => commands.push(event.commandName));
    const session = watcher.startSession();
    try {
      const plain = await bulkWrite(watcher, upserts, { verboseResults: true });
      expect(plain.upsertedCount).toBe(2);
      expect([...(plain.updateResults?.values() ?? [])].map((r) => r.upsertedId)).toEqual(ids);
      await db.collection<Doc>('c').deleteMany({});
      session.startTransaction();
      const inTxn = await bulkWrite(watcher, upserts, { verboseResults: true, session });
      await session.commitTransaction();
      expect(inTxn.updateResults?.size).toBe(2);
    } finally {
      await session.endSession();
      await watcher.close();
    }
    expect(commands.filter((name) => name === 'getMore')).toHaveLength(2);
    expect(await db.collection<Doc>('c').countDocuments()).toBe(2);
  });

  it('ordered stops at the first write error, unordered goes on and reports every error', async () => {
    const db = freshDb('bw-errors');
    const ns = `${db.databaseName}.c`;
    await db.collection<Doc>('c').insertOne({ _id: 1 });
    const models: Model[] = [
      { name: 'insertOne', namespace: ns, document: { _id: 1 } },
      { name: 'insertOne', namespace: ns, document: { _id: 2 } },
      { name: 'insertOne', namespace: ns, document: { _id: 2 } },
      { name: 'insertOne', namespace: ns, document: { _id: 3 } },
    ];
    const ordered = await errorOf(bulkWrite(env.client, [...models]));
    expect(ordered).toBeInstanceOf(MongoClientBulkWriteError);
    const orderedErr = ordered as MongoClientBulkWriteError;
    expect([...orderedErr.writeErrors.keys()]).toEqual([0]);
    expect(orderedErr.writeErrors.get(0)).toMatchObject({ code: 11000 });
    expect(orderedErr.partialResult?.insertedCount).toBe(0);
    expect(await db.collection<Doc>('c').countDocuments()).toBe(1);

    const unordered = (await errorOf(
      bulkWrite(env.client, [...models], { ordered: false }),
    )) as MongoClientBulkWriteError;
    expect([...unordered.writeErrors.keys()]).toEqual([0, 2]);
    expect(unordered.partialResult?.insertedCount).toBe(2);
    expect(await db.collection<Doc>('c').countDocuments()).toBe(3);
  });

  it('updateOne and replaceOne take the first document in `sort` order', async () => {
    const db = freshDb('bw-sort');
    const col = db.collection<Doc>('c');
    await col.insertMany([
      { _id: 1, x: 5 },
      { _id: 2, x: 9 },
      { _id: 3, x: 7 },
    ]);
    await bulkWrite(env.client, [
      {
        name: 'updateOne',
        namespace: `${db.databaseName}.c`,
        filter: {},
        update: { $set: { hit: true } },
        sort: { x: -1 },
      },
    ]);
    expect(await col.find({ hit: true }).toArray()).toEqual([{ _id: 2, x: 9, hit: true }]);
    await col.updateOne({ x: { $lt: 8 } }, { $set: { hit: true } }, { sort: { x: 1 } });
    expect((await col.find({ hit: true }).toArray()).map((d) => d._id)).toEqual([1, 2]);
  });

  it('in a transaction: invisible until commit, gone on abort, one snapshot with other commands', async () => {
    const db = freshDb('bw-txn');
    const ns = (c: string) => `${db.databaseName}.${c}`;
    await db.collection<Doc>('jobs').insertOne({ _id: 'j', state: 'PENDING' });
    const session = env.client.startSession();
    try {
      session.startTransaction();
      await bulkWrite(
        env.client,
        [
          {
            name: 'updateOne',
            namespace: ns('jobs'),
            filter: { _id: 'j', state: 'PENDING' },
            update: { $set: { state: 'RUNNING' } },
          },
          { name: 'insertOne', namespace: ns('outbox'), document: { _id: 'e1' } },
        ],
        { session },
      );
      expect(await db.collection<Doc>('jobs').findOne({ _id: 'j' }, { session })).toMatchObject({
        state: 'RUNNING',
      });
      expect(await db.collection<Doc>('outbox').countDocuments({})).toBe(0);
      expect(await db.collection<Doc>('jobs').findOne({ _id: 'j' })).toMatchObject({
        state: 'PENDING',
      });
      await session.commitTransaction();
      expect(await db.collection<Doc>('outbox').countDocuments({})).toBe(1);
      expect(await db.collection<Doc>('jobs').findOne({ _id: 'j' })).toMatchObject({
        state: 'RUNNING',
      });

      session.startTransaction();
      await bulkWrite(
        env.client,
        [
          { name: 'insertOne', namespace: ns('outbox'), document: { _id: 'e2' } },
          { name: 'deleteOne', namespace: ns('jobs'), filter: { _id: 'j' } },
        ],
        { session },
      );
      await session.abortTransaction();
      expect(await db.collection<Doc>('outbox').countDocuments({})).toBe(1);
      expect(await db.collection<Doc>('jobs').countDocuments({})).toBe(1);
    } finally {
      await session.endSession();
    }
  });

  it('a write error in a transaction aborts it', async () => {
    const db = freshDb('bw-txn-dup');
    const ns = `${db.databaseName}.c`;
    await db.collection<Doc>('c').insertOne({ _id: 1 });
    const session = env.client.startSession();
    try {
      session.startTransaction();
      const err = await errorOf(
        bulkWrite(
          env.client,
          [
            { name: 'insertOne', namespace: ns, document: { _id: 2 } },
            { name: 'insertOne', namespace: ns, document: { _id: 1 } },
          ],
          { session },
        ),
      );
      expect((err as MongoClientBulkWriteError).writeErrors.get(1)).toMatchObject({ code: 11000 });
      await expect(session.commitTransaction()).rejects.toMatchObject({ code: 251 });
    } finally {
      await session.endSession();
    }
    expect(await db.collection<Doc>('c').countDocuments()).toBe(1);
  });

  it('a write conflict between transactions fails the second with TransientTransactionError', async () => {
    const db = freshDb('bw-conflict');
    const ns = `${db.databaseName}.c`;
    await db.collection<Doc>('c').insertOne({ _id: 1, n: 0 });
    const first = env.client.startSession();
    const second = env.other.startSession();
    try {
      first.startTransaction();
      second.startTransaction();
      const bump: Model[] = [
        { name: 'updateOne', namespace: ns, filter: { _id: 1 }, update: { $inc: { n: 1 } } },
      ];
      await bulkWrite(env.client, [...bump], { session: first });
      const err = await errorOf(bulkWrite(env.other, [...bump], { session: second }));
      // The driver wraps a command error of a client bulk write; the server's error is the cause.
      expect(err).toBeInstanceOf(MongoClientBulkWriteError);
      const cause = (err as MongoClientBulkWriteError).cause;
      expect(cause).toBeInstanceOf(MongoServerError);
      expect((cause as MongoServerError).code).toBe(112);
      expect((cause as MongoServerError).hasErrorLabel('TransientTransactionError')).toBe(true);
      await first.commitTransaction();
    } finally {
      await first.endSession();
      await second.endSession();
    }
    expect(await db.collection<Doc>('c').findOne({ _id: 1 })).toEqual({ _id: 1, n: 1 });
  });

  it('is a retryable write: a retry after a lost reply does not apply it twice', async () => {
    const db = freshDb('bw-retry');
    const ns = `${db.databaseName}.c`;
    await env.client.db('admin').command({
      configureFailPoint: 'onPrimaryTransactionalWrite',
      mode: { times: 1 },
      data: {},
    });
    await bulkWrite(env.client, [
      { name: 'insertOne', namespace: ns, document: { _id: 1 } },
      { name: 'updateOne', namespace: ns, filter: { _id: 1 }, update: { $inc: { n: 1 } } },
    ]);
    expect(await db.collection<Doc>('c').findOne({ _id: 1 })).toEqual({ _id: 1, n: 1 });
  });

  it('refuses malformed commands as mongod does', async () => {
    const admin = env.client.db('admin');
    await expect(
      admin.command({ bulkWrite: 1, ops: [{ insert: 3, document: {} }], nsInfo: [{ ns: 'd.c' }] }),
    ).rejects.toMatchObject({ code: 2 });
    await expect(
      admin.command({ bulkWrite: 1, ops: [], nsInfo: [{ ns: 'd.c' }] }),
    ).rejects.toMatchObject({ code: 16 });
  });
});

describe('a devstack presenting MongoDB 7.0 (maxWireVersion 21)', () => {
  it('has no bulkWrite command and refuses update sort, as mongod 7.0', async () => {
    const server = await startDevstackTarget({ maxWireVersion: 21 });
    const old = await connect(server.uri);
    try {
      const hello = await old.db('admin').command({ hello: 1 });
      expect(hello.maxWireVersion).toBe(21);
      const info = await old.db('admin').command({ buildInfo: 1 });
      expect(info.version).toBe('7.0.0');
      const err = await errorOf(
        bulkWrite(old, [{ name: 'insertOne', namespace: 'd.c', document: { _id: 1 } }]),
      );
      expect((err as MongoClientBulkWriteError).cause).toMatchObject({ code: 59 });
      await expect(
        old
          .db('d')
          .command({ update: 'c', updates: [{ q: {}, u: { $set: { a: 1 } }, sort: { a: 1 } }] }),
      ).rejects.toMatchObject({ code: 40415 });
    } finally {
      await old.close();
      await server.stop();
    }
  });
});
