/**
 * Write concern on a one-member replica set, as mongod answers it: w 1 and majority succeed
 * (wtimeout never expires), w above the member count and unknown tag sets fail with a
 * writeConcernError after the write is applied. Devstack, or a one-member replica set (MONGODB_URI).
 */
import { type Document, type MongoClient, MongoWriteConcernError } from 'mongodb';
import { connect, errorOf, startTarget, type Target, uniqueDbName } from './support/target';

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

describe('write concern', () => {
  it('w 1 and majority with a wtimeout succeed', async () => {
    const coll = client.db(uniqueDbName('wc')).collection<Document>('c');
    await coll.insertOne({ a: 1 }, { writeConcern: { w: 1 } });
    await coll.insertOne({ a: 2 }, { writeConcern: { w: 'majority', wtimeoutMS: 1000 } });
    expect(await coll.countDocuments()).toBe(2);
  });

  it('w above the member count: 100 UnsatisfiableWriteConcern, the write is applied', async () => {
    const coll = client.db(uniqueDbName('wc')).collection<Document>('c');
    const err = await errorOf(coll.insertOne({ a: 1 }, { writeConcern: { w: 2 } }));
    expect(err).toBeInstanceOf(MongoWriteConcernError);
    expect(err).toMatchObject({ code: 100, codeName: 'UnsatisfiableWriteConcern' });
    expect((err as MongoWriteConcernError).result.writeConcernError.errmsg).toBe(
      'Not enough data-bearing nodes',
    );
    expect(await coll.countDocuments()).toBe(1);
  });

  it('an unknown tag set: 79 UnknownReplWriteConcern, the write is applied', async () => {
    const db = client.db(uniqueDbName('wc'));
    // The driver's types know only numbers and 'majority'; a raw command sends a tag-set name.
    await expect(
      db.command({
        insert: 'c',
        documents: [{ a: 1 }],
        writeConcern: { w: 'threeDataCenters' },
      }),
    ).rejects.toMatchObject({ code: 79, codeName: 'UnknownReplWriteConcern' });
    expect(await db.collection('c').countDocuments()).toBe(1);
  });

  it('a commit with an unsatisfiable write concern commits and reports it, without retrying', async () => {
    const coll = client.db(uniqueDbName('wc')).collection<Document>('c');
    await coll.insertOne({ seed: true });
    const session = client.startSession();
    try {
      session.startTransaction({ writeConcern: { w: 5 } });
      await coll.insertOne({ inTxn: true }, { session });
      const err = await errorOf(session.commitTransaction());
      expect(err).toMatchObject({ code: 100 });
      expect((err as MongoWriteConcernError).errorLabels).not.toContain(
        'UnknownTransactionCommitResult',
      );
    } finally {
      await session.endSession();
    }
    expect(await coll.countDocuments({ inTxn: true })).toBe(1);
  });
});
