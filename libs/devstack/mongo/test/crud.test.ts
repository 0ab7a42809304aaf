/**
 * CRUD, cursors and aggregation through the official driver only. Runs against the devstack server,
 * or against a real replica set when MONGODB_URI is set (see support/target.ts).
 */
import {
  Binary,
  type Db,
  type Document,
  type MongoClient,
  MongoBulkWriteError,
  MongoServerError,
  ObjectId,
  UUID,
} from 'mongodb';
import { connect, startTarget, type Target, uniqueDbName, usingDevstack } from './support/target';

let target: Target;
let client: MongoClient;

beforeAll(async () => {
  target = await startTarget();
  client = await connect(target.uri);
});

afterAll(async () => {
  await client?.close();
  await target?.stop();
});

function freshDb(label: string): Db {
  return client.db(uniqueDbName(label));
}

afterEach(async () => {
  // Databases are unique per test; dropping keeps a shared real cluster tidy.
  const dbs = await client.db('admin').admin().listDatabases({ nameOnly: true });
  await Promise.all(
    dbs.databases
      .filter((d) => d.name.startsWith('t_crud'))
      .map((d) => client.db(d.name).dropDatabase()),
  );
});

describe('insert and find', () => {
  it('insertOne / insertMany / findOne / find with filter, sort, projection, skip, limit', async () => {
    const col = freshDb('crud-find').collection('items');
    const one = await col.insertOne({ name: 'a', n: 3, tags: ['x'] });
    expect(one.insertedId).toBeInstanceOf(ObjectId);
    const many = await col.insertMany([
      { _id: 'b' as unknown as ObjectId, name: 'b', n: 1, nested: { v: 1 } },
      { name: 'c', n: 2, tags: ['x', 'y'] },
      { name: 'd', n: 5 },
    ]);
    expect(many.insertedCount).toBe(3);
    expect(many.insertedIds[0]).toBe('b');

    expect(await col.findOne({ name: 'a' })).toMatchObject({ name: 'a', n: 3 });
    expect(await col.findOne({ _id: 'b' as unknown as ObjectId })).toMatchObject({
      name: 'b',
      nested: { v: 1 },
    });
    expect(await col.findOne({ name: 'zzz' })).toBeNull();

    const sorted = await col
      .find({ n: { $gte: 2 } }, { sort: { n: -1 }, projection: { _id: 0, name: 1 } })
      .toArray();
    expect(sorted).toEqual([{ name: 'd' }, { name: 'a' }, { name: 'c' }]);

    const page = await col
      .find({}, { sort: { n: 1 }, skip: 1, limit: 2, projection: { n: 1, _id: 0 } })
      .toArray();
    expect(page).toEqual([{ n: 2 }, { n: 3 }]);

    expect(await col.countDocuments({ tags: 'x' })).toBe(2);
    expect(await col.find({ tags: { $all: ['x', 'y'] } }).toArray()).toHaveLength(1);
    expect(await col.find({ 'nested.v': 1 }).toArray()).toHaveLength(1);
    expect(await col.find({ $or: [{ n: 1 }, { n: 5 }] }).toArray()).toHaveLength(2);
    // Projection excluding the sort field still sorts by it.
    expect(
      await col.find({}, { sort: { n: 1 }, projection: { name: 1, _id: 0 }, limit: 2 }).toArray(),
    ).toEqual([{ name: 'b' }, { name: 'c' }]);
    // A negative limit is a single batch.
    expect(await col.find({}).limit(-2).toArray()).toHaveLength(2);
  });

  it('round-trips BSON types', async () => {
    const col = freshDb('crud-types').collection('types');
    const doc = {
      s: 'str',
      i: 42,
      d: 1.5,
      big: 2 ** 40,
      date: new Date('2024-01-02T03:04:05Z'),
      oid: new ObjectId(),
      arr: [1, 'two', { three: 3 }],
      nul: null,
      bool: true,
      sub: { a: { b: 'c' } },
    };
    const { insertedId } = await col.insertOne(doc);
    const back = await col.findOne({ _id: insertedId });
    expect(back).toEqual({ ...doc, _id: insertedId });
    expect(await col.findOne({ oid: doc.oid })).not.toBeNull();
    expect(await col.findOne({ date: { $gt: new Date('2024-01-01') } })).not.toBeNull();
  });

  it('keeps Int64 fields Int64 (bigint with useBigInt64) through writes, queries and $inc', async () => {
    const db = freshDb('crud-int64');
    const big = await connect(target.uri, { useBigInt64: true });
    try {
      const col = big.db(db.databaseName).collection('money');
      await col.insertOne({
        _id: 'acc' as unknown as ObjectId,
        units: 500n,
        small: 3,
        lines: [{ units: 7n }],
      });
      let doc = await col.findOne({ _id: 'acc' as unknown as ObjectId });
      expect(doc).toEqual({ _id: 'acc', units: 500n, small: 3, lines: [{ units: 7n }] });
      // Int64 and Int32 query values both match an Int64 field.
      expect(await col.countDocuments({ units: 500n })).toBe(1);
      expect(await col.countDocuments({ units: 500 })).toBe(1);
      expect(await col.countDocuments({ units: { $gt: 499 } })).toBe(1);
      await col.updateOne(
        { _id: 'acc' as unknown as ObjectId },
        { $inc: { units: -125n, 'lines.0.units': 1 } },
      );
      doc = await col.findOne({ _id: 'acc' as unknown as ObjectId });
      expect(doc).toMatchObject({ units: 375n, small: 3, lines: [{ units: 8n }] });
      const after = await col.findOneAndUpdate(
        { _id: 'acc' as unknown as ObjectId },
        { $inc: { units: 25 } },
        { returnDocument: 'after' },
      );
      expect(after?.units).toBe(400n);
      await col.updateOne(
        { _id: 'other' as unknown as ObjectId },
        { $set: { balance: 2n ** 60n } },
        { upsert: true },
      );
      expect((await col.findOne({ _id: 'other' as unknown as ObjectId }))?.balance).toBe(2n ** 60n);
      // The default driver settings still see plain numbers.
      expect(
        (await db.collection('money').findOne({ _id: 'acc' as unknown as ObjectId }))?.units,
      ).toBe(400);
    } finally {
      await big.close();
    }
  });

  it('matches Binary/UUID values exactly and round-trips them', async () => {
    const col = freshDb('crud-binary').collection('bins');
    const ids = Array.from({ length: 50 }, () => new UUID());
    await col.insertMany(
      ids.map((u, i) => ({ u, i, raw: new Binary(Buffer.from([0xff, 0x80 + i])) })),
    );
    for (const [i, u] of ids.entries()) {
      const found = await col.find({ u }).toArray();
      expect(found.map((d) => d.i)).toEqual([i]);
    }
    const one = await col.findOne({ raw: new Binary(Buffer.from([0xff, 0x80 + 7])) });
    expect(one?.i).toBe(7);
    expect((one?.u as Binary).toUUID().toHexString()).toBe(ids[7].toHexString());
    expect(await col.countDocuments({ u: { $in: [ids[1], ids[2]] } })).toBe(2);
  });

  it('a duplicate _id is error 11000 with keyPattern and keyValue', async () => {
    const col = freshDb('crud-dupid').collection('c');
    await col.insertOne({ _id: 'k' as unknown as ObjectId });
    const err = await col.insertOne({ _id: 'k' as unknown as ObjectId }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err).toMatchObject({ code: 11000, keyPattern: { _id: 1 }, keyValue: { _id: 'k' } });
  });
});

