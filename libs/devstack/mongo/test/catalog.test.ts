/**
 * Handshake, catalog and index commands through the official driver (devstack, or a real replica
 * set with MONGODB_URI).
 */
import { type Db, type MongoClient, type ObjectId } from 'mongodb';
import { connect, startTarget, type Target, uniqueDbName, waitFor } from './support/target';

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

const dbs: Db[] = [];
function freshDb(label: string): Db {
  const db = client.db(uniqueDbName(label));
  dbs.push(db);
  return db;
}

afterEach(async () => {
  await Promise.all(dbs.splice(0).map((db) => db.dropDatabase()));
});

describe('handshake and server commands', () => {
  it('looks like a replica-set primary; ping and buildInfo answer', async () => {
    const admin = client.db('admin');
    const hello = await admin.command({ hello: 1 });
    expect(hello).toMatchObject({ isWritablePrimary: true, secondary: false, ok: 1 });
    expect(typeof hello.setName).toBe('string');
    expect(hello.hosts).toContain(hello.me);
    expect(hello.primary).toBe(hello.me);
    expect(hello.logicalSessionTimeoutMinutes).toBeGreaterThan(0);
    expect(hello.maxWireVersion).toBeGreaterThanOrEqual(21);
    expect(await admin.command({ ping: 1 })).toMatchObject({ ok: 1 });
    const info = await admin.command({ buildInfo: 1 });
    expect(info.version).toMatch(/^\d+\.\d+/);
    expect(Array.isArray(info.versionArray)).toBe(true);
  });

  it('works with directConnection=true as well as with replicaSet', async () => {
    const direct = await connect(target.uri.replace(/replicaSet=[^&]+/, 'directConnection=true'));
    try {
      const col = direct.db(freshDb('cat-direct').databaseName).collection('c');
      await col.insertOne({ x: 1 });
      const session = direct.startSession();
      await session.withTransaction(async () => {
        await col.insertOne({ x: 2 }, { session });
      });
      await session.endSession();
      expect(await col.countDocuments()).toBe(2);
    } finally {
      await direct.close();
    }
  });

  it('accepts an OP_MSG hello handshake (serverApi) and ignores apiVersion fields', async () => {
    const seen: string[] = [];
    const api = await connect(target.uri, { serverApi: { version: '1' }, monitorCommands: true });
    api.on('commandStarted', (ev) => seen.push(ev.commandName));
    try {
      const col = api.db(freshDb('cat-api').databaseName).collection('c');
      await col.insertOne({ a: 1 });
      expect(await col.countDocuments()).toBe(1);
      expect(seen).toContain('insert');
    } finally {
      await api.close();
    }
  });

  it('endSessions is accepted (the driver also sends it on close)', async () => {
    const c = await connect(target.uri);
    const s = c.startSession();
    await c.db(freshDb('cat-end').databaseName).collection('c').insertOne({ a: 1 }, { session: s });
    await s.endSession();
    expect(await c.db('admin').command({ endSessions: [s.id] })).toMatchObject({ ok: 1 });
    await c.close();
  });
});

describe('collections and databases', () => {
  it('create, listCollections, drop, dropDatabase, listDatabases', async () => {
    const db = freshDb('cat-colls');
    await db.createCollection('alpha');
    await db.collection('beta').insertOne({ implicit: true });
    await expect(db.createCollection('alpha')).rejects.toMatchObject({
      code: 48,
      codeName: 'NamespaceExists',
    });
    const names = (await db.listCollections().toArray()).map((c) => c.name).sort();
    expect(names).toEqual(['alpha', 'beta']);
    const full = await db.listCollections({ name: 'alpha' }).toArray();
    expect(full).toHaveLength(1);
    expect(full[0]).toMatchObject({ name: 'alpha', type: 'collection' });
    const nameOnly = await db.listCollections({}, { nameOnly: true }).toArray();
    expect(nameOnly.map((c) => c.name).sort()).toEqual(['alpha', 'beta']);

    const dbNames = (await client.db('admin').admin().listDatabases()).databases.map((d) => d.name);
    expect(dbNames).toContain(db.databaseName);

    expect(await db.collection('alpha').drop()).toBe(true);
    expect(
      await db
        .collection('alpha')
        .drop()
        .catch(() => false),
    ).toBe(false);
    expect((await db.listCollections().toArray()).map((c) => c.name)).toEqual(['beta']);

    expect(await db.dropDatabase()).toBe(true);
    const after = (await client.db('admin').admin().listDatabases()).databases.map((d) => d.name);
    expect(after).not.toContain(db.databaseName);
  });
});

