import { type ClientError, Status } from 'nice-grpc';
import { accountV1, decodeEventEnvelope, topics, unpackEvent } from '@trellis/contracts';
import { startAccountService } from '@trellis/account-service';
import type { AccountServiceConfig } from '@trellis/account-service/config';
import { createKafka } from '@trellis/platform/messaging';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { startSystem, type E2eSystem } from './support';

let system: E2eSystem;
beforeAll(async () => {
  system = await startSystem();
});
afterAll(() => system?.stop());

describe('graceful shutdown under load', () => {
  it('in-flight calls complete, later calls get UNAVAILABLE, and no committed deposit loses its event', async () => {
    const address = system.devstack.endpoints.account;
    const accounts = system.client(accountV1.AccountServiceDefinition, address);
    const { account } = await accounts.openAccount({
      ownerName: 'Load Test',
      email: 'load@example.com',
      currencyCode: 'EUR',
    });

    let completed = 0;
    const calls = Array.from({ length: 50 }, (_, i) =>
      accounts
        .deposit({
          accountId: account!.id,
          amount: { currencyCode: 'EUR', units: 100n },
          idempotencyKey: `load-${i}`,
        })
        .then(
          (res) => {
            completed++;
            return { ok: true as const, transactionId: res.transaction!.id };
          },
          (err: unknown) => ({ ok: false as const, code: (err as ClientError).code }),
        ),
    );
    await waitFor(() => completed > 0, { what: 'the first deposit to complete' });
    const service = system.devstack.services.account;
    const config = service.context.config as AccountServiceConfig;
    await service.stop();
    const outcomes = await Promise.all(calls);

    // Every call either completed or was refused as UNAVAILABLE; none was cut off half-way.
    for (const outcome of outcomes) if (!outcome.ok) expect(outcome.code).toBe(Status.UNAVAILABLE);
    const committed = outcomes
      .filter((o) => o.ok)
      .map((o) => (o as { transactionId: string }).transactionId);
    expect(committed.length).toBeGreaterThan(0);
    const late = await accounts.getAccount({ accountId: account!.id }).catch((e: unknown) => e);
    expect((late as ClientError).code).toBe(Status.UNAVAILABLE);

    // Restarted, the service publishes whatever its relay had not yet published.
    const restarted = await startAccountService(
      { ...config, GRPC_PORT: 0, METRICS_PORT: 0 },
      { logger: captureLogger('account-restarted').logger },
    );
    try {
      const kafka = createKafka({
        brokers: system.devstack.endpoints.kafkaBrokers,
        clientId: 'e2e-shutdown',
        logger: captureLogger().logger,
      });
      const consumer = kafka.consumer({
        groupId: 'e2e-shutdown',
        sessionTimeout: 6000,
        heartbeatInterval: 500,
        maxWaitTimeInMs: 100,
      });
      const deposited = new Set<string>();
      await consumer.connect();
      await consumer.subscribe({ topic: topics.accountEvents, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          const event = unpackEvent(decodeEventEnvelope(message.value!));
          if (event.eventType === 'trellis.account.v1.FundsDeposited')
            deposited.add(event.payload.transactionId);
        },
      });
      try {
        await waitFor(() => committed.every((id) => deposited.has(id)), {
          timeoutMs: 30_000,
          what: 'an event for every committed deposit',
        });
      } finally {
        await consumer.disconnect();
      }
    } finally {
      await restarted.stop();
    }
  });
});