describe('cursors', () => {
  it('pages 10,000 documents through getMore in batches', async () => {
    const col = freshDb('crud-paging').collection('many');
    const docs = Array.from({ length: 10_000 }, (_, i) => ({ i, pad: 'x'.repeat(20) }));
    await col.insertMany(docs);
    const getMores: number[] = [];
    const listener = (ev: { commandName: string; reply?: unknown }) => {
      if (ev.commandName === 'getMore') getMores.push(1);
    };
    const monitored = await connect(target.uri, { monitorCommands: true });
    try {
      monitored.on('commandSucceeded', listener);
      const seen = new Set<number>();
      const cursor = monitored
        .db(col.dbName)
        .collection('many')
        .find({}, { batchSize: 500, sort: { i: 1 } });
      let expected = 0;
      for await (const doc of cursor) {
        expect(doc.i).toBe(expected++);
        seen.add(doc.i as number);
      }
      expect(seen.size).toBe(10_000);
      expect(getMores.length).toBeGreaterThanOrEqual(19);
    } finally {
      await monitored.close();
    }
  });

  it('killCursors closes an open cursor; a killed cursor is CursorNotFound (43)', async () => {
    const db = freshDb('crud-kill');
    const col = db.collection('c');
    await col.insertMany(Array.from({ length: 50 }, (_, i) => ({ i })));
    const first = await db.command({ find: 'c', batchSize: 5 });
    const id = first.cursor.id;
    expect(first.cursor.firstBatch).toHaveLength(5);
    const killed = await db.command({ killCursors: 'c', cursors: [id] });
    expect(killed.cursorsKilled).toHaveLength(1);
    const err = await db.command({ getMore: id, collection: 'c' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 43, codeName: 'CursorNotFound' });

    const cursor = col.find({}, { batchSize: 10 });
    expect(await cursor.next()).not.toBeNull();
    await cursor.close();
    expect(cursor.killed).toBe(true);
  });
});