describe('indexes', () => {
  it('createIndexes (default names, compound, unique), listIndexes, dropIndexes', async () => {
    const col = freshDb('cat-idx').collection('c');
    expect(await col.createIndex({ a: 1, b: -1 })).toBe('a_1_b_-1');
    expect(await col.createIndex({ email: 1 }, { unique: true, name: 'email_unique' })).toBe(
      'email_unique',
    );
    expect(await col.createIndex({ email: 1 }, { unique: true, name: 'email_unique' })).toBe(
      'email_unique',
    );
    const indexes = await col.listIndexes().toArray();
    expect(indexes.map((i) => i.name)).toEqual(['_id_', 'a_1_b_-1', 'email_unique']);
    expect(indexes[0]).toMatchObject({ v: 2, key: { _id: 1 }, name: '_id_' });
    expect(indexes[2]).toMatchObject({ key: { email: 1 }, unique: true });
    expect(await col.indexExists('a_1_b_-1')).toBe(true);

    await col.dropIndex('a_1_b_-1');
    expect((await col.listIndexes().toArray()).map((i) => i.name)).toEqual([
      '_id_',
      'email_unique',
    ]);
    await expect(col.dropIndex('nope')).rejects.toMatchObject({ code: 27 });
    await col.dropIndexes();
    expect((await col.listIndexes().toArray()).map((i) => i.name)).toEqual(['_id_']);
  });

  it('index conflicts: 86 for another key under a name, 85 for other options or another name', async () => {
    const coll = freshDb('idxconflict').collection('c');
    await coll.createIndex({ a: 1 }, { name: 'by_a' });
    await expect(coll.createIndex({ b: 1 }, { name: 'by_a' })).rejects.toMatchObject({
      code: 86,
      codeName: 'IndexKeySpecsConflict',
    });
    await expect(coll.createIndex({ a: 1 }, { name: 'by_a', unique: true })).rejects.toMatchObject({
      code: 85,
      codeName: 'IndexOptionsConflict',
    });
    await expect(coll.createIndex({ a: 1 }, { name: 'other' })).rejects.toMatchObject({
      code: 85,
      codeName: 'IndexOptionsConflict',
    });
    await expect(coll.createIndex({ a: 1 }, { name: 'by_a' })).resolves.toBe('by_a');
  });

  it('unique indexes: compound, multikey, updates, and a build over duplicates fails', async () => {
    const col = freshDb('cat-uniq').collection('c');
    await col.createIndex({ tenant: 1, code: 1 }, { unique: true });
    await col.insertOne({ tenant: 't1', code: 'A' });
    await col.insertOne({ tenant: 't2', code: 'A' });
    await expect(col.insertOne({ tenant: 't1', code: 'A' })).rejects.toMatchObject({
      code: 11000,
      keyPattern: { tenant: 1, code: 1 },
      keyValue: { tenant: 't1', code: 'A' },
    });
    // Updating into a taken key fails; moving a key frees it.
    await expect(col.updateOne({ tenant: 't2' }, { $set: { tenant: 't1' } })).rejects.toMatchObject(
      { code: 11000 },
    );
    await col.updateOne({ tenant: 't1' }, { $set: { code: 'B' } });
    await col.insertOne({ tenant: 't1', code: 'A' });

    const tags = freshDb('cat-multikey').collection('c');
    await tags.createIndex({ tags: 1 }, { unique: true });
    await tags.insertOne({ tags: ['x', 'y'] });
    await expect(tags.insertOne({ tags: ['z', 'y'] })).rejects.toMatchObject({
      code: 11000,
      keyValue: { tags: 'y' },
    });

    const dupData = freshDb('cat-build').collection('c');
    await dupData.insertMany([{ k: 1 }, { k: 1 }]);
    await expect(dupData.createIndex({ k: 1 }, { unique: true })).rejects.toMatchObject({
      code: 11000,
    });
  });

  it('a partial unique index only constrains documents matching its filter', async () => {
    const col = freshDb('cat-partial').collection('c');
    await col.createIndex(
      { email: 1 },
      { unique: true, partialFilterExpression: { active: true } },
    );
    await col.insertOne({ email: 'a@x', active: true });
    await col.insertOne({ email: 'a@x', active: false });
    await col.insertOne({ email: 'a@x' });
    await expect(col.insertOne({ email: 'a@x', active: true })).rejects.toMatchObject({
      code: 11000,
    });
    const idx = (await col.listIndexes().toArray()).find((i) => i.name === 'email_1');
    expect(idx).toMatchObject({ partialFilterExpression: { active: true }, unique: true });
    // Deactivating frees the key.
    await col.updateOne({ active: true }, { $set: { active: false } });
    await col.insertOne({ email: 'a@x', active: true });
    expect(await col.countDocuments({ email: 'a@x' })).toBe(4);
  });

  it('a TTL index removes expired documents in the background', async () => {
    const col = freshDb('cat-ttl').collection('sessions');
    await col.createIndex({ at: 1 }, { expireAfterSeconds: 1 });
    const idx = (await col.listIndexes().toArray()).find((i) => i.name === 'at_1');
    expect(idx?.expireAfterSeconds).toBe(1);
    const old = new Date(Date.now() - 60_000);
    await col.insertMany([
      { _id: 'old' as unknown as ObjectId, at: old },
      { _id: 'oldArray' as unknown as ObjectId, at: [new Date(Date.now() + 3_600_000), old] },
      { _id: 'future' as unknown as ObjectId, at: new Date(Date.now() + 3_600_000) },
      { _id: 'notADate' as unknown as ObjectId, at: 'yesterday' },
      { _id: 'noField' as unknown as ObjectId },
    ]);
    // mongod's TTL monitor runs every 60 s by default; the devstack in this suite every 100 ms.
    await waitFor(
      'expired documents to be removed',
      async () =>
        (await col.countDocuments({
          _id: { $in: ['old', 'oldArray'] as unknown as ObjectId[] },
        })) === 0,
      target.devstack ? 10_000 : 120_000,
      100,
    );
    expect((await col.find({}, { sort: { _id: 1 } }).toArray()).map((d) => d._id)).toEqual([
      'future',
      'noField',
      'notADate',
    ]);
    // mongod's TTL monitor may take up to a minute; the devstack's runs every 100 ms here.
  }, 150_000);
});
