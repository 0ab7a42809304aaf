/**
 * BSON number types survive storage, updates, replies and (devstack only) the journal: an integral
 * Double stays Double, Int32 stays Int32, Int64 stays Int64, as with mongod. Read with
 * `promoteValues: false` so the driver shows the wire types.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Double, Int32, Long, type MongoClient, type ObjectId } from 'mongodb';
import { startMongoDevServer } from '../src';
import { connect, startTarget, type Target, uniqueDbName, usingDevstack } from './support/target';

type Id = ObjectId;
const id = (s: string): Id => s as unknown as Id;

/** The BSON type name of each listed field of `doc` as the driver decoded it. */
function typesOf(doc: Record<string, unknown> | null, fields: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fields) {
    const v = doc?.[f] as { _bsontype?: string } | undefined;
    out[f] = v?._bsontype ?? typeof v;
  }
  return out;
}

describe('number types', () => {
  let target: Target;
  let client: MongoClient;

  beforeAll(async () => {
    target = await startTarget();
    client = await connect(target.uri, { promoteValues: false });
  });

  afterAll(async () => {
    await client?.close();
    await target?.stop();
  });

  it('reads back Double, Int32 and Int64 as written, also after $inc, $set and findAndModify', async () => {
    const col = client.db(uniqueDbName('numbers')).collection('n');
    await col.insertOne({
      _id: id('a'),
      d: new Double(5),
      i: new Int32(5),
      l: Long.fromNumber(5),
      frac: 2.5,
      nested: { d: new Double(1) },
      list: [new Double(2), new Double(3)],
    });
    const fields = ['d', 'i', 'l', 'frac'];
    let doc = await col.findOne({ _id: id('a') });
    expect(typesOf(doc, fields)).toEqual({ d: 'Double', i: 'Int32', l: 'Long', frac: 'Double' });
    expect((doc?.nested as { d: { _bsontype: string } }).d._bsontype).toBe('Double');
    expect((doc?.list as Array<{ _bsontype: string }>).map((x) => x._bsontype)).toEqual([
      'Double',
      'Double',
    ]);
    // A Double compares equal to the same Int32 value, as in mongod.
    expect(Number(await col.countDocuments({ d: 5 }))).toBe(1);

    await col.updateOne({ _id: id('a') }, { $inc: { d: 1, i: 1, l: 1, frac: 0.5 } });
    doc = await col.findOne({ _id: id('a') });
    expect(typesOf(doc, fields)).toEqual({ d: 'Double', i: 'Int32', l: 'Long', frac: 'Double' });
    expect(doc).toMatchObject({
      d: new Double(6),
      i: new Int32(6),
      l: Long.fromNumber(6),
      frac: new Double(3),
    });

    const after = await col.findOneAndUpdate(
      { _id: id('a') },
      { $set: { fresh: new Double(7) } },
      { returnDocument: 'after' },
    );
    expect(typesOf(after, ['d', 'fresh'])).toEqual({ d: 'Double', fresh: 'Double' });

    const [grouped] = await col
      .aggregate([{ $project: { d: 1, i: 1 } }], { promoteValues: false })
      .toArray();
    expect(typesOf(grouped, ['d', 'i'])).toEqual({ d: 'Double', i: 'Int32' });
    const distinct = await col.distinct('d');
    expect(distinct.map((x) => (x as { _bsontype?: string })._bsontype)).toEqual(['Double']);
  });

  it('an Int32 $inc past 2^31 becomes Int64, as on mongod', async () => {
    const col = client.db(uniqueDbName('numbers-overflow')).collection('n');
    await col.insertOne({ _id: id('o'), i: new Int32(2 ** 31 - 1) });
    await col.updateOne({ _id: id('o') }, { $inc: { i: 1 } });
    const doc = await col.findOne({ _id: id('o') });
    expect(typesOf(doc, ['i'])).toEqual({ i: 'Long' });
    expect(String(doc?.i)).toBe(String(2 ** 31));
  });

  it('the default driver settings still read plain numbers', async () => {
    const db = client.db(uniqueDbName('numbers-plain'));
    await db.collection('n').insertOne({ _id: id('p'), d: new Double(4) });
    const plain = await connect(target.uri);
    try {
      expect(
        await plain
          .db(db.databaseName)
          .collection('n')
          .findOne({ _id: id('p') }),
      ).toEqual({
        _id: 'p',
        d: 4,
      });
    } finally {
      await plain.close();
    }
  });
});

if (usingDevstack) {
  it('number types survive the journal across restarts (devstack only)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'devstack-mongo-numbers-'));
    try {
      const write = await startMongoDevServer({ port: 0, dataDir });
      let c = await connect(write.uri, { promoteValues: false });
      await c
        .db('numbers')
        .collection('n')
        .insertOne({ _id: id('j'), d: new Double(9), i: new Int32(9), l: Long.fromNumber(9) });
      await c.close();
      await write.stop();
      // Twice: the first restart replays the journal, the second reads the compacted one.
      for (let round = 0; round < 2; round++) {
        const again = await startMongoDevServer({ port: 0, dataDir });
        c = await connect(again.uri, { promoteValues: false });
        try {
          const doc = await c
            .db('numbers')
            .collection('n')
            .findOne({ _id: id('j') });
          expect(typesOf(doc, ['d', 'i', 'l'])).toEqual({ d: 'Double', i: 'Int32', l: 'Long' });
        } finally {
          await c.close();
          await again.stop();
        }
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
