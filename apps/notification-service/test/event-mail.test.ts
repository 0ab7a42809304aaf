import { randomUUID } from 'node:crypto';
import { accountV1, jobV1, topics } from '@trellis/contracts';
import { createGrpcClient, type GrpcClientHandle } from '@trellis/platform/grpc';
import { createKafka, toOutboxMessage } from '@trellis/platform/messaging';
import type { RunningService } from '@trellis/platform/runtime';
import { captureLogger, waitFor } from '@trellis/platform/testing';
import { startAccountServiceForTest } from './other-services';
import {
  counterValue,
  startInfra,
  startTestService,
  type Infra,
  type StartedService,
} from './support';

let infra: Infra;
let notification: StartedService;
let account: RunningService;
let accounts: GrpcClientHandle<typeof accountV1.AccountServiceDefinition>;

beforeAll(async () => {
  infra = await startInfra();
  notification = await startTestService(infra, { OPS_ALERT_EMAIL: 'oncall@ops.test' });
  account = await startAccountServiceForTest(infra, `account_${randomUUID().slice(0, 8)}`);
  accounts = createGrpcClient(accountV1.AccountServiceDefinition, { address: account.grpcAddress });
});

afterAll(async () => {
  accounts?.close();
  await account?.stop();
  await notification?.stop();
  await infra?.stop();
});

const eur = (units: bigint) => ({ currencyCode: 'EUR', units });

describe('event-driven mail', () => {
  it('opening accounts and a transfer through account-service → welcome mails and a receipt to each party', async () => {
    const { account: ann } = await accounts.client.openAccount({
      ownerName: 'Ann Archer',
      email: 'ann@bank.test',
      currencyCode: 'EUR',
    });
    const { account: bob } = await accounts.client.openAccount({
      ownerName: 'Bob Baker',
      email: 'bob@bank.test',
      currencyCode: 'EUR',
    });
    const welcome = await infra.sink.waitForMessageTo('ann@bank.test', 20_000);
    expect(welcome.subject).toBe('Welcome to Trellis, Ann Archer');
    expect(welcome.text).toContain(`your EUR account ${ann!.id} is open`);
    await infra.sink.waitForMessageTo('bob@bank.test', 20_000);

    await accounts.client.deposit({
      accountId: ann!.id,
      amount: eur(10_000n),
      idempotencyKey: 'dep-1',
    });
    await accounts.client.transfer({
      fromAccountId: ann!.id,
      toAccountId: bob!.id,
      amount: eur(1_250n),
      idempotencyKey: 'tr-1',
      reference: 'lunch',
    });
    const receipts = await infra.sink.waitForMessages(
      (m) => m.subject.startsWith('Transfer receipt'),
      {
        count: 2,
        timeoutMs: 20_000,
      },
    );
    const toAnn = receipts.find((m) => m.envelope.to.includes('ann@bank.test'))!;
    const toBob = receipts.find((m) => m.envelope.to.includes('bob@bank.test'))!;
    expect(toAnn.subject).toBe('Transfer receipt: EUR 12.50 sent to Bob Baker');
    expect(toAnn.text).toContain('Balance after: EUR 87.50');
    expect(toAnn.text).toContain('Reference: lunch');
    expect(toBob.subject).toBe('Transfer receipt: EUR 12.50 received from Ann Archer');
    expect(toBob.text).toContain('Balance after: EUR 12.50');

    // Exactly one welcome each and one receipt each: no duplicates from redelivery.
    expect(infra.sink.messagesTo('ann@bank.test')).toHaveLength(2);
    expect(infra.sink.messagesTo('bob@bank.test')).toHaveLength(2);
    const { notifications } = await notification.client.listNotifications({
      recipient: 'ann@bank.test',
    });
    expect(notifications.every((n) => n.source === 2 /* EVENT */)).toBe(true);
  });

  it('AccountFrozen → notice; JobDeadLettered → ops alert; a redelivered event → no second mail; poison → DLQ', async () => {
    const { account: cy } = await accounts.client.openAccount({
      ownerName: 'Cy Cole',
      email: 'cy@bank.test',
      currencyCode: 'EUR',
    });
    await accounts.client.freezeAccount({ accountId: cy!.id, reason: 'court order' });
    const notice = await infra.sink.waitForMessages(
      (m) => m.subject === `Your account ${cy!.id} has been frozen`,
      { timeoutMs: 20_000 },
    );
    expect(notice[0].text).toContain('Reason: court order');

    const { logger } = captureLogger('producer');
    const kafka = createKafka({
      brokers: infra.brokers.split(','),
      clientId: 'events-test',
      logger,
    });
    const producer = kafka.producer();
    await producer.connect();
    try {
      const dead = toOutboxMessage(
        topics.jobEvents,
        'trellis.job.v1.JobDeadLettered',
        jobV1.JobDeadLettered.fromPartial({
          jobId: 'job-42',
          type: 'demo.echo',
          attempts: 3,
          lastError: { code: 'BOOM', message: 'it broke' },
        }),
        { id: 'job-42', type: 'job' },
      );
      const message = { key: dead.key, value: Buffer.from(dead.value) };
      // Delivered twice (a redelivery), plus a poison message in between.
      await producer.send({
        topic: topics.jobEvents,
        messages: [
          message,
          { key: 'x', value: Buffer.from('not a protobuf envelope \xff') },
          message,
        ],
      });
      const alert = await infra.sink.waitForMessageTo('oncall@ops.test', 20_000);
      expect(alert.subject).toBe('[trellis] job job-42 (demo.echo) is dead after 3 attempts');
      expect(alert.text).toContain('Last error: BOOM it broke');
      await waitFor(
        () =>
          notification.lines.some((l) => l.msg === 'poison message sent to the dead-letter topic'),
        { what: 'the poison message to be dead-lettered' },
      );
      // Both copies of the event were handled (the inbox absorbed the second).
      await waitFor(
        async () =>
          (await counterValue(notification.service.metricsUrl, 'messaging_consumed_total', {
            topic: topics.jobEvents,
            outcome: 'handled',
          })) >= 2,
        { what: 'both copies of the event to be handled' },
      );
      expect(infra.sink.messagesTo('oncall@ops.test')).toHaveLength(1);
    } finally {
      await producer.disconnect();
    }
  });
});
