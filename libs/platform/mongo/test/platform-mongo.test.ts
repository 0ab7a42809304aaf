import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { MongoClient, ObjectId, type Db } from 'mongodb';
import {
  startMongoDevServer,
  type MongoDevServer,
  type WireVersion,
} from '@trellis/devstack/mongo';
import { startTelemetry, type Telemetry } from '@trellis/platform/telemetry';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { POOL_MAINTENANCE_MS } from '../src/connect-mongo';
import {
  connectMongo,
  Inbox,
  isDuplicateKeyError,
  supportsClientBulkWrite,
  Lease,
  Outbox,
  SessionOwners,
  withTransaction,
  type OutboxMessage,
  type SessionOwnersOptions,
} from '../src';

// MONGODB_URI set: run against that (real) replica set; unset: the embedded devstack server.
let server: MongoDevServer | undefined;
let client: MongoClient;
let db: Db;
let telemetry: Telemetry;

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'platform-mongo-test' });
  server = process.env.MONGODB_URI ? undefined : await startMongoDevServer({ port: 0 });
  client = new MongoClient(process.env.MONGODB_URI ?? server!.uri);
  await client.connect();
  db = client.db(`platform_mongo_${randomUUID().slice(0, 8)}`);
});

afterAll(async () => {
  await db.dropDatabase();
  await client.close();
  await server?.stop();
  await telemetry.shutdown();
});

function message(aggregateId: string): OutboxMessage {
  return {
    eventId: randomUUID(),
    eventType: 'trellis.test.v1.Happened',
    aggregateId,
    topic: 'test.events.v1',
    key: aggregateId,
    value: Buffer.from('payload'),
  };
}

describe('connectMongo', () => {
  it("its connection pools run their background pass every POOL_MAINTENANCE_MS, not the driver's 100 ms", async () => {
    const { logger } = captureLogger('connect-mongo-test');
    const mongo = await connectMongo({
      uri: process.env.MONGODB_URI ?? server!.uri,
      database: db.databaseName,
      appName: 'connect-mongo-test',
      logger,
    });
    try {
      expect(await mongo.ping()).toBe(true);
      // Driver internals: the option is not public, so this guards a driver upgrade dropping it.
      const topology = (
        mongo.client as unknown as {
          topology: { s: { servers: Map<string, { pool: { options: Record<string, unknown> } }> } };
        }
      ).topology;
      const pools = [...topology.s.servers.values()].map((server) => server.pool.options);
      expect(pools.length).toBeGreaterThan(0);
      for (const options of pools)
        expect(options.minPoolSizeCheckFrequencyMS).toBe(POOL_MAINTENANCE_MS);
    } finally {
      await mongo.close();
    }
  });
});

describe('withTransaction', () => {
  it('concurrent read-modify-write transactions on one document all land (write conflicts are retried)', async () => {
    const counters = db.collection<{ _id: string; n: number }>('counters');
    await counters.insertOne({ _id: 'c', n: 0 });
    await Promise.all(
      Array.from({ length: 10 }, () =>
        withTransaction(client, async (session) => {
          const doc = await counters.findOne({ _id: 'c' }, { session });
          await counters.updateOne({ _id: 'c' }, { $set: { n: doc!.n + 1 } }, { session });
        }),
      ),
    );
    expect((await counters.findOne({ _id: 'c' }))!.n).toBe(10);
  });
});

/** A client of its own with a (not yet started) SessionOwners on it. */
async function ownedClient(
  options: Omit<SessionOwnersOptions, 'service' | 'logger'>,
): Promise<{ own: MongoClient; instance: SessionOwners }> {
  const own = new MongoClient(process.env.MONGODB_URI ?? server!.uri);
  await own.connect();
  const instance = new SessionOwners(own, db, {
    service: 'test',
    logger: captureLogger().logger,
    ...options,
  });
  return { own, instance };
}

