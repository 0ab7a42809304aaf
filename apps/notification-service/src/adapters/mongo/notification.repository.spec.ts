import { trace } from '@opentelemetry/api';
import { MongoClient } from 'mongodb';
import { startMongoDevServer, type MongoDevServer } from '@trellis/devstack/mongo';
import type { OutboxMessage } from '@trellis/platform/mongo';
import { startTelemetry, type Telemetry } from '@trellis/platform/telemetry';
import { markSent, type Notification, queue } from '../../domain/notification';
import { MongoNotificationRepository } from './notification.repository';

let telemetry: Telemetry;
let mongo: MongoDevServer;
let client: MongoClient;
beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'notification-repository-test' });
  mongo = await startMongoDevServer({ port: 0 });
  client = await MongoClient.connect(mongo.uri);
});
afterAll(async () => {
  await client.close();
  await mongo.stop();
  await telemetry.shutdown();
});

function newNotification(id: string): Notification {
  const now = new Date();
  return queue(
    {
      id,
      recipient: `${id}@example.com`,
      cc: [],
      content: { kind: 'inline', inline: { subject: 's', textBody: 't', htmlBody: '' } },
      contextVariables: {},
      source: 'API',
      sourceRef: 'k',
      dedupeKey: `api:k:${id}`,
      traceId: '',
    },
    false,
    'example.com',
    now,
  ).notification;
}

describe('MongoNotificationRepository.update (delivery outcomes)', () => {
  it('commits concurrent outcomes together; only matched guards publish, each under its own trace', async () => {
    const transactions: OutboxMessage[][] = [];
    const outbox = {
      append: async (_session: unknown, messages: OutboxMessage[]) =>
        void transactions.push(messages),
    };
    const repository = new MongoNotificationRepository(client, client.db('outcomes'), outbox, {
      notify: () => undefined,
    });
    const ids = ['a', 'stale', 'b'];
    await repository.create(ids.map((id) => ({ notification: newNotification(id), events: [] })));
    const now = new Date();
    for (const id of ids) await repository.claimForSend(id, 1, now, 60_000);
    transactions.length = 0;

    const tracer = trace.getTracer('test');
    // "stale" reports an attempt it no longer holds (attempt 2): its guard does not match.
    const traced = (id: string, attempt: number) =>
      tracer.startActiveSpan('deliver', async (span) => {
        const saved = await repository.update(id, (n) =>
          markSent(n, attempt, { subject: 's', smtpResponse: '250 ok' }, now),
        );
        span.end();
        return { moved: saved.state === 'SENT', traceId: span.spanContext().traceId };
      });
    const [a, stale, b] = await Promise.all([traced('a', 1), traced('stale', 2), traced('b', 1)]);
    expect([a.moved, stale.moved, b.moved]).toEqual([true, false, true]);
    expect(transactions).toHaveLength(1);
    const [published] = transactions;
    expect(published.map((m) => m.aggregateId)).toEqual(['a', 'b']);
    expect(published[0].headers?.traceparent).toContain(a.traceId);
    expect(published[1].headers?.traceparent).toContain(b.traceId);
    expect((await repository.findById('stale'))?.state).toBe('SENDING');
  });
});
