import { randomUUID } from 'node:crypto';
import { type CommandStartedEvent, MongoClient } from 'mongodb';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import { MongoContactRepository } from './contact.repository';

let mongo: MongoDevServer;
let client: MongoClient;
const started: CommandStartedEvent[] = [];
beforeAll(async () => {
  mongo = await startMongoDevServer({ port: 0 });
  client = await MongoClient.connect(mongo.uri, { monitorCommands: true });
  client.on('commandStarted', (e) => started.push(e));
});
afterAll(async () => {
  await client.close();
  await mongo.stop();
});

describe('MongoContactRepository.missingIds', () => {
  it('answers for 10,000 ids (a StartCampaign at its limit) with one read', async () => {
    const contacts = new MongoContactRepository(client.db('missing_ids'));
    await contacts.ensureIndexes();
    const known = Array.from({ length: 3 }, (_, i) => ({
      id: randomUUID(),
      email: `known${i}@example.com`,
      name: `Known ${i}`,
      attributes: {},
      createdAt: new Date(),
    }));
    for (const c of known) await contacts.insert(c);
    const unknown = Array.from({ length: 9_997 }, () => randomUUID());
    const ids = [known[0].id, ...unknown.slice(0, 5_000), known[1].id, ...unknown.slice(5_000)];
    ids.push(known[2].id);

    started.length = 0;
    expect(await contacts.missingIds(ids)).toEqual(unknown);
    expect(await contacts.missingIds(known.map((c) => c.id))).toEqual([]);
    // Every command the driver sent, handshakes and heartbeats aside: two finds, no getMore.
    const reads = started.filter((e) => !['hello', 'isMaster', 'ismaster'].includes(e.commandName));
    expect(reads.map((e) => e.commandName)).toEqual(['find', 'find']);
  });
});