describe('SessionOwners', () => {
  it("a dead instance's open transaction is killed within seconds, not after the server's 60 s lifetime", async () => {
    const accounts = db.collection<{ _id: string; balance: number }>('owned_accounts');
    await accounts.insertOne({ _id: 'hot', balance: 0 });
    // The "dead" instance: recorded once, then its heartbeat never moves again.
    const deadClient = new MongoClient(process.env.MONGODB_URI ?? server!.uri);
    await deadClient.connect();
    const zombie = deadClient.startSession();
    let live: SessionOwners | undefined;
    try {
      const dead = new SessionOwners(deadClient, db, {
        service: 'test',
        logger: captureLogger().logger,
        heartbeatMs: 3_600_000,
      });
      await dead.start();
      await dead.register(zombie);
      zombie.startTransaction();
      await deadClient
        .db(db.databaseName)
        .collection<{ _id: string; balance: number }>('owned_accounts')
        .updateOne({ _id: 'hot' }, { $inc: { balance: 1 } }, { session: zombie });

      const transferOnce = async () => {
        const session = client.startSession();
        try {
          session.startTransaction();
          await accounts.updateOne({ _id: 'hot' }, { $inc: { balance: 10 } }, { session });
          await session.commitTransaction();
          return true;
        } catch {
          await session.abortTransaction().catch(() => undefined);
          return false;
        } finally {
          await session.endSession();
        }
      };
      expect(await transferOnce()).toBe(false); // WriteConflict with the zombie

      const { logger, lines } = captureLogger();
      live = new SessionOwners(client, db, {
        service: 'test',
        logger,
        heartbeatMs: 100,
        deadAfterMs: 500,
      });
      await live.start();
      await waitFor(transferOnce, { timeoutMs: 10_000, what: 'the zombie to be killed' });
      expect(lines).toContainEqual(
        expect.objectContaining({ instance: dead.instanceId, sessions: 1 }),
      );
      // withTransaction on a client with owners records its session before the transaction.
      await withTransaction(client, (session) =>
        accounts.updateOne({ _id: 'hot' }, { $inc: { balance: 100 } }, { session }),
      );
      const mine = await db
        .collection<{ _id: string; lsids: unknown[] }>('session_owners')
        .findOne({ _id: live.instanceId });
      expect(mine?.lsids.length).toBeGreaterThan(0);
      const owners = db.collection<{ _id: string }>('session_owners');
      expect(await owners.countDocuments({ _id: dead.instanceId })).toBe(0);
    } finally {
      await live?.stop();
      await zombie.endSession().catch(() => undefined);
      await deadClient.close();
    }
    expect((await accounts.findOne({ _id: 'hot' }))?.balance).toBe(110);
  });

  it('an instance wrongly taken for dead records itself again; idle sessions are forgotten', async () => {
    const owners = db.collection<{ _id: string; lsids: unknown[] }>('session_owners');
    const { own, instance } = await ownedClient({ heartbeatMs: 50, idleSessionMs: 2_000 });
    try {
      await instance.start();
      await withTransaction(own, (session) =>
        own.db(db.databaseName).collection('revived').insertOne({ n: 1 }, { session }),
      );
      expect((await owners.findOne({ _id: instance.instanceId }))?.lsids).toHaveLength(1);
      // What a sweeper does to an instance it took for dead.
      await owners.deleteOne({ _id: instance.instanceId });
      await waitFor(
        async () => (await owners.findOne({ _id: instance.instanceId }))?.lsids.length === 1,
        { what: 'the record to be written again with its session' },
      );
      await waitFor(
        async () => (await owners.findOne({ _id: instance.instanceId }))?.lsids.length === 0,
        { what: 'the idle session to be forgotten' },
      );
    } finally {
      await instance.stop();
      await own.close();
    }
  });

  it('an idle instance beats at the idle pace, its watchers wait for it, and a transaction brings back the busy pace', async () => {
    const owners = db.collection<{ _id: string; beat: number; idle_beat_ms?: number }>(
      'session_owners',
    );
    const { own, instance } = await ownedClient({
      heartbeatMs: 50,
      idleAfterMs: 200,
      idleHeartbeatMs: 600_000,
    });
    try {
      await instance.start();
      const idle = await waitFor(
        async () => {
          const doc = await owners.findOne({ _id: instance.instanceId });
          return doc?.idle_beat_ms === 600_000 ? doc : undefined;
        },
        { what: 'the record to say it beats at the idle pace' },
      );
      // A watcher's clock 5 s on, with the idle instance's next beat ten minutes away: not dead.
      const watcher = new SessionOwners(client, db, {
        service: 'watcher',
        logger: captureLogger().logger,
        deadAfterMs: 100,
      });
      await watcher.sweep(0);
      expect(await watcher.sweep(5_000)).toBe(0);
      expect(await owners.countDocuments({ _id: instance.instanceId })).toBe(1);

      await withTransaction(own, (session) =>
        own.db(db.databaseName).collection('paced').insertOne({ n: 1 }, { session }),
      );
      await waitFor(
        async () => {
          const doc = await owners.findOne({ _id: instance.instanceId });
          return doc && doc.beat > idle.beat && doc.idle_beat_ms === undefined;
        },
        { what: 'a beat at the busy pace' },
      );
    } finally {
      await instance.stop();
      await own.close();
    }
  });
});

