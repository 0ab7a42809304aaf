/**
 * The `failCommand` fail point (test commands) through the official driver: error replies and the
 * labels the driver's retry logic depends on, closed and blocked connections, write concern errors.
 * Runs against the devstack, or a real replica set started with enableTestCommands (MONGODB_URI).
 */
import {
  type CommandStartedEvent,
  type Db,
  type Document,
  MongoClient,
  MongoNetworkError,
  MongoServerError,
  MongoWriteConcernError,
} from 'mongodb';
import { startMongoDevServer } from '../src';
import { hostPort, RawConnection } from './support/raw-wire';
import { connect, errorOf, startTarget, type Target, uniqueDbName } from './support/target';

let target: Target;
let client: MongoClient;

beforeAll(async () => {
  target = await startTarget();
  client = await connect(target.uri);
});

afterEach(async () => {
  await client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
});

afterAll(async () => {
  await client?.close();
  await target?.stop();
});

async function failCommand(mode: unknown, data: Document): Promise<Document> {
  return client.db('admin').command({ configureFailPoint: 'failCommand', mode, data });
}

/** A client whose started commands (by name) are recorded. */
async function observed(options: {
  retryWrites?: boolean;
  retryReads?: boolean;
  appName?: string;
}) {
  const c = await connect(target.uri, { monitorCommands: true, ...options });
  const started: string[] = [];
  c.on('commandStarted', (e: CommandStartedEvent) => started.push(e.commandName));
  return { client: c, started };
}

function freshDb(c: MongoClient = client): Db {
  return c.db(uniqueDbName('failpoint'));
}

