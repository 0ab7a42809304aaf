import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import type { Binary } from 'mongodb';
import { Status } from 'nice-grpc';
import { startTelemetry } from '@trellis/platform/telemetry';
import { captureLogger } from '@trellis/platform/testing';
import { loggerAuditLog } from '../src/adapters/logging/audit-log';
import { MongoAccountRepository } from '../src/adapters/mongo/account.repository';
import type { MovementResult } from '../src/app/ports/account.repository.port';
import { TransferFunds, type TransferFundsCommand } from '../src/app/transfer-funds.command';
import { newAccountId } from '../src/domain/ids';
import {
  Devstack,
  eur,
  failure,
  inParallel,
  openAccount,
  signed,
  startTestService,
  statement,
  uniqueDatabase,
  type TestService,
} from './support';

// Two service instances on one database stand for two replicas: their transactions on the same
// accounts really collide in MongoDB (write conflicts, retried by the driver), while calls inside
// one instance queue per account first.
const stack = new Devstack();
let replicas: [TestService, TestService];

beforeAll(async () => {
  await stack.start();
  const database = uniqueDatabase('account_money');
  replicas = [await startTestService(stack, database), await startTestService(stack, database)];
  // Publishing is events-outbox.test.ts's subject. Here the relays stay stopped, so they add no
  // load to runs that are about contention; the events are still written and this file counts them.
  for (const replica of replicas) await replica.service.context.relay.stop();
});

/** Outbox entries (published or not) of one event type about `aggregateIds`. */
function outboxCount(eventType: string, aggregateIds: string[]): Promise<number> {
  return replicas[0].service.context.outbox.collection.countDocuments({
    event_type: `trellis.account.v1.${eventType}`,
    aggregate_id: { $in: aggregateIds },
  });
}
afterAll(async () => {
  await Promise.all(replicas?.map((r) => r.stop()) ?? []);
  await stack.stop();
});

async function retriesSoFar(): Promise<number> {
  let total = 0;
  for (const replica of replicas) {
    const text = await (await fetch(replica.service.metricsUrl)).text();
    const match = /^account_transaction_retries_total(?:\{[^}]*\})? (\d+)/m.exec(text);
    total += match ? Number(match[1]) : 0;
  }
  return total;
}

