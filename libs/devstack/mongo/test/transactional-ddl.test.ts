/**
 * Collections and indexes created inside a multi-document transaction (mongod 4.4+): kept on
 * commit, gone after abort; indexes only on a collection the transaction created.
 * Runs against the devstack, or a real replica set with MONGODB_URI.
 */
import type { Db, Document, MongoClient } from 'mongodb';
import { connect, startTarget, type Target, uniqueDbName } from './support/target';

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

async function collectionNames(db: Db): Promise<string[]> {
  return (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
}

describe('DDL inside transactions', () => {
  it('a collection created (explicitly or by an insert) in an aborted transaction is gone', async () => {
    const db = client.db(uniqueDbName('txddl'));
    await db.collection('existing').insertOne({ seed: 1 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await db.createCollection('explicit', { session });
      await db.collection<Document>('implicit').insertOne({ a: 1 }, { session });
      await db.collection('explicit').createIndex({ k: 1 }, { session });
      // Not visible outside the transaction before it commits.
      expect(await collectionNames(db)).toEqual(['existing']);
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    expect(await collectionNames(db)).toEqual(['existing']);
  });

  it('a collection and index created in a committed transaction stay', async () => {
    const db = client.db(uniqueDbName('txddl'));
    const session = client.startSession();
    try {
      await session.withTransaction(async () => {
        await db.createCollection('made', { session });
        await db.collection('made').createIndex({ k: 1 }, { session, name: 'k_1' });
        await db.collection<Document>('made').insertOne({ k: 1 }, { session });
        await expect(db.collection('made').listIndexes().toArray()).rejects.toMatchObject({
          code: 26,
        });
      });
    } finally {
      await session.endSession();
    }
    expect(await collectionNames(db)).toEqual(['made']);
    const indexes = await db.collection('made').listIndexes().toArray();
    expect(indexes.map((i) => i.name).sort()).toEqual(['_id_', 'k_1']);
  });

  it('an index on a collection that existed before the transaction is refused (263)', async () => {
    const db = client.db(uniqueDbName('txddl'));
    await db.collection('existing').insertOne({ seed: 1 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await expect(
        db.collection('existing').createIndex({ k: 1 }, { session }),
      ).rejects.toMatchObject({ code: 263, codeName: 'OperationNotSupportedInTransaction' });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    const indexes = await db.collection('existing').listIndexes().toArray();
    expect(indexes.map((i) => i.name)).toEqual(['_id_']);
  });
});
