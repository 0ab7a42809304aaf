import { randomUUID } from 'node:crypto';
import type { Db, MongoClient } from 'mongodb';
import { Status } from 'nice-grpc';
import { type accountV1, topics } from '@trellis/contracts';
import { waitFor } from '@trellis/platform/testing';
import {
  connectDatabase,
  Devstack,
  eur,
  failure,
  openAccount,
  readTopic,
  startTestService,
  statement,
  uniqueDatabase,
  type TestService,
} from './support';

const stack = new Devstack();
const database = uniqueDatabase('account_events');
let svc: TestService;
let mongo: { client: MongoClient; db: Db };

beforeAll(async () => {
  await stack.start();
  svc = await startTestService(stack, database);
  mongo = await connectDatabase(stack, database);
});
afterAll(async () => {
  await svc?.stop();
  await mongo?.client.close();
  await stack.stop();
});

const pending = (db: Db, aggregateIds: string[]) =>
  db.collection('outbox').countDocuments({
    aggregate_id: { $in: aggregateIds },
    published_at: null,
  });

/** This test's events on the topic, as [type, aggregate id, transaction id or ''] in topic order. */
async function eventsOf(aggregateIds: string[]) {
  const records = await readTopic(stack.brokers, topics.accountEvents);
  return records
    .filter((r) => aggregateIds.includes(r.envelope.aggregateId))
    .map((r) => {
      expect(r.key).toBe(r.envelope.aggregateId);
      expect(r.envelope.aggregateType).toBe('account');
      const payload = r.event.payload as { transactionId?: string };
      return [
        r.event.eventType.split('.').pop(),
        r.envelope.aggregateId,
        payload.transactionId ?? '',
      ];
    });
}

