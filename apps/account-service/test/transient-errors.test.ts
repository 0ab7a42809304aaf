import { randomUUID } from 'node:crypto';
import type { Document, MongoClient } from 'mongodb';
import {
  connectDatabase,
  Devstack,
  eur,
  openAccount,
  signed,
  startTestService,
  statement,
  uniqueDatabase,
  type TestService,
} from './support';

// Failures injected with mongod's failCommand fail point (the devstack enables test commands; a
// real MONGODB_URI must point at a mongod started with enableTestCommands). The driver's
// withTransaction must turn each into exactly one applied transfer.
const stack = new Devstack();
let service: TestService;
let admin: MongoClient;

beforeAll(async () => {
  await stack.start();
  const database = uniqueDatabase('account_transient');
  service = await startTestService(stack, database);
  // The relay's own commands must not use up the fail point; relaying is not the subject here.
  await service.service.context.relay.stop();
  admin = (await connectDatabase(stack, database)).client;
});

afterEach(async () => {
  await admin.db('admin').command({ configureFailPoint: 'failCommand', mode: 'off' });
});

afterAll(async () => {
  await admin?.close();
  await service?.stop();
  await stack.stop();
});

/** Arms the fail point; returns how often it has fired so far. */
async function failNextCommit(data: Document): Promise<number> {
  const { count } = await admin.db('admin').command({
    configureFailPoint: 'failCommand',
    mode: { times: 1 },
    data: { failCommands: ['commitTransaction'], ...data },
  });
  return count as number;
}

async function transferOnce(): Promise<{ from: string; to: string }> {
  const from = await openAccount(service.client);
  const to = await openAccount(service.client);
  await service.client.deposit({
    accountId: from.id,
    amount: eur(1_000),
    idempotencyKey: randomUUID(),
  });
  return { from: from.id, to: to.id };
}

async function expectAppliedOnce(from: string, to: string): Promise<void> {
  const fromEntries = await statement(service.client, from);
  const toEntries = await statement(service.client, to);
  // The deposit and one debit; one credit.
  expect(fromEntries.map(signed)).toEqual([-250n, 1_000n]);
  expect(toEntries.map(signed)).toEqual([250n]);
  const events = await service.service.context.outbox.collection.countDocuments({
    event_type: 'trellis.account.v1.TransferCompleted',
    aggregate_id: { $in: [from, to] },
  });
  expect(events).toBe(1);
}

describe('transfers under injected transient errors', () => {
  it.each([
    [
      'TransientTransactionError on commit (whole transaction retried)',
      { errorCode: 112, errorLabels: ['TransientTransactionError'] },
    ],
    [
      'a retriable commit error (UnknownTransactionCommitResult, commit retried)',
      { errorCode: 91 },
    ],
    [
      'a connection dropped during commit (UnknownTransactionCommitResult)',
      { closeConnection: true },
    ],
  ])('%s: applied exactly once with one event', async (_label, data) => {
    const { from, to } = await transferOnce();
    const firedBefore = await failNextCommit(data);
    const result = await service.client.transfer({
      fromAccountId: from,
      toAccountId: to,
      amount: eur(250),
      idempotencyKey: randomUUID(),
    });
    expect(result.transaction?.entries).toHaveLength(2);
    // The fail point fired once, so the commit really failed and was retried.
    const { count } = await admin
      .db('admin')
      .command({ configureFailPoint: 'failCommand', mode: 'off' });
    expect(count).toBe(firedBefore + 1);
    await expectAppliedOnce(from, to);
  });
});