describe('updates and deletes', () => {
  it('updateOne / updateMany with operators, upsert, arrayFilters, replaceOne', async () => {
    interface Item {
      _id: number;
      n?: number;
      tags?: string[];
      items?: Array<{ k: string; q: number }>;
      sub?: { x: boolean };
      at?: Date;
      key?: string;
      v?: number;
      created?: boolean;
      replaced?: boolean;
      fresh?: number;
      double?: number;
    }
    const col = freshDb('crud-update').collection<Item>('c');
    await col.insertMany([
      {
        _id: 1,
        n: 1,
        tags: ['a'],
        items: [
          { k: 'x', q: 1 },
          { k: 'y', q: 1 },
        ],
      },
      { _id: 2, n: 2, tags: [] },
      { _id: 3, n: 3 },
    ]);
    const r1 = await col.updateOne(
      { _id: 1 },
      {
        $inc: { n: 5 },
        $push: { tags: 'b' },
        $set: { 'sub.x': true },
        $currentDate: { at: true },
      },
    );
    expect(r1).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    const d1 = await col.findOne({ _id: 1 });
    expect(d1).toMatchObject({ n: 6, tags: ['a', 'b'], sub: { x: true } });
    expect(d1?.at).toBeInstanceOf(Date);

    const unchanged = await col.updateOne({ _id: 2 }, { $set: { n: 2 } });
    expect(unchanged).toMatchObject({ matchedCount: 1, modifiedCount: 0 });

    const many = await col.updateMany({ n: { $lt: 10 } }, { $mul: { n: 10 }, $unset: { sub: '' } });
    expect(many).toMatchObject({ matchedCount: 3, modifiedCount: 3 });
    expect((await col.find({}, { sort: { _id: 1 } }).toArray()).map((d) => d.n)).toEqual([
      60, 20, 30,
    ]);

    const af = await col.updateOne(
      { _id: 1 },
      { $set: { 'items.$[it].q': 9 } },
      { arrayFilters: [{ 'it.k': 'y' }] },
    );
    expect(af.modifiedCount).toBe(1);
    expect((await col.findOne({ _id: 1 }))?.items).toEqual([
      { k: 'x', q: 1 },
      { k: 'y', q: 9 },
    ]);

    const pos = await col.updateOne({ _id: 1, 'items.k': 'x' }, { $set: { 'items.$.q': 7 } });
    expect(pos.modifiedCount).toBe(1);
    expect((await col.findOne({ _id: 1 }))?.items?.[0]).toEqual({
      k: 'x',
      q: 7,
    });

    const up = await col.updateOne(
      { key: 'new' },
      { $set: { v: 1 }, $setOnInsert: { created: true } },
      { upsert: true },
    );
    expect(up.upsertedCount).toBe(1);
    expect(up.matchedCount).toBe(0);
    expect(await col.findOne({ _id: up.upsertedId as unknown as number })).toMatchObject({
      key: 'new',
      v: 1,
      created: true,
    });
    const again = await col.updateOne(
      { key: 'new' },
      { $set: { v: 2 }, $setOnInsert: { created: false } },
      { upsert: true },
    );
    expect(again).toMatchObject({ matchedCount: 1, modifiedCount: 1, upsertedCount: 0 });
    expect(await col.findOne({ key: 'new' })).toMatchObject({ v: 2, created: true });

    const rep = await col.replaceOne({ _id: 2 }, { replaced: true });
    expect(rep).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await col.findOne({ _id: 2 })).toEqual({
      _id: 2,
      replaced: true,
    });
    const repUp = await col.replaceOne({ _id: 99 }, { fresh: 1 }, { upsert: true });
    expect(repUp.upsertedId).toBe(99);

    const pipe = await col.updateOne({ _id: 3 }, [{ $set: { double: { $multiply: ['$n', 2] } } }]);
    expect(pipe.modifiedCount).toBe(1);
    expect(await col.findOne({ _id: 3 })).toMatchObject({
      n: 30,
      double: 60,
    });

    const immutable = await col
      .updateOne({ _id: 3 }, { $set: { _id: 4 } })
      .catch((e: unknown) => e);
    expect(immutable).toMatchObject({ code: 66 });
  });

  it('simple operator updates: no-op is not modified, $inc type rules, embedded paths', async () => {
    const col = freshDb('crud-fastupd').collection('c');
    await col.insertOne({ _id: 1 as never, n: 1, f: 1.5, s: 'x', z: null, e: { a: 1 } });
    const same = await col.updateOne(
      { _id: 1 as never },
      { $set: { n: 1, 'e.a': 1 }, $inc: { f: 0 } },
    );
    expect([same.matchedCount, same.modifiedCount]).toEqual([1, 0]);
    const changed = await col.updateOne(
      { _id: 1 as never },
      { $inc: { n: 2, f: 1, 'e.b': 3 }, $set: { 'g.h': 'new' }, $unset: { z: '' }, $max: { m: 4 } },
    );
    expect(changed.modifiedCount).toBe(1);
    expect(await col.findOne({ _id: 1 as never })).toEqual({
      _id: 1,
      n: 3,
      f: 2.5,
      s: 'x',
      e: { a: 1, b: 3 },
      g: { h: 'new' },
      m: 4,
    });
    for (const field of ['s', 'e']) {
      const err = await col
        .updateOne({ _id: 1 as never }, { $inc: { [field]: 1 } })
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 14 });
      expect((err as Error).message).toMatch(/Cannot apply \$inc to a value of non-numeric type/);
    }
  });

  it('queries by indexed fields see own writes and snapshots inside a transaction', async () => {
    const db = freshDb('crud-idxtx');
    const col = db.collection<{ _id: number; k: string; st: string; p?: number }>('c');
    await col.createIndex({ st: 1, k: 1 });
    await col.createIndex({ k: 1 });
    await col.insertMany(
      Array.from({ length: 50 }, (_, i) => ({ _id: i, k: `k${i % 5}`, st: i % 2 ? 'A' : 'B' })),
    );
    const session = client.startSession();
    try {
      session.startTransaction();
      // Read first so the snapshot is fixed, then change things outside the transaction.
      expect(await col.countDocuments({ k: 'k1' }, { session })).toBe(10);
      await col.updateMany({ k: 'k1', st: 'A' }, { $set: { k: 'moved' } });
      await col.insertOne({ _id: 100, k: 'k1', st: 'A' });
      await col.updateOne({ _id: 2 }, { $set: { k: 'own' } }, { session });
      await col.insertOne({ _id: 101, k: 'k1', st: 'A' }, { session });
      await col.deleteOne({ _id: 6 }, { session });
      const seen = await col.find({ k: { $in: ['k1', 'own'] } }, { session }).toArray();
      // (Sorted here: with an index, mongod returns index order, the devstack natural order.)
      expect(seen.map((d) => d._id).sort((a, b) => a - b)).toEqual([
        1, 2, 11, 16, 21, 26, 31, 36, 41, 46, 101,
      ]);
      const sorted = await col
        .find({ st: 'A', k: 'k1' }, { session })
        .sort({ _id: -1 })
        .limit(3)
        .toArray();
      expect(sorted.map((d) => d._id)).toEqual([101, 41, 31]);
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    const after = await col.find({ k: 'k1' }).sort({ _id: 1 }).toArray();
    expect(after.map((d) => d._id)).toEqual([16, 26, 36, 46, 100, 101]);
  });

  it('deleteOne / deleteMany', async () => {
    const col = freshDb('crud-delete').collection('c');
    await col.insertMany([{ k: 1 }, { k: 1 }, { k: 2 }, { k: 3 }]);
    expect((await col.deleteOne({ k: 1 })).deletedCount).toBe(1);
    expect((await col.deleteMany({ k: { $in: [1, 2] } })).deletedCount).toBe(2);
    expect((await col.deleteMany({ k: 42 })).deletedCount).toBe(0);
    expect(await col.countDocuments()).toBe(1);
  });

  it('findOneAndUpdate / Replace / Delete with returnDocument, sort, upsert, projection', async () => {
    const col = freshDb('crud-fam').collection('c');
    await col.insertMany([
      { g: 'a', n: 1 },
      { g: 'a', n: 2 },
      { g: 'b', n: 3 },
    ]);
    const before = await col.findOneAndUpdate({ g: 'a' }, { $inc: { n: 10 } }, { sort: { n: -1 } });
    expect(before).toMatchObject({ n: 2 });
    const after = await col.findOneAndUpdate(
      { g: 'a' },
      { $inc: { n: 10 } },
      { sort: { n: 1 }, returnDocument: 'after', projection: { _id: 0, n: 1 } },
    );
    expect(after).toEqual({ n: 11 });
    const replaced = await col.findOneAndReplace(
      { g: 'b' },
      { g: 'b', n: 0 },
      { returnDocument: 'after' },
    );
    expect(replaced).toMatchObject({ g: 'b', n: 0 });
    const upserted = await col.findOneAndUpdate(
      { g: 'c' },
      { $set: { n: 7 } },
      { upsert: true, returnDocument: 'after' },
    );
    expect(upserted).toMatchObject({ g: 'c', n: 7 });
    const missing = await col.findOneAndUpdate({ g: 'zzz' }, { $set: { n: 1 } });
    expect(missing).toBeNull();
    const deleted = await col.findOneAndDelete({ g: 'a' }, { sort: { n: -1 } });
    expect(deleted).toMatchObject({ n: 12 });
    expect(await col.countDocuments({ g: 'a' })).toBe(1);
    const full = await col.findOneAndUpdate(
      { g: 'c' },
      { $set: { n: 8 } },
      { includeResultMetadata: true },
    );
    expect(full).toMatchObject({ ok: 1, lastErrorObject: { n: 1, updatedExisting: true } });
  });

  it('bulkWrite ordered stops at the first error, unordered continues', async () => {
    const col = freshDb('crud-bulk').collection('c');
    await col.createIndex({ u: 1 }, { unique: true });
    const ok = await col.bulkWrite([
      { insertOne: { document: { u: 1 } } },
      { insertOne: { document: { u: 2 } } },
      { updateOne: { filter: { u: 1 }, update: { $set: { v: 1 } } } },
      { updateMany: { filter: {}, update: { $set: { all: true } } } },
      { replaceOne: { filter: { u: 2 }, replacement: { u: 2, r: true } } },
      { updateOne: { filter: { u: 3 }, update: { $set: { v: 3 } }, upsert: true } },
      { deleteOne: { filter: { u: 1 } } },
    ]);
    expect(ok).toMatchObject({
      insertedCount: 2,
      matchedCount: 4,
      modifiedCount: 4,
      deletedCount: 1,
      upsertedCount: 1,
    });

    const orderedErr = await col
      .bulkWrite([
        { insertOne: { document: { u: 10 } } },
        { insertOne: { document: { u: 2 } } },
        { insertOne: { document: { u: 11 } } },
      ])
      .catch((e: unknown) => e);
    expect(orderedErr).toBeInstanceOf(MongoBulkWriteError);
    expect((orderedErr as MongoBulkWriteError).insertedCount).toBe(1);
    expect((orderedErr as MongoBulkWriteError).writeErrors).toMatchObject([
      { index: 1, code: 11000 },
    ]);
    expect(await col.countDocuments({ u: 11 })).toBe(0);

    const unorderedErr = await col
      .bulkWrite(
        [
          { insertOne: { document: { u: 20 } } },
          { insertOne: { document: { u: 2 } } },
          { insertOne: { document: { u: 21 } } },
        ],
        { ordered: false },
      )
      .catch((e: unknown) => e);
    expect(unorderedErr).toBeInstanceOf(MongoBulkWriteError);
    expect((unorderedErr as MongoBulkWriteError).insertedCount).toBe(2);
    expect(await col.countDocuments({ u: { $in: [20, 21] } })).toBe(2);

    const insertManyErr = await col
      .insertMany([{ u: 30 }, { u: 30 }, { u: 31 }], { ordered: false })
      .catch((e: unknown) => e);
    expect(insertManyErr).toMatchObject({ code: 11000, insertedCount: 2 });
  });
});