describe('money movements under concurrency', () => {
  it('1,000 concurrent random transfers among 10 accounts keep the books balanced', async () => {
    const [a] = replicas;
    const limits = [0n, 0n, 0n, 500n, 1_000n, 0n, 2_000n, 0n, 250n, 0n];
    const accounts: Array<{ id: string; limit: bigint }> = [];
    for (const limit of limits) {
      const account = await openAccount(a.client, { overdraftLimit: eur(limit) });
      await a.client.deposit({
        accountId: account.id,
        amount: eur(5_000),
        idempotencyKey: randomUUID(),
      });
      accounts.push({ id: account.id, limit });
    }
    const total = 5_000n * BigInt(accounts.length);

    let committed = 0;
    let rejected = 0;
    await inParallel(1_000, 32, async () => {
      const from = accounts[Math.floor(Math.random() * accounts.length)];
      let to = from;
      while (to === from) to = accounts[Math.floor(Math.random() * accounts.length)];
      const call = a.client.transfer({
        fromAccountId: from.id,
        toAccountId: to.id,
        amount: eur(1 + Math.floor(Math.random() * 2_500)),
        idempotencyKey: randomUUID(),
      });
      try {
        await call;
        committed++;
      } catch {
        const { code, reason } = await failure(call);
        // The only acceptable failure: the source would go below its overdraft limit.
        expect([code, reason]).toEqual([Status.FAILED_PRECONDITION, 'INSUFFICIENT_FUNDS']);
        rejected++;
      }
    });
    expect(committed + rejected).toBe(1_000);
    expect(committed).toBeGreaterThan(500);

    let sum = 0n;
    let transferEntries = 0;
    for (const { id, limit } of accounts) {
      const { account } = await a.client.getAccount({ accountId: id });
      const balance = account!.balance!.units;
      sum += balance;
      expect(balance).toBeGreaterThanOrEqual(-limit);
      const entries = await statement(a.client, id, 500);
      // The statement is newest first, its running balance ends at the balance, and the
      // entries sum to it.
      expect(entries[0].balanceAfter!.units).toBe(balance);
      expect(entries.reduce((acc, e) => acc + signed(e), 0n)).toBe(balance);
      for (let k = 0; k + 1 < entries.length; k++) {
        expect(entries[k].balanceAfter!.units - signed(entries[k])).toBe(
          entries[k + 1].balanceAfter!.units,
        );
        expect(entries[k + 1].balanceAfter!.units).toBeGreaterThanOrEqual(-limit);
      }
      transferEntries += entries.length - 1;
    }
    expect(sum).toBe(total);
    // Each committed transfer posted exactly one debit and one credit.
    expect(transferEntries).toBe(2 * committed);
    // And one TransferCompleted event each, none for the rejected ones.
    expect(
      await outboxCount(
        'TransferCompleted',
        accounts.map((x) => x.id),
      ),
    ).toBe(committed);
    // Seconds on an idle machine; generous for a shared one.
  }, 120_000);

  it('two replicas moving money between the same accounts retry their conflicts', async () => {
    const accounts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const account = await openAccount(replicas[0].client);
      await replicas[0].client.deposit({
        accountId: account.id,
        amount: eur(1_000),
        idempotencyKey: randomUUID(),
      });
      accounts.push(account.id);
    }
    const retriesBefore = await retriesSoFar();
    // Every call succeeds (amounts are small, balances large): no conflict is surfaced.
    await inParallel(120, 12, (i) =>
      replicas[i % 2].client.transfer({
        fromAccountId: accounts[i % 3],
        toAccountId: accounts[(i + 1) % 3],
        amount: eur(1 + (i % 7)),
        idempotencyKey: randomUUID(),
      }),
    );
    // The replicas did collide in the database, and the driver reran the losers.
    expect(await retriesSoFar()).toBeGreaterThan(retriesBefore);
    let sum = 0n;
    for (const id of accounts) {
      const { account } = await replicas[1].client.getAccount({ accountId: id });
      const entries = await statement(replicas[1].client, id);
      expect(entries.reduce((acc, e) => acc + signed(e), 0n)).toBe(account!.balance!.units);
      sum += account!.balance!.units;
    }
    expect(sum).toBe(3_000n);
  });

  it('20 concurrent identical deposits apply once; the key with another request is ABORTED', async () => {
    const account = await openAccount(replicas[0].client);
    const key = randomUUID();
    const request = { accountId: account.id, amount: eur(1_234), idempotencyKey: key };
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => replicas[i % 2].client.deposit(request)),
    );
    const ids = new Set(results.map((r) => r.transaction!.id));
    expect(ids.size).toBe(1);
    for (const r of results) {
      expect(r.transaction!.entries[1].balanceAfter!.units).toBe(1_234n);
      expect(r.transaction!.idempotencyKey).toBe(key);
    }
    const { account: after } = await replicas[1].client.getAccount({ accountId: account.id });
    expect(after!.balance!.units).toBe(1_234n);
    expect(after!.version).toBe(2n);
    expect(await statement(replicas[0].client, account.id)).toHaveLength(1);
    expect(await outboxCount('FundsDeposited', [account.id])).toBe(1);
    const audit = [...replicas[0].lines, ...replicas[1].lines].filter(
      (l) => l.audit === 'money_movement' && l.credit_account_id === account.id,
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ amount_units: '1234', transaction_type: 'DEPOSIT' });
    expect(JSON.stringify(audit[0])).not.toContain('@example.com');

    // The same key later, once more: still the original result.
    const again = await replicas[1].client.deposit(request);
    expect(again.transaction!.id).toBe([...ids][0]);

    // The same key with a different amount, or for another RPC, is rejected.
    for (const call of [
      replicas[0].client.deposit({ ...request, amount: eur(1_235) }),
      replicas[1].client.withdraw(request),
    ]) {
      expect(await failure(call)).toMatchObject({
        code: Status.ABORTED,
        reason: 'IDEMPOTENCY_KEY_REUSED',
        metadata: { idempotency_key: key },
      });
    }
    const { account: unchanged } = await replicas[0].client.getAccount({ accountId: account.id });
    expect(unchanged!.balance!.units).toBe(1_234n);
  });

  it('concurrent deposits and withdrawals succeed or fail each on its own', async () => {
    const { client } = replicas[0];
    const open = await openAccount(client);
    const frozen = await openAccount(client);
    await client.freezeAccount({ accountId: frozen.id });
    const sharedKey = randomUUID();
    const calls: Array<{ call: Promise<unknown>; expect: string }> = [];
    for (let i = 0; i < 40; i++) {
      calls.push({
        call: client.deposit({ accountId: open.id, amount: eur(10), idempotencyKey: randomUUID() }),
        expect: 'OK',
      });
      if (i % 8 === 0) {
        calls.push({
          call: client.deposit({
            accountId: frozen.id,
            amount: eur(1),
            idempotencyKey: randomUUID(),
          }),
          expect: 'ACCOUNT_FROZEN',
        });
        calls.push({
          call: client.withdraw({
            accountId: open.id,
            amount: eur(1_000_000),
            idempotencyKey: randomUUID(),
          }),
          expect: 'INSUFFICIENT_FUNDS',
        });
        calls.push({
          call: client.deposit({
            accountId: open.id,
            amount: { currencyCode: 'USD', units: 1n },
            idempotencyKey: randomUUID(),
          }),
          expect: 'CURRENCY_MISMATCH',
        });
      }
    }
    // One key, two different requests racing: exactly one applies, the other is ABORTED.
    const racing = [
      client.deposit({ accountId: open.id, amount: eur(7), idempotencyKey: sharedKey }),
      client.withdraw({ accountId: open.id, amount: eur(7), idempotencyKey: sharedKey }),
    ];
    const outcomes = await Promise.all(
      calls.map(async ({ call, expect: expected }) => {
        try {
          await call;
          return expected === 'OK';
        } catch {
          return (await failure(call)).reason === expected;
        }
      }),
    );
    expect(outcomes.every(Boolean)).toBe(true);
    const settled = await Promise.allSettled(racing);
    expect(settled.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const loser = racing[settled.findIndex((r) => r.status === 'rejected')];
    expect(await failure(loser)).toMatchObject({
      code: Status.ABORTED,
      reason: 'IDEMPOTENCY_KEY_REUSED',
    });
    const shared = settled[0].status === 'fulfilled' ? 7n : -7n;

    const { account } = await client.getAccount({ accountId: open.id });
    expect(account!.balance!.units).toBe(400n + shared);
    expect(account!.version).toBe(1n + 41n);
    const entries = await statement(client, open.id);
    expect(entries).toHaveLength(41);
    expect(entries.reduce((acc, e) => acc + signed(e), 0n)).toBe(account!.balance!.units);
    expect(new Set(entries.map((e) => e.transactionId)).size).toBe(41);
    // Several of them were applied together, by one transaction (they share its time).
    expect(new Set(entries.map((e) => e.createdAt!.getTime())).size).toBeLessThan(41);
    const { account: untouched } = await client.getAccount({ accountId: frozen.id });
    expect(untouched).toMatchObject({ balance: eur(0), version: 2n });
  });

  it('withdrawals stop at the overdraft limit and deposits return money from outside', async () => {
    const { client } = replicas[0];
    const account = await openAccount(client, { overdraftLimit: eur(100) });
    await client.deposit({ accountId: account.id, amount: eur(50), idempotencyKey: randomUUID() });
    const w = await client.withdraw({
      accountId: account.id,
      amount: eur(150),
      idempotencyKey: randomUUID(),
      reference: 'cash',
    });
    expect(w.transaction!.debitAccountId).toBe(account.id);
    expect(w.transaction!.creditAccountId).toBe('external:EUR');
    expect(w.transaction!.entries[0].balanceAfter!.units).toBe(-100n);
    expect(
      await failure(
        client.withdraw({ accountId: account.id, amount: eur(1), idempotencyKey: randomUUID() }),
      ),
    ).toMatchObject({
      code: Status.FAILED_PRECONDITION,
      reason: 'INSUFFICIENT_FUNDS',
      metadata: { account_id: account.id },
    });
    const entries = await statement(client, account.id);
    expect(entries.map((e) => e.balanceAfter!.units)).toEqual([-100n, 50n]);
    expect(entries[0].reference).toBe('cash');
  });
});