describe('Outbox', () => {
  it('appends in the business transaction with the active trace context', async () => {
    const outbox = new Outbox(db, 3600, 'outbox_trace');
    await outbox.ensureIndexes();
    const tracer = trace.getTracer('test');
    let traceId = '';
    await tracer.startActiveSpan('rpc', async (span) => {
      traceId = span.spanContext().traceId;
      await withTransaction(client, (session) => outbox.append(session, [message('acc-1')]));
      span.end();
    });
    const [doc] = await outbox.collection.find().toArray();
    expect(doc).toMatchObject({
      aggregate_id: 'acc-1',
      key: 'acc-1',
      topic: 'test.events.v1',
      published_at: null,
    });
    expect(doc.headers.traceparent).toContain(traceId);
  });

  it('an aborted transaction leaves no event behind', async () => {
    const outbox = new Outbox(db, 3600, 'outbox_abort');
    const accounts = db.collection('accounts_abort');
    await expect(
      withTransaction(client, async (session) => {
        await accounts.insertOne({ _id: 'x' as never, balance: 1 }, { session });
        await outbox.append(session, [message('x')]);
        throw new Error('business rule failed after the writes');
      }),
    ).rejects.toThrow('business rule failed');
    expect(await outbox.collection.countDocuments()).toBe(0);
    expect(await accounts.countDocuments()).toBe(0);
  });
});

describe('Inbox', () => {
  it('processes an event once, however often and however concurrently it is delivered', async () => {
    const inbox = new Inbox(client, db, 'inbox_test');
    await inbox.ensureIndexes();
    const effects = db.collection<{ _id: string; count: number }>('effects');
    const eventId = randomUUID();
    const deliver = () =>
      inbox.processOnce(eventId, 'trellis.test.v1.Happened', async (session) => {
        await effects.updateOne({ _id: 'e' }, { $inc: { count: 1 } }, { session, upsert: true });
      });
    const outcomes = await Promise.all([deliver(), deliver(), deliver(), deliver(), deliver()]);
    expect(outcomes.filter((o) => o === 'processed')).toHaveLength(1);
    expect(await deliver()).toBe('duplicate');
    expect((await effects.findOne({ _id: 'e' }))!.count).toBe(1);
  });

  it('a failing handler records nothing, so the event is processed on redelivery', async () => {
    const inbox = new Inbox(client, db, 'inbox_failing');
    const eventId = randomUUID();
    await expect(
      inbox.processOnce(eventId, 't', async () => {
        throw new Error('transient');
      }),
    ).rejects.toThrow('transient');
    await expect(inbox.processOnce(eventId, 't', async () => undefined)).resolves.toBe('processed');
  });
});