describe('configureFailPoint failCommand', () => {
  it('fails the next n matching commands with the error shape of mongod, then turns off', async () => {
    const db = freshDb();
    const first = await failCommand({ times: 2 }, { failCommands: ['find'], errorCode: 2 });
    expect(typeof first.count).toBe('number');
    for (let i = 0; i < 2; i++) {
      const err = await errorOf(db.collection('c').findOne({}));
      expect(err).toBeInstanceOf(MongoServerError);
      expect(err).toMatchObject({
        code: 2,
        codeName: 'BadValue',
        errmsg: "Failing command via 'failCommand' failpoint",
      });
    }
    await expect(db.collection('c').findOne({})).resolves.toBeNull();
    // A command not in failCommands neither fails nor uses up `times`.
    await failCommand({ times: 1 }, { failCommands: ['find'], errorCode: 2 });
    await db.collection('c').insertOne({ _id: 1 } as Document);
    await expect(db.collection('c').findOne({})).rejects.toMatchObject({ code: 2 });
    const after = await failCommand('off', {});
    expect(after.count).toBe((first.count as number) + 3);
  });

  it('never fails configureFailPoint itself, and hello/ping only when listed', async () => {
    await failCommand('alwaysOn', {
      failCommands: ['configureFailPoint', 'insert'],
      errorCode: 2,
    });
    await expect(client.db('admin').command({ ping: 1 })).resolves.toMatchObject({ ok: 1 });
    await expect(client.db('admin').command({ hello: 1 })).resolves.toMatchObject({ ok: 1 });
    await expect(
      client.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' }),
    ).resolves.toMatchObject({ ok: 1 });
    await expect(freshDb().collection('c').insertOne({})).resolves.toBeDefined();
  });

  it('activationProbability 0 never fires, 1 always does', async () => {
    const db = freshDb();
    await failCommand({ activationProbability: 0 }, { failCommands: ['find'], errorCode: 2 });
    await expect(db.collection('c').findOne({})).resolves.toBeNull();
    await failCommand({ activationProbability: 1 }, { failCommands: ['find'], errorCode: 2 });
    await expect(db.collection('c').findOne({})).rejects.toMatchObject({ code: 2 });
  });

  it('a retryable write failing with a retriable code gets RetryableWriteError and is applied once', async () => {
    const { client: c, started } = await observed({ retryWrites: true });
    try {
      const coll = freshDb(c).collection('c');
      await failCommand({ times: 1 }, { failCommands: ['insert'], errorCode: 91 });
      await coll.insertOne({ _id: 'a' } as Document);
      expect(started.filter((n) => n === 'insert')).toHaveLength(2);
      expect(await coll.countDocuments()).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('errorLabels replace the computed labels (an empty list means none, so no retry)', async () => {
    const { client: c, started } = await observed({ retryWrites: true });
    try {
      const coll = freshDb(c).collection('c');
      await failCommand({ times: 1 }, { failCommands: ['insert'], errorCode: 91, errorLabels: [] });
      const err = await errorOf(coll.insertOne({ _id: 'a' } as Document));
      expect(err).toMatchObject({ code: 91, codeName: 'ShutdownInProgress' });
      expect((err as MongoServerError).errorLabels).not.toContain('RetryableWriteError');
      expect(started.filter((n) => n === 'insert')).toHaveLength(1);
      expect(await coll.countDocuments()).toBe(0);
    } finally {
      await c.close();
    }
  });

  it('a statement of a transaction gets TransientTransactionError, not RetryableWriteError', async () => {
    const coll = freshDb().collection('c');
    await coll.insertOne({ _id: 'seed' } as Document);
    await failCommand({ times: 1 }, { failCommands: ['insert'], errorCode: 112 });
    const session = client.startSession();
    try {
      session.startTransaction();
      const err = await errorOf(coll.insertOne({ _id: 'x' } as Document, { session }));
      expect(err).toMatchObject({ code: 112, codeName: 'WriteConflict' });
      const labels = (err as MongoServerError).errorLabels;
      expect(labels).toContain('TransientTransactionError');
      expect(labels).not.toContain('RetryableWriteError');
      await session.abortTransaction();
    } finally {
      await session.endSession();
    }
  });

  it('a commitTransaction failing once with a retriable code is retried and commits once', async () => {
    const { client: c, started } = await observed({});
    try {
      const coll = freshDb(c).collection('c');
      await coll.insertOne({ _id: 'seed' } as Document);
      await failCommand({ times: 1 }, { failCommands: ['commitTransaction'], errorCode: 91 });
      const session = c.startSession();
      let runs = 0;
      try {
        await session.withTransaction(async () => {
          runs += 1;
          await coll.insertOne({ _id: 'once' } as Document, { session });
        });
      } finally {
        await session.endSession();
      }
      expect(runs).toBe(1);
      expect(started.filter((n) => n === 'commitTransaction')).toHaveLength(2);
      expect(await coll.countDocuments({ _id: 'once' } as Document)).toBe(1);
    } finally {
      await c.close();
    }
  });

  it('closeConnection drops the connection without a reply; the next command works', async () => {
    const { client: c } = await observed({ retryReads: false });
    try {
      const coll = freshDb(c).collection('c');
      await failCommand({ times: 1 }, { failCommands: ['find'], closeConnection: true });
      await expect(coll.findOne({})).rejects.toBeInstanceOf(MongoNetworkError);
      await expect(coll.findOne({})).resolves.toBeNull();
    } finally {
      await c.close();
    }
  });

  it('blockConnection delays only the connections whose handshake gave that appName', async () => {
    // Raw connections: under jest the driver's Map-based handshake metadata serialises as `{}`.
    const { host, port } = hostPort(target.uri);
    const blocked = await RawConnection.open(host, port);
    const other = await RawConnection.open(host, port);
    try {
      await blocked.command({
        hello: 1,
        client: { application: { name: 'blocked-app' } },
        $db: 'admin',
      });
      await other.command({
        hello: 1,
        client: { application: { name: 'other-app' } },
        $db: 'admin',
      });
      const db = uniqueDbName('failpoint');
      await failCommand('alwaysOn', {
        failCommands: ['find'],
        appName: 'blocked-app',
        blockConnection: true,
        blockTimeMS: 1000,
      });
      const order: string[] = [];
      const slow = blocked
        .command({ find: 'c', $db: db })
        .then((r) => order.push(`blocked ${r.doc.ok}`));
      const fast = await other.command({ find: 'c', $db: db });
      order.push(`other ${fast.doc.ok}`);
      await slow;
      expect(order).toEqual(['other 1', 'blocked 1']);
    } finally {
      blocked.close();
      other.close();
    }
  });

  it('writeConcernError is attached after the write is applied', async () => {
    const coll = freshDb().collection('c');
    await failCommand(
      { times: 1 },
      {
        failCommands: ['insert'],
        writeConcernError: { code: 64, codeName: 'WriteConcernFailed', errmsg: 'timed out' },
      },
    );
    const err = await errorOf(coll.insertOne({ _id: 'w' } as Document));
    expect(err).toBeInstanceOf(MongoWriteConcernError);
    expect(err).toMatchObject({ code: 64 });
    expect(await coll.countDocuments()).toBe(1);
  });

  it('rejects unknown modes', async () => {
    await expect(failCommand({ sometimes: 1 }, { failCommands: ['find'] })).rejects.toMatchObject({
      code: 2,
    });
  });
});

describe('configureFailPoint onPrimaryTransactionalWrite', () => {
  const arm = (mode: unknown, data: Document = {}) =>
    client.db('admin').command({ configureFailPoint: 'onPrimaryTransactionalWrite', mode, data });

  afterEach(async () => {
    await arm('off');
  });

  it('a write committed before its connection dropped is applied once after the retry', async () => {
    const coll = freshDb().collection('c');
    await arm({ times: 1 });
    await coll.insertOne({ _id: 1 } as Document);
    expect(await coll.find().toArray()).toEqual([{ _id: 1 }]);
  });

  it('a write failed before commit is applied by the retry, or fails when the retry fails too', async () => {
    const coll = freshDb().collection('c');
    await arm({ times: 1 }, { failBeforeCommitExceptionCode: 1 });
    await coll.insertOne({ _id: 1 } as Document);
    expect(await coll.countDocuments()).toBe(1);
    await arm({ times: 2 }, { failBeforeCommitExceptionCode: 1 });
    await expect(coll.insertOne({ _id: 2 } as Document)).rejects.toBeDefined();
    expect(await coll.countDocuments()).toBe(1);
  });
});

describe('without enableTestCommands', () => {
  it('configureFailPoint does not exist, as on a mongod started without test commands', async () => {
    const server = await startMongoDevServer();
    const c = new MongoClient(server.uri, { serverSelectionTimeoutMS: 5000 });
    try {
      await expect(
        c.db('admin').command({ configureFailPoint: 'failCommand', mode: 'alwaysOn' }),
      ).rejects.toMatchObject({ code: 59, codeName: 'CommandNotFound' });
    } finally {
      await c.close();
      await server.stop();
    }
  });
});