describe('counting, distinct and aggregation', () => {
  it('countDocuments, estimatedDocumentCount, distinct', async () => {
    const col = freshDb('crud-count').collection('c');
    expect(await col.countDocuments()).toBe(0);
    expect(await col.estimatedDocumentCount()).toBe(0);
    await col.insertMany([{ c: 'r', t: [1, 2] }, { c: 'g', t: [2, 3] }, { c: 'r' }, { c: 'b' }]);
    expect(await col.countDocuments()).toBe(4);
    expect(await col.countDocuments({ c: 'r' })).toBe(2);
    expect(await col.countDocuments({}, { skip: 1, limit: 2 })).toBe(2);
    expect(await col.estimatedDocumentCount()).toBe(4);
    expect((await col.distinct('c')).sort()).toEqual(['b', 'g', 'r']);
    expect((await col.distinct('t')).sort()).toEqual([1, 2, 3]);
    expect(await col.distinct('c', { t: 3 })).toEqual(['g']);
  });

  it('aggregate with $match, $group, $sort, $project, $unwind, $lookup and a cursor', async () => {
    const db = freshDb('crud-agg');
    const orders = db.collection('orders');
    await db.collection('customers').insertMany([
      { _id: 1 as unknown as ObjectId, name: 'Ann' },
      { _id: 2 as unknown as ObjectId, name: 'Bob' },
    ]);
    await orders.insertMany([
      { cust: 1, total: 10, items: ['a', 'b'] },
      { cust: 1, total: 5, items: ['c'] },
      { cust: 2, total: 7, items: [] },
    ]);
    const byCustomer = await orders
      .aggregate([
        { $match: { total: { $gte: 5 } } },
        { $group: { _id: '$cust', sum: { $sum: '$total' }, n: { $sum: 1 } } },
        { $sort: { sum: -1 } },
        { $lookup: { from: 'customers', localField: '_id', foreignField: '_id', as: 'who' } },
        { $project: { _id: 0, sum: 1, n: 1, name: { $arrayElemAt: ['$who.name', 0] } } },
      ])
      .toArray();
    expect(byCustomer).toEqual([
      { sum: 15, n: 2, name: 'Ann' },
      { sum: 7, n: 1, name: 'Bob' },
    ]);
    const unwound = await orders.aggregate([{ $unwind: '$items' }, { $count: 'n' }]).toArray();
    expect(unwound).toEqual([{ n: 3 }]);

    await orders.insertMany(Array.from({ length: 300 }, (_, i) => ({ cust: 3, total: i })));
    const big = await orders
      .aggregate([{ $match: { cust: 3 } }, { $sort: { total: 1 } }], { batchSize: 50 })
      .toArray();
    expect(big).toHaveLength(300);
    expect(big[299].total).toBe(299);
  });
});