describe('events through the transactional outbox', () => {
  it('publishes exactly one event per committed operation and none for failed ones', async () => {
    const { client } = svc;
    const a = await openAccount(client);
    const b = await openAccount(client, { overdraftLimit: eur(100) });
    const c = await openAccount(client);
    const expected: Array<[string, string, string]> = [
      ['AccountOpened', a.id, ''],
      ['AccountOpened', b.id, ''],
      ['AccountOpened', c.id, ''],
    ];
    const key = randomUUID();
    const deposit = await client.deposit({
      accountId: a.id,
      amount: eur(1_000),
      idempotencyKey: key,
    });
    expected.push(['FundsDeposited', a.id, deposit.transaction!.id]);
    // A replay of the same request is not a new operation.
    await client.deposit({ accountId: a.id, amount: eur(1_000), idempotencyKey: key });
    const withdrawal = await client.withdraw({
      accountId: a.id,
      amount: eur(100),
      idempotencyKey: randomUUID(),
    });
    expected.push(['FundsWithdrawn', a.id, withdrawal.transaction!.id]);
    const transfer = await client.transfer({
      fromAccountId: a.id,
      toAccountId: b.id,
      amount: eur(200),
      idempotencyKey: randomUUID(),
      reference: 'rent',
    });
    expected.push(['TransferCompleted', a.id, transfer.transaction!.id]);
    await client.freezeAccount({ accountId: c.id, reason: 'review' });
    expected.push(['AccountFrozen', c.id, '']);

    const rejected: Array<[Promise<unknown>, Status, string]> = [
      [
        client.transfer({
          fromAccountId: b.id,
          toAccountId: a.id,
          amount: eur(10_000),
          idempotencyKey: randomUUID(),
        }),
        Status.FAILED_PRECONDITION,
        'INSUFFICIENT_FUNDS',
      ],
      [
        client.deposit({ accountId: c.id, amount: eur(1), idempotencyKey: randomUUID() }),
        Status.FAILED_PRECONDITION,
        'ACCOUNT_FROZEN',
      ],
      [
        client.deposit({
          accountId: a.id,
          amount: { currencyCode: 'USD', units: 1n },
          idempotencyKey: randomUUID(),
        }),
        Status.FAILED_PRECONDITION,
        'CURRENCY_MISMATCH',
      ],
      [client.closeAccount({ accountId: a.id }), Status.FAILED_PRECONDITION, 'NONZERO_BALANCE'],
      [client.freezeAccount({ accountId: c.id }), Status.FAILED_PRECONDITION, 'ILLEGAL_TRANSITION'],
    ];
    for (const [call, code, reason] of rejected) {
      expect(await failure(call)).toMatchObject({ code, reason });
    }
    await client.unfreezeAccount({ accountId: c.id });
    expected.push(['AccountUnfrozen', c.id, '']);
    await client.closeAccount({ accountId: c.id, reason: 'moved away' });
    expected.push(['AccountClosed', c.id, '']);
    expect(await failure(client.unfreezeAccount({ accountId: c.id }))).toMatchObject({
      code: Status.FAILED_PRECONDITION,
      reason: 'ACCOUNT_CLOSED',
    });

    const ids = [a.id, b.id, c.id];
    await waitFor(async () => (await pending(mongo.db, ids)) === 0, {
      what: 'the relay to publish everything',
    });
    const events = await eventsOf(ids);
    // Per account, in commit order; exactly the committed operations, nothing for failures.
    for (const id of ids) {
      expect(events.filter((e) => e[1] === id)).toEqual(expected.filter((e) => e[1] === id));
    }
    expect(events).toHaveLength(expected.length);

    // The payloads decode with the generated types and carry what consumers need.
    const records = await readTopic(stack.brokers, topics.accountEvents);
    const completed = records.find(
      (r) =>
        r.event.eventType === 'trellis.account.v1.TransferCompleted' &&
        r.envelope.aggregateId === a.id,
    )!.event.payload as accountV1.TransferCompleted;
    expect(completed).toMatchObject({
      transactionId: transfer.transaction!.id,
      reference: 'rent',
      amount: eur(200),
      from: { accountId: a.id, email: a.email, balanceAfter: eur(700) },
      to: { accountId: b.id, ownerName: b.ownerName, balanceAfter: eur(200) },
    });
    const closed = records.find((r) => r.event.eventType === 'trellis.account.v1.AccountClosed')!
      .event.payload as accountV1.AccountClosed;
    expect(closed).toMatchObject({ accountId: c.id, reason: 'moved away', email: c.email });
  });

  it('a transfer that fails mid-way changes nothing and emits nothing', async () => {
    const { client } = svc;
    const from = await openAccount(client);
    const to = await openAccount(client);
    await client.deposit({ accountId: from.id, amount: eur(500), idempotencyKey: randomUUID() });
    await client.freezeAccount({ accountId: to.id });
    const snapshot = async () => ({
      from: (await client.getAccount({ accountId: from.id })).account,
      to: (await client.getAccount({ accountId: to.id })).account,
      fromEntries: await statement(client, from.id),
      toEntries: await statement(client, to.id),
      outbox: await mongo.db.collection('outbox').countDocuments(),
    });
    const before = await snapshot();
    const request = {
      fromAccountId: from.id,
      toAccountId: to.id,
      amount: eur(300),
      idempotencyKey: randomUUID(),
    };

    // The destination is frozen: rejected, nothing written.
    expect(await failure(client.transfer(request))).toMatchObject({
      code: Status.FAILED_PRECONDITION,
      reason: 'ACCOUNT_FROZEN',
      metadata: { account_id: to.id },
    });
    expect(await snapshot()).toEqual(before);

    // A failure after both balances were written in the transaction (the credit's ledger entry
    // collides with one planted at the destination's next sequence): all of it rolls back.
    await client.unfreezeAccount({ accountId: to.id });
    const beforeCrash = await snapshot();
    const { account: current } = await client.getAccount({ accountId: to.id });
    const planted = `ent_planted_${randomUUID()}`;
    await mongo.db.collection('ledger_entries').insertOne({
      _id: planted as never,
      account_id: to.id,
      sequence: Number(current!.version) + 1,
    });
    expect(await failure(client.transfer(request))).toMatchObject({ code: Status.INTERNAL });
    await mongo.db.collection('ledger_entries').deleteOne({ _id: planted as never });
    expect(await snapshot()).toEqual(beforeCrash);
    expect(
      await mongo.db
        .collection('idempotency_keys')
        .countDocuments({ _id: request.idempotencyKey as never }),
    ).toBe(0);
    expect(
      svc.lines.filter((l) => l.audit === 'money_movement' && l.credit_account_id === to.id),
    ).toHaveLength(0);

    // Nothing of either attempt was remembered: the same key now applies the transfer, once.
    const done = await client.transfer(request);
    expect(done.transaction!.entries.map((e) => e.balanceAfter!.units)).toEqual([200n, 300n]);
    await waitFor(async () => (await pending(mongo.db, [from.id, to.id])) === 0);
    const events = await eventsOf([from.id, to.id]);
    expect(events.filter((e) => e[0] === 'TransferCompleted')).toEqual([
      ['TransferCompleted', from.id, done.transaction!.id],
    ]);
  });

  it('events committed while no relay runs are published once a relay starts again', async () => {
    // A database of its own, so no other relay can publish these entries.
    const isolated = uniqueDatabase('account_relay');
    const first = await startTestService(stack, isolated);
    // The relay dies: what commits from now on sits in the outbox, unpublished.
    await first.service.context.relay.stop();
    const account = await openAccount(first.client);
    const deposit = await first.client.deposit({
      accountId: account.id,
      amount: eur(42),
      idempotencyKey: randomUUID(),
    });
    const db = first.service.context.mongo.db;
    expect(await pending(db, [account.id])).toBe(2);
    // The idempotency key is remembered for at least 24 h, then dropped by a TTL index.
    const keys = first.service.context.mongo.db.collection('idempotency_keys');
    const ttl = (await keys.indexes()).find((i) => i.expireAfterSeconds !== undefined);
    expect(ttl).toMatchObject({ key: { expires_at: 1 }, expireAfterSeconds: 0 });
    const record = await keys.findOne({ transaction_id: deposit.transaction!.id });
    expect(record!.expires_at.getTime() - record!.created_at.getTime()).toBeGreaterThanOrEqual(
      24 * 3600 * 1000,
    );
    await first.stop();
    expect(await eventsOf([account.id])).toEqual([]);

    const second = await startTestService(stack, isolated);
    try {
      const { db: db2 } = second.service.context.mongo;
      await waitFor(async () => (await pending(db2, [account.id])) === 0, {
        what: 'the restarted relay to publish',
      });
      expect(await eventsOf([account.id])).toEqual([
        ['AccountOpened', account.id, ''],
        ['FundsDeposited', account.id, deposit.transaction!.id],
      ]);
    } finally {
      await second.stop();
    }
  });
});
