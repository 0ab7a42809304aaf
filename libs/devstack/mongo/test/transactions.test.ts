/**
 * Sessions, multi-document transactions and retryable writes through the official driver
 * (devstack, or a real replica set with MONGODB_URI).
 */
import {
  type Db,
  type Document,
  Long,
  type MongoClient,
  MongoServerError,
  type ObjectId,
} from 'mongodb';
import { connect, startTarget, type Target, uniqueDbName, waitFor } from './support/target';

let target: Target;
let client: MongoClient;
let other: MongoClient;

beforeAll(async () => {
  target = await startTarget();
  client = await connect(target.uri);
  other = await connect(target.uri);
});

afterAll(async () => {
  await client?.close();
  await other?.close();
  await target?.stop();
});

const dbs: Db[] = [];
async function freshDb(label: string): Promise<Db> {
  const db = client.db(uniqueDbName(label));
  dbs.push(db);
  return db;
}

afterEach(async () => {
  await Promise.all(dbs.splice(0).map((db) => db.dropDatabase()));
});

type Id = ObjectId;
const id = (v: string | number) => v as unknown as Id;

describe('transactions', () => {
  it('commits atomically: nothing is visible to others before commit, everything after', async () => {
    const db = await freshDb('txn-commit');
    const col = db.collection('acc');
    await col.insertMany([
      { _id: id('a'), bal: 100 },
      { _id: id('b'), bal: 0 },
    ]);
    const session = client.startSession();
    try {
      session.startTransaction();
      await col.updateOne({ _id: id('a') }, { $inc: { bal: -30 } }, { session });
      await col.updateOne({ _id: id('b') }, { $inc: { bal: 30 } }, { session });
      await col.insertOne({ _id: id('log'), moved: 30 }, { session });
      // Inside: own writes visible. Outside: untouched.
      expect(await col.findOne({ _id: id('a') }, { session })).toMatchObject({ bal: 70 });
      const outside = other.db(db.databaseName).collection('acc');
      expect(await outside.findOne({ _id: id('a') })).toMatchObject({ bal: 100 });
      expect(await outside.findOne({ _id: id('log') })).toBeNull();
      expect(await outside.countDocuments()).toBe(2);
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
    expect(await col.find({}, { sort: { _id: 1 } }).toArray()).toEqual([
      { _id: 'a', bal: 70 },
      { _id: 'b', bal: 30 },
      { _id: 'log', moved: 30 },
    ]);
  });

  it('reads a snapshot: changes committed after the transaction started are not seen', async () => {
    const db = await freshDb('txn-snapshot');
    const col = db.collection('c');
    await col.insertOne({ _id: id(1), v: 'old' });
    const session = client.startSession();
    try {
      session.startTransaction();
      expect(await col.findOne({ _id: id(1) }, { session })).toMatchObject({ v: 'old' });
      await other
        .db(db.databaseName)
        .collection('c')
        .updateOne({ _id: id(1) }, { $set: { v: 'new' } });
      await other
        .db(db.databaseName)
        .collection('c')
        .insertOne({ _id: id(2) });
      expect(await col.findOne({ _id: id(1) }, { session })).toMatchObject({ v: 'old' });
      expect(await col.countDocuments({}, { session })).toBe(1);
      await session.commitTransaction();
    } finally {
      await session.endSession();
    }
  });

  it('two sessions racing on one document with withTransaction: both increments land', async () => {
    const db = await freshDb('txn-race');
    const col = db.collection('counter');
    await col.insertOne({ _id: id('c'), n: 0 });
    const s1 = client.startSession();
    const s2 = other.startSession();
    let attempts = 0;
    // Each callback reads then writes; the first one holds its write until the second has run,
    // so the second meets a WriteConflict (TransientTransactionError) and withTransaction retries it.
    let releaseFirst!: () => void;
    const firstWrote = new Promise<void>((resolve) => (releaseFirst = resolve));
    let secondTried!: () => void;
    const secondAttempted = new Promise<void>((resolve) => (secondTried = resolve));
    try {
      await Promise.all([
        s1.withTransaction(async () => {
          await col.updateOne({ _id: id('c') }, { $inc: { n: 1 } }, { session: s1 });
          releaseFirst();
          await secondAttempted;
        }),
        (async () => {
          await firstWrote;
          const c2 = other.db(db.databaseName).collection('counter');
          await s2.withTransaction(async () => {
            attempts++;
            try {
              await c2.updateOne({ _id: id('c') }, { $inc: { n: 1 } }, { session: s2 });
            } finally {
              secondTried();
            }
          });
        })(),
      ]);
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(await col.findOne({ _id: id('c') })).toMatchObject({ n: 2 });
  });

  it('a write conflict is 112 WriteConflict with TransientTransactionError; the transaction is then gone (251)', async () => {
    const db = await freshDb('txn-conflict');
    const col = db.collection('c');
    await col.insertOne({ _id: id(1), v: 0 });
    const s1 = client.startSession();
    const s2 = other.startSession();
    try {
      s1.startTransaction();
      s2.startTransaction();
      await col.updateOne({ _id: id(1) }, { $set: { v: 1 } }, { session: s1 });
      const err = await other
        .db(db.databaseName)
        .collection('c')
        .updateOne({ _id: id(1) }, { $set: { v: 2 } }, { session: s2 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(MongoServerError);
      expect(err).toMatchObject({ code: 112, codeName: 'WriteConflict' });
      expect((err as MongoServerError).hasErrorLabel('TransientTransactionError')).toBe(true);
      const commitErr = await s2.commitTransaction().catch((e: unknown) => e);
      expect(commitErr).toMatchObject({ code: 251, codeName: 'NoSuchTransaction' });
      expect((commitErr as MongoServerError).hasErrorLabel('TransientTransactionError')).toBe(true);
      await s1.commitTransaction();
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
    expect(await col.findOne({ _id: id(1) })).toMatchObject({ v: 1 });
  });

  it('a transaction aborted mid-way leaves nothing behind', async () => {
    const db = await freshDb('txn-abort');
    const col = db.collection('c');
    await col.insertOne({ _id: id('keep'), v: 1 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await col.insertOne({ _id: id('new'), v: 1 }, { session });
      await col.updateOne({ _id: id('keep') }, { $set: { v: 99 } }, { session });
      await col.deleteOne({ _id: id('keep') }, { session });
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
    expect(await col.find().toArray()).toEqual([{ _id: 'keep', v: 1 }]);

    // An error thrown inside withTransaction aborts it as well.
    const s2 = client.startSession();
    await expect(
      s2.withTransaction(async () => {
        await col.insertOne({ _id: id('ghost') }, { session: s2 });
        throw new Error('application failure');
      }),
    ).rejects.toThrow('application failure');
    await s2.endSession();
    expect(await col.countDocuments()).toBe(1);
  });

  it('a duplicate key inside a transaction fails with 11000 (keyPattern/keyValue) and aborts it', async () => {
    const db = await freshDb('txn-dup');
    const col = db.collection('users');
    await col.createIndex({ email: 1 }, { unique: true });
    await col.insertOne({ email: 'taken@x' });
    const session = client.startSession();
    const err = await session
      .withTransaction(async () => {
        await col.insertOne({ email: 'fresh@x' }, { session });
        await col.insertOne({ email: 'taken@x' }, { session });
      })
      .catch((e: unknown) => e);
    await session.endSession();
    expect(err).toBeInstanceOf(MongoServerError);
    expect(err).toMatchObject({
      code: 11000,
      keyPattern: { email: 1 },
      keyValue: { email: 'taken@x' },
    });
    expect(await col.countDocuments()).toBe(1);
    expect(await col.findOne({ email: 'fresh@x' })).toBeNull();

    // Duplicate between two writes of the same transaction; and findOneAndUpdate's top-level 11000.
    const s2 = client.startSession();
    try {
      s2.startTransaction();
      await col.insertOne({ email: 'one@x' }, { session: s2 });
      const dup = await col.insertOne({ email: 'one@x' }, { session: s2 }).catch((e: unknown) => e);
      expect(dup).toMatchObject({ code: 11000 });
      await expect(s2.commitTransaction()).rejects.toMatchObject({ code: 251 });
    } finally {
      await s2.endSession();
    }
    await col.insertOne({ email: 'other@x' });
    await expect(
      col.findOneAndUpdate({ email: 'other@x' }, { $set: { email: 'taken@x' } }),
    ).rejects.toMatchObject({
      code: 11000,
      codeName: 'DuplicateKey',
      keyPattern: { email: 1 },
      keyValue: { email: 'taken@x' },
    });
  });

  it('a unique key written by an open transaction: another transaction conflicts, a plain insert waits, then 11000', async () => {
    const db = await freshDb('txn-uniq-race');
    const col = db.collection('inbox');
    await col.createIndex({ eventId: 1 }, { unique: true });
    const s1 = client.startSession();
    const s2 = other.startSession();
    try {
      s1.startTransaction();
      await col.insertOne({ eventId: 'e1', by: 's1' }, { session: s1 });
      s2.startTransaction();
      const conflict = await other
        .db(db.databaseName)
        .collection('inbox')
        .insertOne({ eventId: 'e1', by: 's2' }, { session: s2 })
        .catch((e: unknown) => e);
      expect(conflict).toMatchObject({ code: 112 });
      expect((conflict as MongoServerError).hasErrorLabel('TransientTransactionError')).toBe(true);
      await s2.abortTransaction().catch(() => undefined);
      let settled = false;
      const plain = other
        .db(db.databaseName)
        .collection('inbox')
        .insertOne({ eventId: 'e1', by: 'plain' })
        .then(
          () => 'inserted',
          (e: MongoServerError) => e,
        )
        .finally(() => (settled = true));
      expect(await other.db(db.databaseName).collection('inbox').countDocuments()).toBe(0);
      expect(settled).toBe(false);
      await s1.commitTransaction();
      expect(await plain).toMatchObject({ code: 11000, keyValue: { eventId: 'e1' } });
    } finally {
      await s1.endSession();
      await s2.endSession();
    }
    expect(await col.find({}, { projection: { _id: 0 } }).toArray()).toEqual([
      { eventId: 'e1', by: 's1' },
    ]);
  });

  it('a non-transactional write to a document a transaction wrote waits for the transaction to end', async () => {
    const db = await freshDb('txn-wait');
    const col = db.collection('c');
    await col.insertOne({ _id: id(1), v: 0 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await col.updateOne({ _id: id(1) }, { $set: { v: 10 } }, { session });
      let finished = false;
      const plain = other
        .db(db.databaseName)
        .collection('c')
        .updateOne({ _id: id(1) }, { $inc: { v: 1 } })
        .then((r) => {
          finished = true;
          return r;
        });
      // The plain write has not been applied while the transaction is open (reads are not blocked).
      const probe = other.db(db.databaseName).collection('c');
      for (let i = 0; i < 5; i++)
        expect(await probe.findOne({ _id: id(1) })).toMatchObject({ v: 0 });
      expect(finished).toBe(false);
      await session.commitTransaction();
      expect((await plain).modifiedCount).toBe(1);
    } finally {
      await session.endSession();
    }
    // Applied after the commit, on top of it: 10 + 1.
    expect(await col.findOne({ _id: id(1) })).toMatchObject({ v: 11 });
  });

  it('a transaction left open past transactionLifetimeLimitSeconds is aborted', async () => {
    const admin = client.db('admin');
    const before = await admin.command({ getParameter: 1, transactionLifetimeLimitSeconds: 1 });
    await admin.command({ setParameter: 1, transactionLifetimeLimitSeconds: 1 });
    const db = await freshDb('txn-expiry');
    const col = db.collection('c');
    await col.insertOne({ _id: id(1), v: 0 });
    const session = client.startSession();
    try {
      session.startTransaction();
      await col.updateOne({ _id: id(1) }, { $set: { v: 1 } }, { session });
      // Once expired, the document lock is gone: a plain write goes through.
      await waitFor(
        'the expired transaction to release its lock',
        async () =>
          await other
            .db(db.databaseName)
            .collection('c')
            .updateOne({ _id: id(1) }, { $set: { w: 1 } }, { maxTimeMS: 200 })
            .then(
              () => true,
              () => false,
            ),
        30_000,
      );
      await expect(session.commitTransaction()).rejects.toMatchObject({ code: 251 });
    } finally {
      await session.endSession();
      await admin.command({
        setParameter: 1,
        transactionLifetimeLimitSeconds: before.transactionLifetimeLimitSeconds,
      });
    }
    expect(await col.findOne({ _id: id(1) })).toEqual({ _id: 1, v: 0, w: 1 });
  }, 60_000);
});

describe('killing the sessions of a dead client', () => {
  // What a restarted service does for the transactions its killed predecessor left open.
  it.each([
    ['killSessions', (lsid: Document) => ({ killSessions: [lsid] })],
    ['killAllSessionsByPattern', (lsid: Document) => ({ killAllSessionsByPattern: [{ lsid }] })],
  ])(
    '%s aborts the open transaction of that session and releases its documents',
    async (_name, command) => {
      const db = await freshDb('txn-kill');
      const col = db.collection('c');
      await col.insertMany([
        { _id: id(1), v: 0 },
        { _id: id(2), v: 0 },
      ]);
      const abandoned = client.startSession();
      const bystander = client.startSession();
      const writer = other.startSession();
      try {
        abandoned.startTransaction();
        await col.updateOne({ _id: id(1) }, { $set: { v: 'zombie' } }, { session: abandoned });
        bystander.startTransaction();
        await col.updateOne({ _id: id(2) }, { $set: { v: 'alive' } }, { session: bystander });
        const otherCol = other.db(db.databaseName).collection('c');
        // Another transaction on the held document fails fast with WriteConflict; it does not wait.
        writer.startTransaction();
        const conflict = await otherCol
          .updateOne({ _id: id(1) }, { $set: { v: 'mine' } }, { session: writer })
          .catch((err: unknown) => err);
        expect(conflict).toBeInstanceOf(MongoServerError);
        expect(conflict).toMatchObject({ code: 112 });
        expect((conflict as MongoServerError).hasErrorLabel('TransientTransactionError')).toBe(
          true,
        );
        await writer.abortTransaction().catch(() => undefined);

        const reply = await other.db('admin').command(command(abandoned.id as Document));
        expect(reply).toEqual(expect.objectContaining({ ok: 1 }));

        await waitFor(
          'the killed session to release its document',
          async () =>
            await writer
              .withTransaction(async () => {
                await otherCol.updateOne(
                  { _id: id(1) },
                  { $set: { v: 'mine' } },
                  { session: writer },
                );
              })
              .then(
                () => true,
                () => false,
              ),
          5_000,
        );
        const late = await abandoned.commitTransaction().catch((err: unknown) => err);
        expect(late).toBeInstanceOf(MongoServerError);
        expect((late as MongoServerError).hasErrorLabel('TransientTransactionError')).toBe(true);
        // The other session's transaction was not touched.
        await bystander.commitTransaction();
      } finally {
        await Promise.all([abandoned, bystander, writer].map((s) => s.endSession()));
      }
      expect(await col.find({}, { sort: { _id: 1 } }).toArray()).toEqual([
        { _id: 1, v: 'mine' },
        { _id: 2, v: 'alive' },
      ]);
    },
  );
});

describe('retryable writes', () => {
  it('a repeated (lsid, txnNumber) is answered without applying the write again', async () => {
    const db = await freshDb('retry');
    await db.collection('c').insertOne({ _id: id('n'), v: 0 });
    // A client of its own: hand-picked txnNumbers must not collide with the driver's pooled sessions.
    const own = await connect(target.uri);
    const ownDb = own.db(db.databaseName);
    const session = own.startSession();
    try {
      const cmd = {
        update: 'c',
        updates: [{ q: { _id: 'n' }, u: { $inc: { v: 1 } } }],
        txnNumber: Long.fromNumber(7),
      };
      const first = await ownDb.command(cmd, { session });
      const retry = await ownDb.command(cmd, { session });
      expect(first).toMatchObject({ n: 1, nModified: 1 });
      expect(retry).toMatchObject({ n: 1, nModified: 1 });
      const insert = { insert: 'c', documents: [{ _id: 'once' }], txnNumber: Long.fromNumber(8) };
      await ownDb.command(insert, { session });
      expect(await ownDb.command(insert, { session })).toMatchObject({ n: 1 });
      const old = await ownDb.command(cmd, { session }).catch((e: unknown) => e);
      expect(old).toMatchObject({ code: 225 });
    } finally {
      await session.endSession();
      await own.close();
    }
    expect(await db.collection('c').findOne({ _id: id('n') })).toMatchObject({ v: 1 });
    expect(await db.collection('c').countDocuments({ _id: id('once') })).toBe(1);
  });

  it('the driver runs retryable writes with sessions on this topology', async () => {
    const db = await freshDb('retry-driver');
    const seen: Array<{ name: string; txnNumber: boolean }> = [];
    const monitored = await connect(target.uri, { monitorCommands: true, retryWrites: true });
    try {
      monitored.on('commandStarted', (ev) =>
        seen.push({ name: ev.commandName, txnNumber: ev.command.txnNumber !== undefined }),
      );
      const col = monitored.db(db.databaseName).collection('c');
      await col.insertOne({ a: 1 });
      await col.updateOne({ a: 1 }, { $set: { b: 1 } });
      await col.findOneAndUpdate({ a: 1 }, { $set: { c: 1 } });
      expect(seen.filter((s) => s.name !== 'hello' && s.name !== 'isMaster')).toEqual([
        { name: 'insert', txnNumber: true },
        { name: 'update', txnNumber: true },
        { name: 'findAndModify', txnNumber: true },
      ]);
    } finally {
      await monitored.close();
    }
  });
});