describe('errors in MongoDB shape', () => {
  it('unknown commands and operators', async () => {
    const db = freshDb('crud-errors');
    await db.collection('c').insertOne({ a: 1 });
    await expect(db.command({ definitelyNotACommand: 1 })).rejects.toMatchObject({
      code: 59,
      codeName: 'CommandNotFound',
    });
    await expect(
      db
        .collection('c')
        .find({ a: { $frobnicate: 1 } })
        .toArray(),
    ).rejects.toMatchObject({
      code: 2,
      message: expect.stringContaining('$frobnicate'),
    });
    await expect(
      db.collection('c').updateOne({}, { $frobnicate: { a: 1 } } as never),
    ).rejects.toMatchObject({
      code: 9,
      message: expect.stringContaining('$frobnicate'),
    });
    await expect(
      db
        .collection('c')
        .aggregate([{ $frobnicate: {} }])
        .toArray(),
    ).rejects.toMatchObject({
      code: 40324,
      message: expect.stringContaining('$frobnicate'),
    });
    await expect(
      db.collection('c').updateOne({}, { $inc: { a: 'x' } } as never),
    ).rejects.toMatchObject({ code: 14 });
    await expect(db.collection('missing').listIndexes().toArray()).rejects.toMatchObject({
      code: 26,
      codeName: 'NamespaceNotFound',
    });
    if (target.devstack) {
      // Devstack-specific: collation is refused instead of being ignored (mongod would apply it).
      await expect(
        db
          .collection('c')
          .find({}, { collation: { locale: 'fr' } })
          .toArray(),
      ).rejects.toMatchObject({ code: 2, message: expect.stringContaining('collation') });
    }
  });
});