describe('Lease', () => {
  it('is held by one owner at a time and taken over after it expires, naming the predecessor', async () => {
    const a = new Lease(db, 'relay', 'owner-a', 60_000, 'leases_test');
    const b = new Lease(db, 'relay', 'owner-b', 60_000, 'leases_test');
    const results = await Promise.all([a.tryAcquire(), b.tryAcquire()]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const [holder, other] = results[0] ? [a, b] : [b, a];
    expect(holder.predecessor).toBeUndefined();
    expect(await holder.tryAcquire()).toBe(true);
    expect(await other.tryAcquire()).toBe(false);
    // Seen from one minute later the lease has expired, so the other owner takes it over.
    expect(await other.tryAcquire(new Date(Date.now() + 61_000))).toBe(true);
    expect(other.predecessor).toBe(holder.owner);
    expect(await holder.tryAcquire()).toBe(false);
    // Released: the next holder has no predecessor to worry about.
    await other.release();
    expect(await holder.tryAcquire()).toBe(true);
    expect(holder.predecessor).toBeUndefined();
  });

  it('hold() renews only once half of the lease is used up', async () => {
    const leases = db.collection<{ _id: string; expires_at: Date }>('leases_hold');
    const lease = new Lease(db, 'relay', 'owner-a', 60_000, 'leases_hold');
    const start = Date.now();
    expect(await lease.hold(new Date(start))).toBe(true);
    const first = (await leases.findOne({ _id: 'relay' }))!.expires_at.getTime();
    // 20 s on, 40 s are left: no round trip, the stored expiry stays.
    expect(await lease.hold(new Date(start + 20_000))).toBe(true);
    expect((await leases.findOne({ _id: 'relay' }))!.expires_at.getTime()).toBe(first);
    // 31 s on, less than half is left: renewed.
    expect(await lease.hold(new Date(start + 31_000))).toBe(true);
    expect((await leases.findOne({ _id: 'relay' }))!.expires_at.getTime()).toBe(start + 91_000);
    // Lost to another owner after it expired: the next renewal finds out.
    const other = new Lease(db, 'relay', 'owner-b', 60_000, 'leases_hold');
    expect(await other.tryAcquire(new Date(start + 200_000))).toBe(true);
    expect(await lease.hold(new Date(start + 200_000))).toBe(false);
    expect(await lease.hold(new Date(start + 200_001))).toBe(false);
  });
});

describe('Outbox retention', () => {
  it('deletes published entries by default, marks them when retaining', async () => {
    const deleting = new Outbox(db, 0, 'outbox_delete');
    const retaining = new Outbox(db, 3600, 'outbox_retain');
    for (const outbox of [deleting, retaining]) {
      await outbox.ensureIndexes();
      await withTransaction(client, (session) => outbox.append(session, [message('r-1')]));
      const ids = (await outbox.collection.find().toArray()).map((d) => d._id);
      await outbox.markPublished(ids);
    }
    expect(await deleting.collection.countDocuments()).toBe(0);
    expect(await retaining.collection.countDocuments({ published_at: { $ne: null } })).toBe(1);
    const ttl = (await retaining.collection.listIndexes().toArray()).find(
      (i) => i.name === 'published_ttl',
    );
    expect(ttl?.expireAfterSeconds).toBe(3600);
  });
});

describe('client bulkWrite (MongoDB 8.0+)', () => {
  it('is known supported where the server speaks 8.0 and not where it speaks 7.0', async () => {
    const hello = await client.db('admin').command({ hello: 1 });
    expect(await supportsClientBulkWrite(client)).toBe(Number(hello.maxWireVersion) >= 25);
    // Asked again: answered from what the first call learned.
    expect(await supportsClientBulkWrite(client)).toBe(Number(hello.maxWireVersion) >= 25);
    const old = await startMongoDevServer({ port: 0, maxWireVersion: 21 });
    const oldClient = new MongoClient(old.uri);
    try {
      expect(await supportsClientBulkWrite(oldClient)).toBe(false);
    } finally {
      await oldClient.close();
      await old.stop();
    }
  });

  it.each<[string, string[], WireVersion | undefined]>([
    ['8.0', ['bulkWrite', 'commitTransaction'], undefined],
    ['7.0', ['update', 'insert', 'commitTransaction'], 21],
  ])(
    "appendGroupWith on %s sends %j: the collection's writes and the events in one transaction",
    async (_version, commands, maxWireVersion) => {
      const versioned = await startMongoDevServer({ port: 0, maxWireVersion });
      const versionedClient = new MongoClient(versioned.uri, { monitorCommands: true });
      const sent: string[] = [];
      versionedClient.on('commandStarted', (event) => sent.push(event.commandName));
      try {
        const vdb = versionedClient.db(`platform_group_${randomUUID().slice(0, 8)}`);
        const outbox = new Outbox(vdb);
        const things = vdb.collection<{ _id: string; n: number }>('things');
        await things.insertOne({ _id: 'one', n: 1 });
        sent.length = 0;
        const { matched, documents } = await withTransaction(versionedClient, (session) =>
          outbox.appendGroupWith(
            versionedClient,
            session,
            {
              collection: things,
              writes: [
                { updateOne: { filter: { _id: 'one' }, update: { $inc: { n: 1 } } } },
                { updateOne: { filter: { _id: 'none' }, update: { $inc: { n: 1 } } } },
              ],
            },
            [message('a'), message('b')],
          ),
        );
        expect(sent.filter((name) => name !== 'hello')).toEqual(commands);
        expect(matched).toBe(1);
        expect((await things.findOne({ _id: 'one' }))?.n).toBe(2);
        expect((await outbox.groups.find().toArray()).map((d) => d._id)).toEqual([
          documents[0]._id,
        ]);
        expect(documents[0].events.map((e) => e.aggregate_id)).toEqual(['a', 'b']);
      } finally {
        await versionedClient.close();
        await versioned.stop();
      }
    },
  );

  it("appendGroupWith on 8.0 puts the events in one group document of the same client bulkWrite; a write's error comes out as the command's would, and nothing is written", async () => {
    // The devstack presents 8.0 (MONGODB_URI may be an older server).
    const server80 = await startMongoDevServer({ port: 0 });
    const client80 = new MongoClient(server80.uri);
    try {
      const db80 = client80.db(`platform_bulk_${randomUUID().slice(0, 8)}`);
      expect(await supportsClientBulkWrite(client80)).toBe(true);
      const outbox = new Outbox(db80);
      const things = db80.collection<{ _id: ObjectId }>('things');
      const id = new ObjectId();
      const insertThing = (events: OutboxMessage[]) =>
        withTransaction(client80, (session) =>
          outbox.appendGroupWith(
            client80,
            session,
            { collection: things, writes: [{ insertOne: { document: { _id: id } } }] },
            events,
          ),
        );
      const { documents: docs } = await insertThing([message('a'), message('b')]);
      expect(docs).toHaveLength(1);
      expect(docs[0].events.map((e) => e.aggregate_id)).toEqual(['a', 'b']);
      expect((await outbox.groups.find().toArray()).map((d) => d._id)).toEqual([docs[0]._id]);
      const duplicate = await insertThing([message('c')]).catch((err: unknown) => err);
      expect(isDuplicateKeyError(duplicate)).toBe(true);
      expect((await outbox.groups.find().toArray()).map((d) => d._id)).toEqual([docs[0]._id]);
    } finally {
      await client80.close();
      await server80.stop();
    }
  });
});
