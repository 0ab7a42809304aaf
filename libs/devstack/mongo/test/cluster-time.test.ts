/**
 * Cluster time and causal consistency through the official driver: replies carry operationTime
 * and $clusterTime, and a causally consistent session's reads carry afterClusterTime.
 * Runs against the devstack, or a real replica set with MONGODB_URI.
 */
import { type CommandStartedEvent, type Document, type MongoClient, Timestamp } from 'mongodb';
import { hostPort, RawConnection } from './support/raw-wire';
import { connect, startTarget, type Target, uniqueDbName } from './support/target';

let target: Target;
let client: MongoClient;
const started: CommandStartedEvent[] = [];

beforeAll(async () => {
  target = await startTarget();
  client = await connect(target.uri, { monitorCommands: true });
  client.on('commandStarted', (e: CommandStartedEvent) => started.push(e));
});

afterAll(async () => {
  await client?.close();
  await target?.stop();
});

describe('cluster time', () => {
  it('every reply carries operationTime and a signed-shaped $clusterTime', async () => {
    const reply = await client.db('admin').command({ ping: 1 });
    expect(reply.operationTime).toBeInstanceOf(Timestamp);
    expect(reply.$clusterTime).toMatchObject({ clusterTime: expect.any(Timestamp) });
    expect(reply.$clusterTime.signature).toMatchObject({ keyId: expect.anything() });
  });

  it('a session’s operationTime advances with its writes', async () => {
    const coll = client.db(uniqueDbName('clustertime')).collection<Document>('c');
    const session = client.startSession({ causalConsistency: true });
    try {
      await coll.insertOne({ n: 1 }, { session });
      const first = session.operationTime;
      expect(first).toBeInstanceOf(Timestamp);
      await coll.insertOne({ n: 2 }, { session });
      expect(session.operationTime!.compare(first!)).toBeGreaterThan(0);
      expect(session.clusterTime?.clusterTime).toBeInstanceOf(Timestamp);
    } finally {
      await session.endSession();
    }
  });

  it('a causally consistent read sends afterClusterTime and sees the session’s write', async () => {
    const coll = client.db(uniqueDbName('causal')).collection<{ _id: string }>('c');
    const session = client.startSession({ causalConsistency: true });
    try {
      await coll.insertOne({ _id: 'mine' }, { session });
      const writeTime = session.operationTime!;
      started.length = 0;
      expect(await coll.findOne({ _id: 'mine' }, { session })).toEqual({ _id: 'mine' });
      const find = started.find((e) => e.commandName === 'find');
      expect(find?.command.readConcern?.afterClusterTime).toEqual(writeTime);
    } finally {
      await session.endSession();
    }
  });

  it('a malformed gossiped $clusterTime is refused', async () => {
    // Raw wire: the driver replaces a command's $clusterTime with its own.
    const { host, port } = hostPort(target.uri);
    const raw = await RawConnection.open(host, port);
    try {
      const reply = await raw.command({
        ping: 1,
        $clusterTime: { clusterTime: 'yesterday' },
        $db: 'admin',
      });
      expect(reply.doc).toMatchObject({ ok: 0, code: 14, codeName: 'TypeMismatch' });
    } finally {
      raw.close();
    }
  });

  it('a snapshot session is refused loudly: reads (atClusterTime is not implemented), writes and catalog reads', async () => {
    const db = client.db(uniqueDbName('snapshot'));
    await db.collection<Document>('c').insertOne({ a: 1 });
    const session = client.startSession({ snapshot: true });
    try {
      await expect(db.collection<Document>('c').findOne({}, { session })).rejects.toMatchObject({
        code: 72,
        message: expect.stringContaining('snapshot reads'),
      });
      await expect(
        db.collection<Document>('c').insertOne({ a: 2 }, { session }),
      ).rejects.toMatchObject({ code: 72 });
      await expect(db.listCollections({}, { session }).toArray()).rejects.toMatchObject({
        code: 72,
      });
    } finally {
      await session.endSession();
    }
  });
});