describe('let variables', () => {
  it('find, aggregate, update, delete and findAndModify see `let` variables in $expr and pipelines', async () => {
    const col = freshDb('crud-let').collection<{ _id: number; name: string; x?: string }>('l');
    await col.insertMany([
      { _id: 1, name: 'a' },
      { _id: 2, name: 'b' },
    ]);
    const byId = { $expr: { $eq: ['$_id', '$$id'] } };
    expect(await col.find(byId, { let: { id: 1 } }).toArray()).toEqual([{ _id: 1, name: 'a' }]);
    expect(
      await col
        .aggregate([{ $match: byId }, { $project: { tag: '$$tag' } }], { let: { id: 2, tag: 't' } })
        .toArray(),
    ).toEqual([{ _id: 2, tag: 't' }]);
    await col.updateOne(byId, [{ $set: { x: '$$x' } }], { let: { id: 1, x: 'from-let' } });
    // A plain update operator stores the string itself, as mongod does.
    await col.updateOne(byId, { $set: { name: '$$x' } }, { let: { id: 2, x: 'unused' } });
    expect(await col.find().sort({ _id: 1 }).toArray()).toEqual([
      { _id: 1, name: 'a', x: 'from-let' },
      { _id: 2, name: '$$x' },
    ]);
    expect(await col.findOneAndDelete(byId, { let: { id: 2 } })).toMatchObject({ _id: 2 });
    await col.deleteMany({ $expr: { $eq: ['$name', '$$name'] } }, { let: { name: 'a' } });
    expect(await col.countDocuments()).toBe(0);
  });
});

