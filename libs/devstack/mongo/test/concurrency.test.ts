/**
 * Many connections at once: one pool of 250 connections, and pools from several processes writing
 * concurrently (devstack, or a real replica set with MONGODB_URI).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MongoClient } from 'mongodb';
import { connect, startTarget, type Target, uniqueDbName, waitFor } from './support/target';

const run = promisify(execFile);
const ROOT = join(__dirname, '../../../..');
let target: Target;

beforeAll(async () => {
  target = await startTarget();
});

afterAll(async () => {
  await target?.stop();
});

it('serves 250 concurrent connections from one pool', async () => {
  // 250 plain updates of a document an open transaction has written all block (each holding its
  // connection) until the commit, so the pool must really open 250 connections.
  const client = new MongoClient(target.uri, {
    maxPoolSize: 260,
    maxConnecting: 25,
    serverSelectionTimeoutMS: 5000,
  });
  let created = 0;
  client.on('connectionCreated', () => created++);
  await client.connect();
  const db = client.db(uniqueDbName('conc-pool'));
  try {
    const col = db.collection('c');
    await col.insertOne({ _id: 'hot' as never, n: 0 });
    const session = client.startSession();
    session.startTransaction();
    await col.updateOne({ _id: 'hot' as never }, { $set: { n: 1000 } }, { session });
    const blocked = Array.from({ length: 250 }, () =>
      col.updateOne({ _id: 'hot' as never }, { $inc: { n: 1 } }),
    );
    await waitFor('250 connections to be opened', () => created >= 250, 30_000);
    await session.commitTransaction();
    await session.endSession();
    await Promise.all(blocked);
    expect(await col.findOne({ _id: 'hot' as never })).toMatchObject({ n: 1250 });
    const found = await Promise.all(
      Array.from({ length: 250 }, () => col.findOne({ _id: 'hot' as never })),
    );
    expect(found.every((d) => d?.n === 1250)).toBe(true);
  } finally {
    await db.dropDatabase();
    await client.close();
  }
});

it('accepts pools from several processes writing at once', async () => {
  const dbName = uniqueDbName('conc-procs');
  const script = `
    const { MongoClient } = require('mongodb');
    (async () => {
      const c = new MongoClient(process.argv[1], { maxPoolSize: 40 });
      const col = c.db(process.argv[2]).collection('c');
      await Promise.all(Array.from({ length: 300 }, (_, i) => col.insertOne({ p: process.argv[3], i })));
      const s = c.startSession();
      await s.withTransaction(async () => {
        await col.updateOne({ _id: 'shared' }, { $inc: { n: 1 } }, { session: s, upsert: true });
      });
      await s.endSession();
      await c.close();
    })().catch((e) => { console.error(e); process.exit(1); });`;
  await Promise.all(
    ['a', 'b', 'c', 'd'].map((p) =>
      run(process.execPath, ['-e', script, target.uri, dbName, p], { cwd: ROOT, timeout: 60_000 }),
    ),
  );
  const client = await connect(target.uri);
  try {
    const col = client.db(dbName).collection('c');
    expect(await col.countDocuments({ p: { $in: ['a', 'b', 'c', 'd'] } })).toBe(1200);
    expect(await col.findOne({ _id: 'shared' as never })).toMatchObject({ n: 4 });
  } finally {
    await client.db(dbName).dropDatabase();
    await client.close();
  }
});
