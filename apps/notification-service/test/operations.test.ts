import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Status, type ClientError } from 'nice-grpc';
import { notificationV1, topics } from '@trellis/contracts';
import { startTelemetry, type Telemetry } from '@trellis/platform/telemetry';
import { waitFor } from '@trellis/platform/testing';
import {
  counterValue,
  errorInfo,
  startInfra,
  startTestService,
  type Infra,
  type NotificationClient,
  type StartedService,
} from './support';

const { NotificationState: S } = notificationV1;

let infra: Infra;
let svc: StartedService;
let client: NotificationClient;
let telemetry: Telemetry;
const spans = new InMemorySpanExporter();

beforeAll(async () => {
  telemetry = startTelemetry({
    serviceName: 'notification-ops-test',
    spanProcessors: [new SimpleSpanProcessor(spans)],
  });
  infra = await startInfra();
  svc = await startTestService(infra, { EMAIL_MAX_ATTEMPTS: '2' });
  client = svc.client;
});

afterAll(async () => {
  await svc?.stop();
  await infra?.stop();
  await telemetry?.shutdown();
});

const send = async (to: string, key: string) =>
  (
    await client.sendEmail({
      to: [to],
      inline: { subject: `about ${key}`, textBody: 'x', htmlBody: '' },
      idempotencyKey: key,
    })
  ).notifications[0].id;

const stateOf = (id: string, state: notificationV1.NotificationState) =>
  waitFor(
    async () => {
      const { notification } = await client.getNotification({ notificationId: id });
      return notification?.state === state ? notification : undefined;
    },
    { timeoutMs: 20_000 },
  );

describe('RedriveNotifications', () => {
  it('re-queues a permanently FAILED mail; the same request again, or another request, sends nothing more', async () => {
    infra.sink.failRecipients({ 'gone@redrive.test': { code: 550, times: 1 } });
    const id = await send('gone@redrive.test', 'redrive-550');
    const failed = await stateOf(id, S.NOTIFICATION_STATE_FAILED);
    expect(failed.lastError).toMatch(/^550/);
    // A 550 suppressed the address (HARD_BOUNCE); an operator who fixed it lifts that first, or
    // the redriven mail would end SUPPRESSED at the check before sending.
    await client.removeSuppression({ email: 'gone@redrive.test' });

    const request = { requestId: 'redrive-1', pageSize: 10, errorContains: '5.1.1' };
    const first = await client.redriveNotifications(request);
    expect(first.notificationIds).toEqual([id]);
    expect(first.nextPageToken).toBe('');
    // Retried with the same id: the first answer, nothing re-queued again.
    expect(await client.redriveNotifications(request)).toEqual(first);
    // Another request: the notification is no longer FAILED.
    expect(
      (await client.redriveNotifications({ ...request, requestId: 'redrive-2' })).notificationIds,
    ).toEqual([]);

    const sent = await stateOf(id, S.NOTIFICATION_STATE_SENT);
    expect(sent.attempts).toBe(2);
    const mails = infra.sink.messagesTo('gone@redrive.test');
    expect(mails).toHaveLength(1);
    expect(mails[0].messageId).toBe(failed.messageId);
    // A third request after delivery finds nothing; still exactly one mail.
    expect(
      (await client.redriveNotifications({ ...request, requestId: 'redrive-3' })).notificationIds,
    ).toEqual([]);
    expect(infra.sink.messagesTo('gone@redrive.test')).toHaveLength(1);
  });

  it('re-queues a mail whose retries ran out (the DLQ case) with a fresh retry budget, filtered and paged', async () => {
    // EMAIL_MAX_ATTEMPTS 2: attempts 1-2 fail (DLQ); the redriven round fails once more, then passes.
    infra.sink.failRecipients({
      'busy1@dlq-redrive.test': { code: 451, times: 3 },
      'busy2@dlq-redrive.test': { code: 451, times: 2 },
    });
    const one = await send('busy1@dlq-redrive.test', 'redrive-dlq-1');
    await stateOf(one, S.NOTIFICATION_STATE_FAILED);
    const two = await send('busy2@dlq-redrive.test', 'redrive-dlq-2');
    await stateOf(two, S.NOTIFICATION_STATE_FAILED);

    const page1 = await client.redriveNotifications({
      requestId: 'redrive-dlq-a',
      pageSize: 1,
      errorContains: '451',
    });
    expect(page1.notificationIds).toEqual([one]);
    expect(page1.nextPageToken).not.toBe('');
    const page2 = await client.redriveNotifications({
      requestId: 'redrive-dlq-b',
      pageSize: 1,
      pageToken: page1.nextPageToken,
      errorContains: '451',
    });
    expect(page2.notificationIds).toEqual([two]);

    expect((await stateOf(one, S.NOTIFICATION_STATE_SENT)).attempts).toBe(4);
    expect((await stateOf(two, S.NOTIFICATION_STATE_SENT)).attempts).toBe(3);
    expect(infra.sink.messagesTo('busy1@dlq-redrive.test')).toHaveLength(1);
    expect(infra.sink.messagesTo('busy2@dlq-redrive.test')).toHaveLength(1);
  });

  it('refuses bad input naming the field, and a request id reused for another request', async () => {
    const bad = (await client
      .redriveNotifications({ requestId: 'bad-1', campaignId: 'nope' })
      .catch((e: unknown) => e)) as ClientError;
    expect(bad.code).toBe(Status.INVALID_ARGUMENT);
    expect(bad.details).toContain('campaign_id');
    const missing = (await client.redriveNotifications({}).catch((e: unknown) => e)) as ClientError;
    expect(missing.code).toBe(Status.INVALID_ARGUMENT);
    expect(missing.details).toContain('request_id');

    await client.redriveNotifications({ requestId: 'reused', templateId: 'receipt' });
    const reused = (await client
      .redriveNotifications({ requestId: 'reused', templateId: 'other' })
      .catch((e: unknown) => e)) as ClientError;
    expect(reused.code).toBe(Status.ABORTED);
    expect(errorInfo(reused)?.reason).toBe('IDEMPOTENCY_KEY_REUSED');
  });
});