/** The stages of an explained plan, depth first; IXSCANs with their index and direction. */
function stagesOf(plan: Document): string[] {
  const own =
    plan.stage === 'IXSCAN'
      ? `IXSCAN ${String(plan.indexName)} ${String(plan.direction)}`
      : plan.stage;
  const children = [
    ...(plan.inputStage ? [plan.inputStage as Document] : []),
    ...((plan.inputStages as Document[] | undefined) ?? []),
  ];
  return [String(own), ...children.flatMap(stagesOf)];
}

describe('explain', () => {
  it('explains find, update and aggregate without running them; refuses a bad verbosity', async () => {
    const col = freshDb('crud-explain').collection<{ a: number }>('e');
    await col.insertMany([{ a: 1 }, { a: 1 }, { a: 2 }]);
    const plan = await col.find({ a: 1 }).explain('executionStats');
    expect(plan.queryPlanner).toMatchObject({ winningPlan: { stage: 'COLLSCAN' } });
    expect(plan.executionStats).toMatchObject({ nReturned: 2 });
    await col.createIndex({ a: 1 });
    expect((await col.find({ a: 2 }).explain('queryPlanner')).queryPlanner).toMatchObject({
      winningPlan: { stage: 'FETCH', inputStage: { stage: 'IXSCAN', indexName: 'a_1' } },
    });
    // A range with a sort and limit on the index walks it backwards (no SORT stage), as mongod.
    const walk = await col
      .find({ a: { $gte: 1 } })
      .sort({ a: -1 })
      .limit(1)
      .explain();
    expect(stagesOf(walk.queryPlanner.winningPlan)).toEqual([
      'LIMIT',
      'FETCH',
      'IXSCAN a_1 backward',
    ]);
    expect(
      await col
        .find({ a: { $gte: 1 } })
        .sort({ a: -1 })
        .limit(1)
        .toArray(),
    ).toEqual([expect.objectContaining({ a: 2 })]);
    const or = await col.find({ $or: [{ a: 2 }, { a: { $lt: 0 } }] }).explain();
    expect(stagesOf(or.queryPlanner.winningPlan)).toEqual(
      expect.arrayContaining(['OR', 'IXSCAN a_1 forward', 'IXSCAN a_1 forward']),
    );
    const update = await col.updateMany({ a: 1 }, { $inc: { a: 5 } }, { explain: true });
    expect(update).toHaveProperty('queryPlanner');
    expect(await col.countDocuments({ a: 1 })).toBe(2);
    expect(await col.aggregate([{ $match: { a: 1 } }], { explain: true }).toArray()).toEqual([
      expect.objectContaining({ queryPlanner: expect.any(Object) }),
    ]);
    const [staged] = await col
      .aggregate([{ $match: { a: 1 } }, { $group: { _id: '$a' } }], { explain: true })
      .toArray();
    expect(staged.stages[0]).toHaveProperty('$cursor.queryPlanner');
    await expect(
      col.aggregate([{ $out: 'elsewhere' }], { explain: true }).toArray(),
    ).rejects.toBeInstanceOf(MongoServerError);
    await expect(col.find({}).explain('bogus' as unknown as 'queryPlanner')).rejects.toBeInstanceOf(
      MongoServerError,
    );
  });
});