/** The outcome of a call: its result, or the ErrorInfo reason it failed with. */
function settle(call: Promise<MovementResult>): Promise<MovementResult | string> {
  return call.catch((err: { reason?: string }) => err.reason ?? String(err));
}

describe('Transfer batches', () => {
  // Transfers submitted in one event-loop turn (or while a batch commits) are applied together.
  // The use case runs here beside the replicas, on their database, so its batches are
  // observable (gRPC calls arrive when they arrive); the replicas stand for other processes.
  let transfers: TransferFunds;
  let audit: Array<Record<string, unknown>>;
  beforeAll(() => {
    const { mongo, outbox } = replicas[0].service.context;
    const accounts = new MongoAccountRepository({
      client: mongo.client,
      db: mongo.db,
      outbox,
      relay: { notify: () => undefined },
      idempotencyTtlSeconds: 3600,
    });
    const { logger, lines } = captureLogger('account-service');
    audit = lines;
    transfers = new TransferFunds({
      accounts,
      audit: loggerAuditLog(logger),
      maxAmountUnits: 1_000_000n,
    });
  });

  it('apply each transfer in queue order and fail the ones that break a rule alone', async () => {
    const { client } = replicas[0];
    const [a, b, c, frozen, x, y] = [
      await openAccount(client),
      await openAccount(client),
      await openAccount(client),
      await openAccount(client),
      await openAccount(client),
      await openAccount(client),
    ];
    const usd = await openAccount(client, { currencyCode: 'USD' });
    await client.deposit({ accountId: a.id, amount: eur(100), idempotencyKey: randomUUID() });
    await client.deposit({ accountId: x.id, amount: eur(10), idempotencyKey: randomUUID() });
    await client.freezeAccount({ accountId: frozen.id });
    // A key the other process committed first.
    const k0 = randomUUID();
    const byService = await client.transfer({
      fromAccountId: x.id,
      toAccountId: y.id,
      amount: eur(1),
      idempotencyKey: k0,
    });

    const transfer = (from: string, to: string, units: number, key = randomUUID()) =>
      settle(
        transfers.execute({
          fromAccountId: from,
          toAccountId: to,
          amount: { currency: 'EUR', units: BigInt(units) },
          idempotencyKey: key,
          reference: '',
        } satisfies TransferFundsCommand),
      );
    const [k1, k2, k5] = [randomUUID(), randomUUID(), randomUUID()];
    // Submitted in one event-loop turn, so they are one batch.
    const leader = transfer(x.id, y.id, 2);
    const outcomes = await Promise.all([
      transfer(a.id, b.id, 60, k1), // 0: A 40, B 60
      transfer(b.id, c.id, 50, k2), // 1: only with the credit of 0: B 10, C 50
      transfer(a.id, c.id, 50), // 2: A would be at -10
      transfer(a.id, frozen.id, 10), // 3
      transfer(a.id, b.id, 60, k1), // 4: a copy of 0
      transfer(a.id, c.id, 5, k1), // 5: 0's key, another request
      transfer(x.id, y.id, 1, k0), // 6: the service's transfer again
      transfer(a.id, usd.id, 1), // 7
      transfer(a.id, newAccountId(), 1), // 8
      transfer(a.id, c.id, 5, k5), // 9: A 35, C 55
    ]);
    expect(typeof (await leader)).toBe('object');

    const [t0, t1, t2, t3, t4, t5, t6, t7, t8, t9] = outcomes;
    expect([t2, t3, t5, t7, t8]).toEqual([
      'INSUFFICIENT_FUNDS',
      'ACCOUNT_FROZEN',
      'IDEMPOTENCY_KEY_REUSED',
      'CURRENCY_MISMATCH',
      'NOT_FOUND',
    ]);
    const applied = [t0, t1, t9] as MovementResult[];
    expect(applied.map((r) => r.replayed)).toEqual([false, false, false]);
    const balances = (r: MovementResult) => r.transaction.entries.map((e) => e.balanceAfter);
    expect(applied.map(balances)).toEqual([
      [40n, 60n],
      [10n, 50n],
      [35n, 55n],
    ]);
    // One transaction wrote them (they share its time); A was written once, at its final state.
    expect(new Set(applied.map((r) => r.transaction.createdAt.getTime())).size).toBe(1);
    expect(applied.map((r) => r.transaction.entries[0].sequence)).toEqual([3, 3, 4]);
    expect(t4).toEqual({ transaction: (t0 as MovementResult).transaction, replayed: true });
    expect(t6).toMatchObject({ replayed: true, transaction: { id: byService.transaction!.id } });

    const account = async (id: string) => (await client.getAccount({ accountId: id })).account!;
    expect(await account(a.id)).toMatchObject({ balance: eur(35), version: 4n });
    expect(await account(b.id)).toMatchObject({ balance: eur(10), version: 3n });
    expect(await account(c.id)).toMatchObject({ balance: eur(55), version: 3n });
    expect(await account(frozen.id)).toMatchObject({ balance: eur(0), version: 2n });
    expect(await account(usd.id)).toMatchObject({ balance: { units: 0n }, version: 1n });
    expect((await statement(client, a.id)).map((e) => e.balanceAfter!.units)).toEqual([
      35n,
      40n,
      100n,
    ]);

    // Exactly one event and one audit line per applied transfer, none for the others.
    const events = await replicas[0].service.context.outbox.collection
      .find({ event_type: 'trellis.account.v1.TransferCompleted' })
      .toArray();
    const about = (id: string) => events.filter((e) => e.aggregate_id === id).length;
    expect([a, b, c, frozen, usd, x].map((acc) => about(acc.id))).toEqual([2, 1, 0, 0, 0, 2]);
    const lines = audit.filter((l) => l.audit === 'money_movement');
    expect(lines.map((l) => l.transaction_id).sort()).toEqual(
      [await leader, ...applied].map((r) => (r as MovementResult).transaction.id).sort(),
    );

    // The other process sees the batch's keys: a copy replays, another request is refused.
    const again = await client.transfer({
      fromAccountId: b.id,
      toAccountId: c.id,
      amount: eur(50),
      idempotencyKey: k2,
    });
    expect(again.transaction!.id).toBe((t1 as MovementResult).transaction.id);
  });

  it("each transfer's event carries its own request's trace context", async () => {
    const telemetry = startTelemetry({ serviceName: 'account-batch-trace-test' });
    try {
      const { client } = replicas[0];
      const [a, b] = [await openAccount(client), await openAccount(client)];
      await client.deposit({ accountId: a.id, amount: eur(10), idempotencyKey: randomUUID() });
      const tracer = trace.getTracer('test');
      const traced = (units: number) =>
        tracer.startActiveSpan('Transfer', async (span) => {
          const result = await transfers.execute({
            fromAccountId: a.id,
            toAccountId: b.id,
            amount: { currency: 'EUR', units: BigInt(units) },
            idempotencyKey: randomUUID(),
            reference: '',
          });
          span.end();
          return { traceId: span.spanContext().traceId, id: result.transaction.id };
        });
      // Submitted in one event-loop turn: one batch, one transaction.
      const results = await Promise.all([traced(1), traced(2), traced(3)]);
      const events = await replicas[0].service.context.outbox.collection
        .find({ event_type: 'trellis.account.v1.TransferCompleted', aggregate_id: a.id })
        .toArray();
      expect(events).toHaveLength(3);
      const transferOf = (value: Binary | Uint8Array) => {
        const bytes = Buffer.from(value instanceof Uint8Array ? value : value.buffer);
        return results.find((r) => bytes.includes(Buffer.from(r.id)));
      };
      for (const event of events)
        expect(event.headers.traceparent).toContain(transferOf(event.value)?.traceId);
    } finally {
      await telemetry.shutdown();
    }
  });
});