describe('SMTP client span', () => {
  it('each send is a CLIENT span `smtp send`, child of the consume span, with the server and no addresses', async () => {
    spans.reset();
    const id = await send('span@trace.test', 'span-1');
    await stateOf(id, S.NOTIFICATION_STATE_SENT);
    const smtp = await waitFor(() => spans.getFinishedSpans().find((s) => s.name === 'smtp send'));
    expect(smtp.kind).toBe(SpanKind.CLIENT);
    expect(smtp.attributes).toEqual({
      'server.address': infra.sink.host,
      'server.port': infra.sink.port,
      'network.protocol.name': 'smtp',
    });
    const consume = spans
      .getFinishedSpans()
      .find((s) => s.spanContext().spanId === smtp.parentSpanContext?.spanId);
    expect(consume?.name).toBe(`process ${topics.email}`);
    expect(consume?.kind).toBe(SpanKind.CONSUMER);
    expect(JSON.stringify(smtp.attributes)).not.toContain('@');
  });
});

describe('metrics', () => {
  it('exposes the delivery consumers’ lag per group and partition, and counts unsubscribes once', async () => {
    const id = await send('lag@metrics.test', 'lag-1');
    await stateOf(id, S.NOTIFICATION_STATE_SENT);
    // Everything is consumed: each partition of the delivery topics shows 0.
    const lagLine = (group: string, topic: string) =>
      new RegExp(
        `^messaging_kafka_consumer_lag\\{consumer_group="${group}",topic="${topic}",partition="\\d+"[^}]*\\} 0$`,
        'gm',
      );
    const text = await waitFor(async () => {
      const body = await (await fetch(svc.service.metricsUrl)).text();
      return body.match(lagLine('notification-service.delivery', topics.email))?.length === 3
        ? body
        : undefined;
    });
    expect(
      text.match(lagLine('notification-service.delivery-retry', topics.emailRetry)),
    ).toHaveLength(3);

    const unsubscribes = () =>
      counterValue(svc.service.metricsUrl, 'notification_unsubscribes_total', { source: 'api' });
    const before = await unsubscribes();
    for (let i = 0; i < 2; i++) {
      await client.unsubscribe({
        email: 'twice@metrics.test',
        reason: notificationV1.SuppressionReason.SUPPRESSION_REASON_UNSUBSCRIBED,
        comment: '',
      });
    }
    expect((await unsubscribes()) - before).toBe(1);
  });
});