describe('options refused as mongod refuses them', () => {
  it('a hint naming no index fails find, count, aggregate, update, delete and findAndModify', async () => {
    const col = freshDb('crud-hint').collection('h');
    await col.insertOne({ a: 1 });
    await col.createIndex({ a: 1 });
    // Existing indexes by key pattern or name are fine.
    expect(await col.find({ a: 1 }, { hint: { a: 1 } }).toArray()).toHaveLength(1);
    expect(await col.find({}, { hint: 'a_1' }).toArray()).toHaveLength(1);
    const bad = { code: 2, message: expect.stringContaining('hint provided does not correspond') };
    await expect(col.find({}, { hint: { b: 1 } }).toArray()).rejects.toMatchObject(bad);
    await expect(col.countDocuments({}, { hint: 'nope' })).rejects.toMatchObject(bad);
    await expect(col.aggregate([], { hint: { b: 1 } }).toArray()).rejects.toMatchObject(bad);
    await expect(col.updateOne({}, { $set: { a: 2 } }, { hint: { b: 1 } })).rejects.toMatchObject(
      bad,
    );
    await expect(col.deleteOne({}, { hint: 'nope' })).rejects.toMatchObject(bad);
    await expect(col.findOneAndDelete({}, { hint: { b: 1 } })).rejects.toMatchObject(bad);
    expect(await col.countDocuments({ a: 1 })).toBe(1);
    // A hinted sparse index only holds documents with the field, as on mongod.
    await col.createIndex({ x: 1 }, { sparse: true });
    expect(await col.find({ a: 1 }, { hint: 'x_1' }).toArray()).toEqual([]);
    expect(await col.countDocuments({}, { hint: 'x_1' })).toBe(0);
    expect(await col.countDocuments({}, { hint: 'a_1' })).toBe(1);
  });

  it('a projection mixing inclusion and exclusion is refused; update sort as the version has it', async () => {
    const db = freshDb('crud-projection');
    const col = db.collection('p');
    await col.insertOne({ a: 1, b: 2 });
    await expect(col.find({}, { projection: { a: 1, b: 0 } }).toArray()).rejects.toMatchObject({
      code: 31254,
      message: 'Cannot do exclusion on field b in inclusion projection',
    });
    expect(await col.find({}, { projection: { _id: 0, a: 1 } }).toArray()).toEqual([{ a: 1 }]);
    // `sort` in an update statement arrived with MongoDB 8.0 (the devstack's default); 7.0 refuses it.
    const { maxWireVersion } = await client.db('admin').command({ hello: 1 });
    const sorted = db.command({
      update: 'p',
      updates: [{ q: {}, u: { $set: { a: 3 } }, sort: { a: 1 } }],
    });
    if (Number(maxWireVersion) >= 25) await expect(sorted).resolves.toMatchObject({ n: 1 });
    else await expect(sorted).rejects.toMatchObject({ code: 40415 });
  });

  it('tailable cursors need a capped collection; awaitData needs tailable', async () => {
    const col = freshDb('crud-tailable').collection('t');
    await col.insertOne({ a: 1 });
    await expect(col.find({}, { tailable: true }).toArray()).rejects.toMatchObject({ code: 2 });
    await expect(col.find({}, { awaitData: true }).toArray()).rejects.toBeInstanceOf(
      MongoServerError,
    );
  });

  it('partial filters mongod cannot index and invalid namespaces are refused', async () => {
    const db = freshDb('crud-partial');
    await expect(
      db
        .collection('p')
        .createIndex({ a: 1 }, { partialFilterExpression: { a: { $exists: false } } }),
    ).rejects.toMatchObject({ code: 67 });
    await expect(
      db.collection('p').createIndex({ a: 1 }, { partialFilterExpression: { a: { $ne: 1 } } }),
    ).rejects.toMatchObject({ code: 67 });
    await db
      .collection('p')
      .createIndex({ a: 1 }, { partialFilterExpression: { a: { $exists: true }, b: { $gt: 1 } } });
    await expect(db.collection('a\x00b').insertOne({ a: 1 })).rejects.toMatchObject({
      code: 73,
      codeName: 'InvalidNamespace',
    });
  });

  if (usingDevstack) {
    it('collection options the devstack would not enforce are refused (devstack only)', async () => {
      const db = freshDb('crud-create-options');
      for (const options of [
        { validator: { a: { $type: 'string' } } },
        { capped: true, size: 4096 },
        { viewOn: 'other', pipeline: [] },
        { timeseries: { timeField: 't' } },
      ]) {
        await expect(db.createCollection('c', options)).rejects.toMatchObject({ code: 72 });
      }
      // Text and geo indexes (their query operators are not implemented either).
      await expect(db.collection('i').createIndex({ t: 'text' })).rejects.toMatchObject({
        code: 67,
      });
      await expect(db.collection('i').createIndex({ loc: '2dsphere' })).rejects.toMatchObject({
        code: 67,
      });
      // An empty validator validates nothing and is accepted.
      await db.createCollection('c', { validator: {} });
    });
  }
});
